"""Authorization helpers on the engine's gates: bearer JWTs, uploads scoped to their creator."""
