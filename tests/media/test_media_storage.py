"""Local file storage, image keys, and no orphan files when the database write fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trova.media import (
    LocalStorage,
    MissingFile,
    NormalizedImage,
    Storage,
    image_key,
    new_image_id,
    normalize,
    store_image,
    stored_image,
)

from .samples import encode, photo


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


@pytest.fixture(scope="module")
def image() -> NormalizedImage:
    return normalize(encode(photo(800, 600), "JPEG"))


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_local_storage_is_a_storage() -> None:
    assert isinstance(LocalStorage(Path("unused")), Storage)


def test_put_get_exists_delete_round_trip(storage: LocalStorage) -> None:
    key = "images/ab/abc123/full.jpg"
    assert not storage.exists(key)
    storage.put(key, b"first")
    assert storage.exists(key)
    assert storage.get(key) == b"first"
    storage.put(key, b"second")  # replaces
    assert storage.get(key) == b"second"
    with storage.open(key) as stream:
        assert stream.read() == b"second"
    assert storage.path(key) == storage.root / "images/ab/abc123/full.jpg"
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting twice is fine


def test_missing_file_raises_missing_file(storage: LocalStorage) -> None:
    with pytest.raises(MissingFile, match=r"No file stored under 'images/none\.jpg'"):
        storage.get("images/none.jpg")
    with pytest.raises(MissingFile):
        storage.open("images/none.jpg")


def test_put_leaves_no_temp_files_behind(storage: LocalStorage) -> None:
    storage.put("images/a.jpg", b"x" * 10_000)
    assert _files(storage.root) == ["images/a.jpg"]
    assert oct(storage.path("images/a.jpg").stat().st_mode & 0o777) == "0o644"


def test_failed_put_keeps_the_old_file_and_cleans_up(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.put("images/a.jpg", b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.put("images/a.jpg", b"new")
    monkeypatch.undo()
    assert storage.get("images/a.jpg") == b"old"
    assert _files(storage.root) == ["images/a.jpg"]


def test_fsync_mode_writes_too(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, fsync=True)
    storage.put("images/a.jpg", b"durable")
    assert storage.get("images/a.jpg") == b"durable"


@pytest.mark.parametrize(
    "key",
    [
        "../escape.jpg",
        "images/../../escape.jpg",
        "/etc/passwd",
        "images//a.jpg",
        "images/./a.jpg",
        "images/.hidden",
        "images\\a.jpg",
        "images/a.jpg/",
        "",
        "images/a b.jpg",
    ],
)
def test_keys_that_could_escape_the_root_are_refused(storage: LocalStorage, key: str) -> None:
    for operation in (storage.exists, storage.get, storage.delete):
        with pytest.raises(ValueError, match="Invalid storage key"):
            operation(key)
    with pytest.raises(ValueError, match="Invalid storage key"):
        storage.put(key, b"x")


def test_symlink_out_of_the_root_is_refused(storage: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    storage.root.mkdir(parents=True)
    (storage.root / "images").symlink_to(outside)
    with pytest.raises(ValueError, match="resolves outside"):
        storage.put("images/a.jpg", b"x")
    assert not any(outside.iterdir())


def test_delete_prunes_empty_folders_but_not_the_root(storage: LocalStorage) -> None:
    storage.put("images/ab/one/full.jpg", b"1")
    storage.put("images/ab/two/full.jpg", b"2")
    storage.delete("images/ab/one/full.jpg")
    assert not (storage.root / "images/ab/one").exists()
    assert storage.exists("images/ab/two/full.jpg")
    storage.delete("images/ab/two/full.jpg")
    assert storage.root.is_dir()
    assert list(storage.root.iterdir()) == []


def test_image_keys_are_sharded_and_validated() -> None:
    image_id = new_image_id()
    assert len(image_id) == 32 and image_id != new_image_id()
    assert image_key(image_id, "full") == f"images/{image_id[:2]}/{image_id}/full.jpg"
    for bad_id in ("../x", "", "a", "a/b", "x" * 200):
        with pytest.raises(ValueError, match="Invalid image id"):
            image_key(bad_id, "full")
    with pytest.raises(ValueError, match="Invalid variant"):
        image_key(image_id, "../full")


def test_store_image_writes_every_variant(storage: LocalStorage, image: NormalizedImage) -> None:
    keys = store_image(storage, "abc123", image)
    assert keys == {
        "full": "images/ab/abc123/full.jpg",
        "card": "images/ab/abc123/card.jpg",
        "thumb": "images/ab/abc123/thumb.jpg",
    }
    assert storage.get(keys["full"]) == image.data
    assert storage.get(keys["card"]) == image.thumbnails["card"]
    assert storage.get(keys["thumb"]) == image.thumbnails["thumb"]


class _FailingStorage(LocalStorage):
    """Fails the nth put, like a disk filling up half way through."""

    def __init__(self, root: Path, fail_on: int) -> None:
        super().__init__(root)
        self.fail_on, self.puts = fail_on, 0

    def put(self, key: str, data: bytes) -> None:
        self.puts += 1
        if self.puts == self.fail_on:
            raise OSError("No space left on device")
        super().put(key, data)


def test_store_image_removes_what_it_wrote_when_a_put_fails(
    tmp_path: Path, image: NormalizedImage
) -> None:
    storage = _FailingStorage(tmp_path / "media", fail_on=3)
    with pytest.raises(OSError, match="No space left"):
        store_image(storage, "abc123", image)
    assert _files(storage.root) == []


def test_stored_image_keeps_files_when_the_block_succeeds(
    storage: LocalStorage, image: NormalizedImage
) -> None:
    with stored_image(storage, "abc123", image) as keys:
        rows = [keys["full"]]  # stands in for the INSERT + COMMIT
    assert all(storage.exists(key) for key in keys.values())
    assert rows == ["images/ab/abc123/full.jpg"]


def test_stored_image_deletes_files_when_the_block_fails(
    storage: LocalStorage, image: NormalizedImage
) -> None:
    class CommitFailed(Exception):
        pass

    with pytest.raises(CommitFailed), stored_image(storage, "abc123", image) as keys:
        assert all(storage.exists(key) for key in keys.values())
        raise CommitFailed("unique constraint violated")
    assert _files(storage.root) == []


def test_cleanup_failure_does_not_hide_the_original_error(
    tmp_path: Path, image: NormalizedImage, caplog: pytest.LogCaptureFixture
) -> None:
    class UndeletableStorage(LocalStorage):
        def delete(self, key: str) -> None:
            raise PermissionError("read-only file system")

    storage = UndeletableStorage(tmp_path / "media")
    with pytest.raises(LookupError) as caught, stored_image(storage, "abc123", image):
        raise LookupError("listing vanished")
    assert str(caught.value) == "listing vanished"
    assert any("Could not delete orphan file" in note for note in caught.value.__notes__)
    assert "Could not delete orphan file" in caplog.text
