"""Version of the sync wire format.

Fields may be added without a bump (clients ignore what they do not know); renaming or
removing a field needs a new version that the server accepts alongside the old one.
"""

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS: frozenset[int] = frozenset({1})
