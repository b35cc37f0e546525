"""Photo storage: content-addressed by sha256, on the local filesystem or in S3
(`PhotoStorage` in base.py; `make_storage(settings)` picks one)."""
