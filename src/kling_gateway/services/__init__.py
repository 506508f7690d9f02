"""Use cases: each one transaction over storage, with domain rules; no HTTP in here."""
