"""The wire contract between the tablet app and the server.

Pydantic v2 models and enums only: no SQL, no Kivy, no FastAPI. Both sides import this
package, so a change here is a change to the protocol (see docs/ and SCHEMA_VERSION).
"""

from shared_schemas.version import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION"]
