"""One module + one .kv per screen; the module names its class in ``SCREEN`` (registry.py)."""
