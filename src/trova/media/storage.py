"""Where photo files live: a Storage protocol, a local-disk backend and orphan-safe helpers."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from trova.media.intake import NormalizedImage

__all__ = [
    "LocalStorage",
    "MissingFile",
    "Storage",
    "image_key",
    "new_image_id",
    "store_image",
    "stored_image",
]

logger = logging.getLogger(__name__)

# Keys are relative paths whose segments start with a letter or digit: no "..", no hidden
# files (our temp files start with "."), no absolute paths, no backslashes.
_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
_IMAGE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,127}")
_VARIANT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class MissingFile(LookupError):
    """No file is stored under the key."""


@runtime_checkable
class Storage(Protocol):
    """A flat key -> bytes file store; keys look like "images/ab/ab12…/full.jpg"."""

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically, replacing any file already there."""
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes stored under `key`, or raise MissingFile."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open the file under `key` for streaming reads, or raise MissingFile."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file under `key`; a missing file is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        ...


class LocalStorage:
    """Files under a root folder; each write goes to a temp file beside it, then os.replace."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = Path(root).resolve()
        self.fsync = fsync  # survive power loss too, at the cost of ~ms per write

    def path(self, key: str) -> Path:
        """Return the file path for `key` (for FileResponse), refusing keys that escape the root."""
        if not _KEY_RE.fullmatch(key):
            raise ValueError(
                f"Invalid storage key {key!r}: use '/'-separated segments of letters, digits, "
                "'.', '_' and '-' that start with a letter or digit, e.g. from image_key()."
            )
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):  # a symlink inside the root pointing out
            raise ValueError(f"Storage key {key!r} resolves outside {self.root}; refusing it.")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically, replacing any file already there."""
        path = self.path(key)
        fd, temp_name = self._temp_file(path.parent)
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                if self.fsync:
                    temp.flush()
                    os.fsync(temp.fileno())
            os.chmod(temp_name, 0o644)  # mkstemp makes 0600; stored photos are public anyway
            os.replace(temp_name, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        if self.fsync:
            _fsync_directory(path.parent)

    def get(self, key: str) -> bytes:
        """Return the bytes stored under `key`, or raise MissingFile."""
        with self.open(key) as file:
            return file.read()

    def open(self, key: str) -> BinaryIO:
        """Open the file under `key` for streaming reads, or raise MissingFile."""
        path = self.path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise MissingFile(f"No file stored under {key!r} (looked for {path}).") from exc

    def delete(self, key: str) -> None:
        """Remove the file under `key` and any folders that leaves empty; missing is fine."""
        path = self.path(key)
        with suppress(FileNotFoundError):
            path.unlink()
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:  # not empty, or already gone: either way stop here
                break
            parent = parent.parent

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        return self.path(key).is_file()

    def _temp_file(self, folder: Path) -> tuple[int, str]:
        # A concurrent delete() may prune the folder between mkdir and mkstemp; try again.
        for attempt in range(3):
            folder.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
            except FileNotFoundError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def new_image_id() -> str:
    """Return a fresh random image id (32 hex characters)."""
    return uuid.uuid4().hex


def image_key(image_id: str, variant: str) -> str:
    """Return the storage key of one variant of an image: "images/ab/abcdef…/full.jpg"."""
    if not _IMAGE_ID_RE.fullmatch(image_id):
        raise ValueError(
            f"Invalid image id {image_id!r}: use 2-128 letters, digits, '_' or '-', "
            "e.g. from new_image_id()."
        )
    if not _VARIANT_RE.fullmatch(variant):
        raise ValueError(f"Invalid variant name {variant!r}: use lowercase letters and digits.")
    return f"images/{image_id[:2].lower()}/{image_id}/{variant}.jpg"


def store_image(storage: Storage, image_id: str, image: NormalizedImage) -> dict[str, str]:
    """Store every variant of `image` and return their keys; on failure delete what was written."""
    keys = {variant: image_key(image_id, variant) for variant in image.variants()}
    written: list[str] = []
    try:
        for variant, data in image.variants().items():
            storage.put(keys[variant], data)
            written.append(keys[variant])
    except BaseException as exc:
        _delete_quietly(storage, written, exc)
        raise
    return keys


@contextmanager
def stored_image(
    storage: Storage, image_id: str, image: NormalizedImage
) -> Iterator[dict[str, str]]:
    """Store `image` for the block's duration of a DB write; if the block raises, delete the files.

    Put only the insert and its commit inside the block: once the commit succeeds, an error
    raised later in the block would delete files that a committed row points at.
    """
    keys = store_image(storage, image_id, image)
    try:
        yield keys
    except BaseException as exc:
        _delete_quietly(storage, keys.values(), exc)
        raise


def _delete_quietly(storage: Storage, keys: Iterable[str], cause: BaseException) -> None:
    # Cleanup must never hide the error that made it necessary.
    for key in keys:
        try:
            storage.delete(key)
        except Exception as exc:
            logger.warning("Could not delete orphan file %s: %s", key, exc)
            cause.add_note(f"Could not delete orphan file {key}: {exc}")


def _fsync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
