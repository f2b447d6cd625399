"""Training and serving see the same pixels: the model input built from converter -> record ->
tf.data equals the serving graph's input built from the same source file, for every format."""

import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageDraw

from crnn_ctc.data import convert, image_tf, pipeline, record_parser
from crnn_ctc.data.record_schema import IMAGE


def _word(mode="RGB"):
    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(150, 256, (36, 130, 3), dtype=np.uint8))  # textured
    ImageDraw.Draw(im).text((6, 10), "Parity 42", fill=(20, 40, 120), font_size=18)
    if mode == "RGBA":
        rgba = im.convert("RGBA")
        rgba.putalpha(Image.fromarray(rng.integers(0, 256, (36, 130), dtype=np.uint8)))
        return rgba
    if mode == "I;16":
        return Image.fromarray(np.asarray(im.convert("L"), np.uint16) * 257)
    return im.convert(mode)


def _bytes(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


SOURCES = {
    "rgb.jpg": _bytes(_word(), "JPEG", quality=90),
    "grey.jpg": _bytes(_word("L"), "JPEG", quality=90),
    "cmyk.jpg": _bytes(_word("CMYK"), "JPEG", quality=90),
    "rgba.png": _bytes(_word("RGBA"), "PNG"),
    "sixteen.png": _bytes(_word("I;16"), "PNG"),
    "palette.png": _bytes(_word().convert("P"), "PNG"),
    "word.bmp": _bytes(_word(), "BMP"),
    "word.gif": _bytes(_word(), "GIF"),
}
# |difference| between the two model inputs in grey levels (255 = full range), by record
# format. PNG records: identical but for CMYK JPEG, where Pillow's and TensorFlow's CMYK->RGB
# differ by one level everywhere (measured: max 1, mean 0.98; every other format 0). JPEG q95
# records add their compression error, largest on this pixel-noise texture (measured 2026-12-01:
# max 7-21, mean 1.5-3.3 levels).
TOLERANCE = {"png": 1, "jpeg": 24}
MEAN_TOLERANCE = {"png": 1.0, "jpeg": 4.0}


@pytest.fixture(scope="module", params=["png", "jpeg"])
def converted(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"parity_{request.param}")
    for name, data in SOURCES.items():
        (root / name).write_bytes(data)
    (root / "list.txt").write_text("".join(f"{n} parity\n" for n in SOURCES))
    convert.convert(convert.ConvertConfig(
        image_dir=str(root), anno_file=str(root / "list.txt"), data_dir=str(root / "out"),
        validation_split_fraction=0.0, num_workers=1, progress=False, num_shards=1,
        image_format=request.param))
    return request.param, str(root / "out")


def _serving_input(data: bytes):
    """The serving graph's preprocessing (graph.CrnnServing._load_one + _recognize)."""
    image = image_tf.decode_image_tf(image_tf.check_image_tf(tf.constant(data)))
    return image_tf.to_model_input(image_tf.resize_tf(image, 32, 100)).numpy()


def test_training_input_equals_serving_input(converted):
    fmt, out = converted
    batches = pipeline.build_dataset(out, "train", (32, 100), training=False, batch_size=16)
    batch = next(iter(batches))
    paths = [p.decode() for p in batch["path"].numpy()]
    assert sorted(paths) == sorted(SOURCES)
    for path, trained in zip(paths, batch["image"].numpy(), strict=True):
        served = _serving_input(SOURCES[path])
        levels = np.abs(trained - served) * 255 / 2  # model units [-1, 1] -> grey levels
        assert levels.max() <= TOLERANCE[fmt] + 1e-3, (path, levels.max())
        assert levels.mean() <= MEAN_TOLERANCE[fmt], (path, levels.mean())


def test_records_decode_with_the_accurate_dct(converted):
    """The parser decodes a JPEG record exactly as libjpeg's accurate integer DCT does (the
    serving graph's decoder, and Pillow's), not with TensorFlow's default fast DCT."""
    fmt, out = converted
    files = sorted(os.path.join(out, n) for n in os.listdir(out) if n.endswith(".tfrecord"))
    count = 0
    for raw in tf.data.TFRecordDataset(files):
        encoded = tf.io.parse_single_example(raw, record_parser.feature_spec())[IMAGE].numpy()
        parsed = record_parser.parse_example(raw, (32, 100))["image"].numpy()
        reference = np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))
        np.testing.assert_array_equal(parsed, reference, err_msg=fmt)
        count += 1
    assert count == len(SOURCES)
