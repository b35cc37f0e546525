"""Cross-cutting pieces: settings, database, errors, clock."""
