"""Whistle server: FastAPI + SQLModel. See docs/architecture.md for the layout."""
