"""Every way an upload is turned away, and that the seller is told why in a sentence."""

from __future__ import annotations

import contextlib
import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from trova.media import ImageRejected, normalize, resize_for_model

from .samples import encode, gif_header, photo, png_header_only, webp_header

HINT = "Upload a JPEG, PNG or WebP image."


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", b"not really")
    return buffer.getvalue()


NOT_PHOTOS = {
    "SVG": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
    "SVG with prolog": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
    "HTML": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "ZIP": _zip_bytes(),
    "PDF": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "text": b"Vintage bike, barely used. Call me!\n",
    "HEIC": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
}
DETECTED = {
    "SVG": "SVG",
    "SVG with prolog": "SVG",
    "HTML": "HTML",
    "ZIP": "ZIP archive",
    "PDF": "PDF",
    "text": "text",
    "HEIC": "HEIC",
}


@pytest.mark.parametrize("kind", NOT_PHOTOS)
def test_non_photo_is_rejected_naming_what_it_is(kind: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        normalize(NOT_PHOTOS[kind])
    assert caught.value.code == "unsupported_type"
    assert caught.value.message == (
        f"This file is not a photo we can read (detected: {DETECTED[kind]}). {HINT}"
    )
    assert str(caught.value) == caught.value.message


def test_unrecognised_binary_is_rejected_without_a_guess() -> None:
    with pytest.raises(ImageRejected) as caught:
        normalize(bytes(range(256)) * 4)
    assert caught.value.code == "unsupported_type"
    assert caught.value.message == f"This file is not a photo we can read. {HINT}"


def test_type_comes_from_the_bytes_so_a_png_body_is_read_as_png() -> None:
    # A browser may label this upload "photo.jpg" / image/jpeg; intake never sees or trusts that.
    assert normalize(encode(photo(), "PNG")).source_format == "PNG"


def test_empty_file_is_rejected() -> None:
    with pytest.raises(ImageRejected) as caught:
        normalize(b"")
    assert caught.value.code == "empty"
    assert "empty" in caught.value.message


def test_oversized_file_is_rejected_before_it_is_even_sniffed() -> None:
    # Garbage, not a photo: the byte limit must win because it is checked first.
    with pytest.raises(ImageRejected) as caught:
        normalize(b"\x00" * 2_000_001, max_bytes=2_000_000)
    assert caught.value.code == "too_large"
    assert "the limit is 1.9 MB" in caught.value.message


def test_file_just_over_the_limit_does_not_read_as_equal_to_it() -> None:
    limit = 15 * 1024 * 1024
    with pytest.raises(ImageRejected) as caught:
        normalize(b"\xff\xd8\xff" + b"\x00" * limit)
    assert caught.value.message.startswith("This file is 15.1 MB; the limit is 15 MB.")


@pytest.mark.parametrize(
    ("raw", "claimed"),
    [
        (png_header_only(100_000, 100_000), "100000 × 100000"),
        (gif_header((65_535, 65_535), (1, 1)), "65535 × 65535"),
        (webp_header(16_383, 16_383), "16383 × 16383"),
        (png_header_only(8_000, 7_000), "8000 × 7000"),  # 56 MP: ours, not Pillow's, limit
    ],
    ids=["png", "gif", "webp", "png-just-over"],
)
def test_header_claiming_too_many_pixels_is_rejected_before_decoding(
    raw: bytes, claimed: str
) -> None:
    with pytest.raises(ImageRejected) as caught:
        normalize(raw)
    assert caught.value.code == "too_many_pixels"
    assert claimed in caught.value.message
    assert "the limit is 50 megapixels" in caught.value.message


def test_jpeg_whose_frame_header_claims_huge_dimensions_is_rejected() -> None:
    data = bytearray(encode(photo(320, 240), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (60_000).to_bytes(2, "big") * 2
    with pytest.raises(ImageRejected) as caught:
        normalize(bytes(data))
    assert caught.value.code == "too_many_pixels"


def test_pillow_decompression_bomb_error_becomes_a_rejection() -> None:
    # The screen is small but the first frame is 20000 x 20000: Pillow raises while opening.
    with pytest.raises(ImageRejected) as caught:
        normalize(gif_header((200, 200), (20_000, 20_000)))
    assert caught.value.code == "too_many_pixels"


def test_pillow_decompression_bomb_warning_becomes_a_rejection() -> None:
    # 100 MP sits between Pillow's warning (89 MP) and error (179 MP) thresholds.
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(ImageRejected) as caught:
        normalize(gif_header((200, 200), (10_000, 10_000)))
    assert caught.value.code == "too_many_pixels"


def test_pixel_limit_is_a_parameter() -> None:
    raw = encode(photo(1000, 600), "PNG")
    assert normalize(raw, max_pixels=600_000).source_width == 1000
    with pytest.raises(ImageRejected) as caught:
        normalize(raw, max_pixels=599_999)
    assert caught.value.code == "too_many_pixels"


def test_pillow_global_pixel_limit_still_applies_when_lower(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.raises(ImageRejected) as caught:
        normalize(encode(photo(400, 400), "PNG"))
    assert caught.value.code == "too_many_pixels"


def test_too_small_photo_is_rejected() -> None:
    with pytest.raises(ImageRejected) as caught:
        normalize(encode(photo(400, 120), "PNG"))
    assert caught.value.code == "too_small"
    assert caught.value.message == (
        "This photo is only 400 × 120 pixels; photos must be at least 160 pixels on each side. "
        "Upload a larger photo."
    )


def test_minimum_side_is_inclusive_and_a_parameter() -> None:
    assert normalize(encode(photo(160, 160), "PNG")).width == 160
    assert normalize(encode(photo(100, 100), "PNG"), min_side=100).width == 100


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
@pytest.mark.parametrize("kept", [0.5, 0.9])
def test_truncated_file_is_rejected_not_stored_half_grey(fmt: str, kept: float) -> None:
    noise = Image.effect_noise((400, 300), 60).convert("RGB")
    data = encode(noise, fmt)
    with pytest.raises(ImageRejected) as caught:
        normalize(data[: int(len(data) * kept)])
    assert caught.value.code == "corrupt"
    assert "damaged or incomplete" in caught.value.message


def test_png_with_corrupted_pixel_data_is_rejected() -> None:
    data = bytearray(encode(Image.effect_noise((400, 300), 60).convert("RGB"), "PNG"))
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    with pytest.raises(ImageRejected) as caught:
        normalize(bytes(data))
    assert caught.value.code == "corrupt"


def test_jpeg_with_corrupted_huffman_table_is_rejected() -> None:
    # Damage inside a JPEG's entropy-coded data is usually undetectable, but its tables are not.
    data = bytearray(encode(photo(), "JPEG"))
    table = data.index(b"\xff\xc4")
    data[table + 5 : table + 25] = b"\xff" * 20
    with pytest.raises(ImageRejected) as caught:
        normalize(bytes(data))
    assert caught.value.code == "corrupt"


def test_truncated_images_setting_must_stay_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # importing trova.media left it alone
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        normalize(encode(photo(), "JPEG"))


def test_resize_for_model_rejects_what_normalize_rejects() -> None:
    with pytest.raises(ImageRejected) as caught:
        resize_for_model(NOT_PHOTOS["SVG"], 512)
    assert caught.value.code == "unsupported_type"


def test_nonsense_limits_are_a_programming_error_not_a_rejection() -> None:
    with pytest.raises(ValueError, match="max_side must be a positive integer"):
        normalize(encode(photo(), "PNG"), max_side=0)


# ------------------------------------------------------------------ fuzzing

_SEEDS = [
    encode(photo(200, 180), "JPEG", exif=Image.Exif().tobytes()),
    encode(photo(200, 180), "PNG"),
    encode(photo(200, 180), "WEBP"),
    encode(photo(200, 180).convert("P"), "GIF"),
    encode(photo(200, 180), "BMP"),
    encode(photo(200, 180), "TIFF"),
]
_MAGIC = [seed[:16] for seed in _SEEDS]


# Pillow warns about the damage it skips over (corrupt EXIF, odd tags); only errors matter here.
fuzz = pytest.mark.filterwarnings("ignore")


def _normalize_or_reject(raw: bytes) -> None:
    with contextlib.suppress(ImageRejected):
        normalize(raw)


@fuzz
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_only_ever_raise_image_rejected(raw: bytes) -> None:
    _normalize_or_reject(raw)


@fuzz
@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_MAGIC), st.binary(max_size=2048))
def test_random_bytes_behind_a_photo_signature_only_raise_image_rejected(
    magic: bytes, tail: bytes
) -> None:
    _normalize_or_reject(magic + tail)


@fuzz
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=12),
    st.floats(0.05, 1.0),
)
def test_damaged_real_photos_only_raise_image_rejected(
    seed: bytes, edits: list[tuple[float, int]], kept: float
) -> None:
    data = bytearray(seed)
    for position, value in edits:
        data[int(position * len(data))] = value
    _normalize_or_reject(bytes(data[: max(1, int(len(data) * kept))]))
