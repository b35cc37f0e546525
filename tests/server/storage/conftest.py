from tests.moto_s3 import s3_endpoint

__all__ = ["s3_endpoint"]
