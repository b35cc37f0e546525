"""Photo storage: content-addressed by sha256 (local filesystem by default)."""
