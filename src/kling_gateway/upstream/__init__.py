"""The Kling HTTP client. It knows channels' credentials and Kling's wire format, nothing of
users, prices or the ledger."""
