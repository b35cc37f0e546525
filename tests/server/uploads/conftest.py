from tests.live_server import live_server
from tests.moto_s3 import s3_endpoint

__all__ = ["live_server", "s3_endpoint"]
