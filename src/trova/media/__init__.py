"""Photo intake: validate seller uploads, normalize them to clean JPEGs, and store the files."""

from trova.media.errors import ImageRejected
from trova.media.intake import NormalizedImage, normalize, resize_for_model
from trova.media.storage import (
    LocalStorage,
    MissingFile,
    Storage,
    image_key,
    new_image_id,
    store_image,
    stored_image,
)

__all__ = [
    "ImageRejected",
    "LocalStorage",
    "MissingFile",
    "NormalizedImage",
    "Storage",
    "image_key",
    "new_image_id",
    "normalize",
    "resize_for_model",
    "store_image",
    "stored_image",
]
