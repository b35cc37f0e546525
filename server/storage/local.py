"""Photos on the local filesystem, content-addressed: <root>/ab/abcdef....

Written to a temporary name, fsynced, then renamed: a crash never leaves a partial file
under a final name, and writing the same content twice is a no-op.
"""

import hashlib
import os
import tempfile
from pathlib import Path


class LocalPhotoStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def key_for(self, sha256_hex: str) -> str:
        return f"{sha256_hex[:2]}/{sha256_hex}"

    def path_for(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def put_bytes(self, data: bytes) -> str:
        """Store data; return its key. The key is derived from the content."""
        key = self.key_for(hashlib.sha256(data).hexdigest())
        final = self.path_for(key)
        if final.is_file():
            return key
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def read_bytes(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()
