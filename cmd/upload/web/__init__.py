"""HTTP semantics every protocol adapter shares: upload URLs as the client sees them,
RFC 9110 dates, and downloads (validators, conditional requests, Range, safe types)."""
