"""The `upload` command: one process serving every upload protocol on one engine.

Rooms: `engine/` (protocol-neutral uploads), `tus/` (the tus adapter), `web/` (HTTP
semantics the adapters share); this package itself only wires (settings, stores, the
mounted services, the HTTP protocol class). Imported as `tuskit.upload` (see the
README's "Import names"); run as `upload`.
"""
