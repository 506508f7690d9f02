"""bench/ holds a benchmark, not tests: pytest must never collect anything here."""

collect_ignore_glob = ["*"]
