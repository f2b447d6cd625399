"""An image's size from its header alone, no pixel decoded: the Python twin of
image_tf.image_problem_tf, checked by every NumPy path (the converter's workers, the portable
recognizer, int8 calibration, the generator's background photos) before it decodes anything.

    header = read_header(data, max_pixels)      # Header("GIF", 16, 16, frames=1)
    reason = header_problem(data, max_pixels)   # None, or (reason code, detail)

The rule, the same in TensorFlow (tests/data/test_header_parity.py holds both to it):
  JPEG  the first start-of-frame segment, found by walking the marker segments;
  PNG   IHDR; BMP its info header (16-bit sizes in the 12-byte core header);
  GIF   the logical screen, and every frame's image descriptor, found by walking the blocks
        (extensions and frames with their data sub-blocks) up to the trailer: a decoder
        allocates each frame at its own size and the whole animation at screen x frames, so a
        frame that does not fit inside its screen is refused as corrupt, and screen x frames
        (which bounds the sum of the frames' areas) must stay within ``max_pixels``. A walk of
        more than formats.MAX_GIF_BLOCKS blocks is refused (word crops have a few hundred).
"""

from __future__ import annotations

import dataclasses

from crnn_ctc.data.formats import (
    CORRUPT_IMAGE,
    IMAGE_TOO_LARGE,
    MAX_GIF_BLOCKS,
    NOT_AN_IMAGE,
    SUPPORTED_FORMATS,
    UNSUPPORTED_FORMAT,
    sniff_format,
    unsupported_detail,
)

# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic; not DHT/JPG/DAC).
JPEG_SOF = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)


@dataclasses.dataclass(frozen=True)
class Header:
    format: str
    width: int
    height: int
    frames: int = 1  # GIF: image descriptors counted (up to max_pixels); others 1
    misfit: str = ""  # GIF: the frame that does not fit its screen, described

    @property
    def pixels(self) -> int:
        """What a decoder allocates: width x height x frames."""
        return self.width * self.height * self.frames


def _le(data: bytes, i: int, n: int) -> int:
    return int.from_bytes(data[i:i + n].ljust(n, b"\0"), "little")


def _be(data: bytes, i: int, n: int) -> int:
    return int.from_bytes(data[i:i + n].ljust(n, b"\0"), "big")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) of the first start-of-frame segment, (0, 0) when the walk finds none."""
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:  # not on a marker: the walk is lost
            break
        if data[i + 1] in JPEG_SOF:
            return _be(data, i + 7, 2), _be(data, i + 5, 2)
        i += 2 + _be(data, i + 2, 2)
    return 0, 0


def _bmp_size(data: bytes) -> tuple[int, int]:
    if _le(data, 14, 4) == 12:  # BITMAPCOREHEADER: 16-bit sizes
        return _le(data, 18, 2), _le(data, 20, 2)
    height = _le(data, 22, 4)
    return _le(data, 18, 4), (2**32 - height if height >= 2**31 else height)  # top-down: < 0


def gif_frames(data: bytes, max_pixels: int) -> tuple[int, str, bool]:
    """Walks a GIF's blocks -> (frames, the frame that does not fit its screen described or "",
    walk cut at MAX_GIF_BLOCKS). Stops once frames x screen exceeds ``max_pixels`` or a frame
    does not fit; one step per block and per data sub-block (image_tf._gif_walk is the twin)."""
    n = len(data)

    def byte(i: int) -> int:
        return data[i] if i < n else 0

    screen_w, screen_h = _le(data, 6, 2), _le(data, 8, 2)
    i = 13 + _table(byte(10))
    frames, misfit, steps, done = 0, "", 0, False
    while not done and i < n and steps < MAX_GIF_BLOCKS:
        c = data[i]
        descriptor = c == 0x2C  # image descriptor: left, top, width, height, flags
        left, top, w, h = (_le(data, i + k, 2) for k in (1, 3, 5, 7))
        frames += descriptor
        bad = descriptor and (left + w > screen_w or top + h > screen_h or w * h == 0)
        if bad:
            misfit = (f"GIF frame {frames} ({w}x{h} at {left},{top}) does not fit its "
                      f"{screen_w}x{screen_h} screen")
        # extension: introducer, label; image: descriptor, colour table, LZW code size byte
        i = i + 11 + _table(byte(i + 9)) if descriptor else i + 2
        steps += 1
        while i < n and steps < MAX_GIF_BLOCKS and byte(i) > 0:  # data sub-blocks, 0 ends
            i, steps = i + 1 + data[i], steps + 1
        i, steps = i + 1, steps + 1
        # the trailer (0x3B), or lost, or the verdict is in
        done = not (descriptor or c == 0x21) or bad or frames * screen_w * screen_h > max_pixels
    return max(frames, 1), misfit, not done and steps >= MAX_GIF_BLOCKS and i < n


def _table(flags: int) -> int:
    """The size of the colour table a GIF flags byte announces, 0 if none."""
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def read_header(data: bytes, max_pixels: int) -> Header:
    """The format and size announced by a supported image's header; raises HeaderError. A
    GIF's frames are counted until they exceed ``max_pixels``."""
    fmt = sniff_format(data)
    if fmt is None:
        raise HeaderError(NOT_AN_IMAGE, "not a JPEG, PNG, GIF or BMP file")
    if fmt not in SUPPORTED_FORMATS:
        raise HeaderError(UNSUPPORTED_FORMAT, unsupported_detail(fmt))
    frames, misfit = 1, ""
    if fmt == "JPEG":
        width, height = jpeg_size(data)
    elif fmt == "PNG":
        width, height = _be(data, 16, 4), _be(data, 20, 4)
    elif fmt == "BMP":
        width, height = _bmp_size(data)
    else:
        width, height = _le(data, 6, 2), _le(data, 8, 2)
        frames, misfit, too_long = gif_frames(data, max_pixels)
        if too_long:
            raise HeaderError(IMAGE_TOO_LARGE, f"GIF of more than {MAX_GIF_BLOCKS} blocks")
    if width * height == 0:
        raise HeaderError(CORRUPT_IMAGE, "no image size in the header")
    return Header(fmt, width, height, frames, misfit)


def header_problem(data: bytes, max_pixels: int) -> tuple[str, str] | None:
    """Why the header alone rules the image out (reason code, detail), or None."""
    try:
        header = read_header(data, max_pixels)
    except HeaderError as err:
        return err.reason, err.detail
    if header.misfit:
        return CORRUPT_IMAGE, header.misfit
    if header.pixels > max_pixels:
        frames = f" x at least {header.frames} frames" if header.frames > 1 else ""
        return IMAGE_TOO_LARGE, (f"{header.width}x{header.height} pixels{frames}, the limit is "
                                 f"{max_pixels} pixels")
    return None


class HeaderError(ValueError):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail
