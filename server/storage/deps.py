"""The `StorageDep` dependency: the app's photo storage (app.state.storage)."""

from typing import Annotated

from fastapi import Depends, Request

from server.storage.base import PhotoStorage


async def get_storage(request: Request) -> PhotoStorage:  # async: no threadpool trip
    storage: PhotoStorage = request.app.state.storage
    return storage


StorageDep = Annotated[PhotoStorage, Depends(get_storage)]
