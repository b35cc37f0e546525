"""The app's screen logic without Kivy: what each screen shows and what its actions do.

Screens in ``inspector_app/ui/`` bind widgets to these objects; tests drive them without
a window (tests/inspector_app/viewmodels/).
"""
