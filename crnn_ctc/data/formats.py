"""Which image files the toolkit reads: one list for the converter, inference and serving.

The serving graph decodes with TensorFlow's decoders, which read JPEG, PNG, GIF (first frame)
and BMP. The converter, the inference tool, the Recognizer API and the synthetic generator's
background photos accept exactly these, so a model is never trained on a format its
SavedModel refuses. Other formats (TIFF, WebP, ...) are skipped with the reason
``unsupported_format``; convert them to PNG first.

    sniff_format(open("a.jpg", "rb").read())  -> "JPEG"
    name.lower().endswith(IMAGE_EXTENSIONS)
"""

from __future__ import annotations

SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "BMP")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")

# Word crops are small; anything above this is a mistake or a decompression bomb.
DEFAULT_MAX_PIXELS = 4096 * 4096
# A GIF's blocks are walked (image_header.py, image_tf.py) to count its frames and their sizes;
# a walk longer than this is refused (a word crop's GIF has a few hundred data sub-blocks; this
# many is about 4 MB of 255-byte sub-blocks; the walk then takes ~0.2 s, about what the
# largest allowed JPEG takes to decode).
MAX_GIF_BLOCKS = 16384

# Reason codes of an image that cannot be used (skipped.tsv, inference problems).
NOT_AN_IMAGE = "not_an_image"
CORRUPT_IMAGE = "corrupt_image"
IMAGE_TOO_LARGE = "image_too_large"
UNSUPPORTED_FORMAT = "unsupported_format"

_MAGIC = {
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"RIFF": "WebP",
}


def sniff_format(data: bytes) -> str | None:
    """The image format the first bytes announce (supported or not), or None."""
    return next((fmt for magic, fmt in _MAGIC.items() if data.startswith(magic)), None)


def unsupported_detail(fmt: str) -> str:
    return (f"{fmt} is not read by the serving graph (it reads {', '.join(SUPPORTED_FORMATS)}): "
            "convert the file to PNG")
