"""Devices, their sync backlog, and the record of applied sync operations."""
