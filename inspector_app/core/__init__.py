"""The tablet's core: local store, capture, photo processing, sync.

Plain Python: nothing under inspector_app.core imports kivy or the server
(tests/inspector_app/core/test_imports.py checks it).
"""
