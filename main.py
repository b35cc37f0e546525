"""Entry point for python-for-android / buildozer (it runs main.py of the source dir).

On a desktop use ``python -m inspector_app``; this file exists only for the Android build.
"""

import sys

from inspector_app.__main__ import main

sys.exit(main([]))
