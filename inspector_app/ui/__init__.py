"""The Kivy UI: the app shell (app.py), shared widgets, and one .py + .kv per screen."""
