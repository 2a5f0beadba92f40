"""What a seller's photo becomes: upright, sRGB, metadata-free JPEGs of bounded size."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import ExifTags, Image, ImageCms, ImageOps, PngImagePlugin

from trova.media import normalize, resize_for_model

from .samples import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    close,
    encode,
    jpeg_markers,
    photo,
    quadrants,
    srgb_profile,
    swapped_profile,
)

# The only segments a clean JPEG needs: APP0 (JFIF), DQT, SOF0, DHT, SOS. No APP1-15, no COM.
CLEAN_MARKERS = {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {}),
        ("PNG", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"quality": 80}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ],
)
def test_accepted_formats_become_rgb_jpegs(fmt: str, options: dict[str, object]) -> None:
    result = normalize(encode(photo(640, 480), fmt, **options))
    assert result.source_format == fmt
    assert (result.source_width, result.source_height) == (640, 480)
    assert (result.width, result.height) == (640, 480)
    for data in result.variants().values():
        image = _open(data)
        assert image.format == "JPEG"
        assert image.mode == "RGB"
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.content_type == "image/jpeg"


def test_colours_survive_normalization() -> None:
    result = normalize(encode(quadrants(400, 300), "PNG"))
    image = _open(result.data)
    assert close(image.getpixel((50, 50)), RED)
    assert close(image.getpixel((350, 50)), GREEN)
    assert close(image.getpixel((50, 250)), BLUE)
    assert close(image.getpixel((350, 250)), YELLOW)


def test_long_side_is_capped_at_2048() -> None:
    result = normalize(encode(photo(3000, 1500), "PNG"))
    assert (result.width, result.height) == (2048, 1024)
    assert _open(result.data).size == (2048, 1024)


def test_max_side_is_a_parameter_and_small_photos_are_never_upscaled() -> None:
    assert normalize(encode(photo(900, 600), "PNG"), max_side=300).width == 300
    small = normalize(encode(photo(300, 200), "PNG"))
    assert (small.width, small.height) == (300, 200)


def test_large_jpeg_decodes_at_reduced_scale_within_three_quarters_of_max_side() -> None:
    # 1200 px halves to 600 px >= 3/4 of 640, so the JPEG decoder does the downscaling.
    result = normalize(encode(photo(1200, 900), "JPEG"), max_side=640)
    assert (result.width, result.height) == (600, 450)
    # Halving would give 600 < 3/4 of 1000, so it decodes in full and resizes to exactly 1000.
    result = normalize(encode(photo(1200, 900), "JPEG"), max_side=1000)
    assert (result.width, result.height) == (1000, 750)


@pytest.mark.parametrize(("width", "height"), [(1200, 900), (900, 1200), (1000, 1000)])
def test_thumbnails_have_the_promised_long_sides(width: int, height: int) -> None:
    result = normalize(encode(photo(width, height), "PNG"))
    assert set(result.thumbnails) == {"card", "thumb"}
    card, thumb = _open(result.thumbnails["card"]), _open(result.thumbnails["thumb"])
    assert max(card.size) == 400
    assert max(thumb.size) == 160
    assert card.size[0] / card.size[1] == pytest.approx(width / height, rel=0.01)
    assert thumb.size[0] / thumb.size[1] == pytest.approx(width / height, rel=0.02)


def test_thumbnails_of_a_small_photo_are_not_upscaled() -> None:
    result = normalize(encode(photo(300, 200), "PNG"))
    assert _open(result.thumbnails["card"]).size == (300, 200)
    assert _open(result.thumbnails["thumb"]).size == (160, 107)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})],
)
def test_exif_orientation_6_is_applied(fmt: str, options: dict[str, object]) -> None:
    # Stored landscape with Orientation=6 ("rotate 90° clockwise to view"): a portrait photo.
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    result = normalize(encode(quadrants(300, 200), fmt, exif=exif.tobytes(), **options))
    assert (result.width, result.height) == (200, 300)
    assert (result.source_width, result.source_height) == (200, 300)  # as displayed
    image = _open(result.data)
    # Clockwise: the stored top-left (red) is now top-right, bottom-left (blue) is top-left.
    assert close(image.getpixel((50, 50)), BLUE)
    assert close(image.getpixel((150, 50)), RED)
    assert close(image.getpixel((50, 250)), YELLOW)
    assert close(image.getpixel((150, 250)), GREEN)
    assert _open(result.thumbnails["thumb"]).size == (107, 160)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow_exif_transpose(orientation: int) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    raw = encode(quadrants(300, 200), "JPEG", exif=exif.tobytes(), quality=95)
    expected = ImageOps.exif_transpose(_open(raw))
    image = _open(normalize(raw).data)
    assert image.size == expected.size
    for x, y in [(40, 40), (image.width - 40, 40), (40, image.height - 40)]:
        assert close(image.getpixel((x, y)), expected.getpixel((x, y)))


def _metadata_rich_jpeg() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.Orientation] = 1
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 27.0, 51.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (9.0, 11.0, 24.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>SecretPlace</rdf:RDF></x:xmpmeta>'
    return encode(
        photo(),
        "JPEG",
        exif=exif,
        xmp=xmp,
        comment=b"SecretComment",
        icc_profile=srgb_profile(),
        dpi=(300, 300),
    )


def test_exif_gps_xmp_icc_and_comments_are_stripped() -> None:
    raw = _metadata_rich_jpeg()
    source = _open(raw)
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo really has GPS
    assert {"exif", "xmp", "icc_profile", "comment"} <= set(source.info)

    for name, data in normalize(raw).variants().items():
        assert set(jpeg_markers(data)) <= CLEAN_MARKERS, name
        image = _open(data)
        assert not image.getexif(), name
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info), name
        for secret in (b"Exif\x00\x00", b"GPS", b"SecretCam", b"SecretPlace", b"SecretComment"):
            assert secret not in data, (name, secret)
        assert b"ICC_PROFILE" not in data and b"http://ns.adobe.com/xap" not in data, name


def test_png_and_webp_metadata_is_stripped() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "SecretComment")
    raw_png = encode(photo(), "PNG", exif=exif, pnginfo=text, icc_profile=srgb_profile())
    raw_webp = encode(photo(), "WEBP", exif=exif, xmp=b"<x:xmpmeta>SecretPlace</x:xmpmeta>")
    for raw in (raw_png, raw_webp):
        for data in normalize(raw).variants().values():
            assert set(jpeg_markers(data)) <= CLEAN_MARKERS
            assert b"Secret" not in data


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (400, 300), (0, 255, 255, 0))  # no cyan, full magenta + yellow
    result = normalize(encode(cmyk, "JPEG"))
    image = _open(result.data)
    assert image.mode == "RGB"
    assert close(image.getpixel((200, 150)), RED, tolerance=20)


def test_transparency_is_composited_onto_white() -> None:
    rgba = Image.new("RGBA", (400, 300), (0, 0, 0, 0))  # fully transparent black
    rgba.paste((0, 0, 255, 255), (200, 0, 400, 150))  # opaque blue top-right
    rgba.paste((0, 0, 0, 128), (200, 150, 400, 300))  # half-transparent black bottom-right
    image = _open(normalize(encode(rgba, "PNG")).data)
    assert close(image.getpixel((100, 150)), (255, 255, 255))
    assert close(image.getpixel((300, 75)), BLUE)
    assert close(image.getpixel((300, 225)), (127, 127, 127))


def test_gray_with_alpha_is_composited_onto_white() -> None:
    la = Image.new("LA", (400, 300), (0, 0))
    la.paste((0, 255), (200, 0, 400, 300))
    image = _open(normalize(encode(la, "PNG")).data)
    assert close(image.getpixel((100, 150)), (255, 255, 255))
    assert close(image.getpixel((300, 150)), (0, 0, 0))


def test_palette_png_with_transparent_index_is_composited_onto_white() -> None:
    palette = Image.new("P", (400, 300), 1)
    palette.putpalette([*BLUE, 0, 0, 0])
    palette.paste(0, (0, 0, 200, 300))
    image = _open(normalize(encode(palette, "PNG", transparency=1)).data)
    assert close(image.getpixel((100, 150)), BLUE)
    assert close(image.getpixel((300, 150)), (255, 255, 255))


def test_gif_first_frame_is_used_and_transparency_is_white() -> None:
    frames = [Image.new("RGB", (300, 200), colour) for colour in (RED, GREEN)]
    animated = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert close(_open(normalize(animated).data).getpixel((150, 100)), RED)

    clear = Image.new("P", (300, 200), 1)
    clear.putpalette([*BLUE, 0, 0, 0])
    clear.paste(0, (0, 0, 150, 200))  # left half blue, right half the transparent index
    image = _open(normalize(encode(clear, "GIF", transparency=1)).data)
    assert close(image.getpixel((75, 100)), BLUE)
    assert close(image.getpixel((225, 100)), (255, 255, 255))


def test_animated_webp_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (300, 200), colour) for colour in (GREEN, RED)]
    raw = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert close(_open(normalize(raw).data).getpixel((150, 100)), GREEN)


def test_embedded_icc_profile_is_converted_to_srgb() -> None:
    # Under the swapped profile, RGB (255, 0, 0) means sRGB green: a naive copy stays red.
    red = Image.new("RGB", (300, 200), RED)
    image = _open(normalize(encode(red, "PNG", icc_profile=swapped_profile())).data)
    assert close(image.getpixel((150, 100)), GREEN, tolerance=20)
    jpeg = encode(red, "JPEG", icc_profile=swapped_profile(), quality=95)
    assert close(_open(normalize(jpeg).data).getpixel((150, 100)), GREEN, tolerance=20)


def test_srgb_and_broken_profiles_leave_colours_alone() -> None:
    red = Image.new("RGB", (300, 200), RED)
    for profile in (srgb_profile(), b"not an icc profile at all", swapped_profile()[:200]):
        image = _open(normalize(encode(red, "PNG", icc_profile=profile)).data)
        assert close(image.getpixel((150, 100)), RED)


def test_profile_of_the_wrong_kind_falls_back_to_plain_conversion() -> None:
    gray = Image.new("L", (300, 200), 128)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # not gray
    image = _open(normalize(encode(gray, "PNG", icc_profile=profile)).data)
    assert close(image.getpixel((150, 100)), (128, 128, 128))


def test_sixteen_bit_grayscale_keeps_its_tones() -> None:
    # Pillow's own I;16 -> L conversion clips: mid-gray would come out white.
    deep = Image.new("I", (300, 200), 32_768)
    deep.paste(8_192, (0, 0, 150, 200))
    deep = deep.convert("I;16")  # saved as a 16-bit grayscale PNG
    image = _open(normalize(encode(deep, "PNG")).data)
    assert close(image.getpixel((225, 100)), (128, 128, 128))
    assert close(image.getpixel((75, 100)), (32, 32, 32))


@pytest.mark.parametrize("mode", ["1", "L", "P"])
def test_low_depth_modes_become_rgb(mode: str) -> None:
    source = photo(400, 300).convert(mode)
    for fmt in ("PNG", "BMP", "TIFF"):
        assert _open(normalize(encode(source, fmt)).data).mode == "RGB"


def test_output_is_deterministic() -> None:
    raw = encode(photo(), "JPEG")
    assert normalize(raw).sha256 == normalize(raw).sha256


def test_resize_for_model_returns_a_clean_bounded_jpeg() -> None:
    raw = _metadata_rich_jpeg()
    for max_side in (512, 1024):
        data = resize_for_model(raw, max_side)
        image = _open(data)
        assert image.format == "JPEG" and image.mode == "RGB"
        assert max(image.size) <= max_side
        assert set(jpeg_markers(data)) <= CLEAN_MARKERS
    # A small photo is not upscaled and is not rejected for being small.
    assert _open(resize_for_model(encode(photo(100, 80), "PNG"), 512)).size == (100, 80)


def test_resize_for_model_accepts_a_normalized_image() -> None:
    full = normalize(encode(photo(1200, 900), "PNG")).data
    assert _open(resize_for_model(full, 600)).size == (600, 450)
