"""Pick the photo storage the settings name (stored on app.state.storage at startup)."""

from server.core.config import Settings
from server.storage.base import PhotoStorage
from server.storage.local import LocalPhotoStorage


def make_storage(settings: Settings) -> PhotoStorage:
    if settings.storage_backend == "s3":
        from server.storage.s3 import S3PhotoStorage  # boto3 only when S3 is used

        return S3PhotoStorage.from_settings(settings)
    return LocalPhotoStorage(settings.storage_dir)
