"""Whistle's tablet app (Kivy UI over a plain-Python core)."""

__version__ = "0.1.0"
