"""inspector_app.core never imports kivy or the server (design.md, dependency direction)."""

import subprocess
import sys

CODE = """
import sys
import inspector_app.core
import inspector_app.core.capture, inspector_app.core.files, inspector_app.core.photos
import inspector_app.core.schema, inspector_app.core.store
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('kivy', 'server', 'fastapi'))
print(','.join(bad))
"""


def test_core_imports_neither_kivy_nor_server() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "", f"core imported: {done.stdout}"


def test_version_string() -> None:
    import inspector_app

    assert isinstance(inspector_app.__version__, str)
    assert inspector_app.__version__.count(".") == 2
