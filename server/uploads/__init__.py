"""Photo uploads by the tus 1.0.0 protocol, and authorised photo downloads."""
