"""The serving graph of a keep_aspect (text-line) model: the inference-only forward pass matches
the Keras model on each crop's own steps, a crop reads the same whatever the batch around it,
and crops from 1 x 1 to very wide or very tall either read or get a per-image error."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from crnn_ctc.data.charset import Charset
from crnn_ctc.model import crnn
from crnn_ctc.model.config import ModelConfig
from crnn_ctc.model.decoder import Decoder
from crnn_ctc.model.inference import InferenceCrnn
from crnn_ctc.serve.graph import CrnnServing
from tests.model.test_crnn import _random_weights

CHARSET = Charset.from_spec("printable")


def line_model(rnn="lstm", width=256):
    cfg = ModelConfig(filters=(8, 8, 16, 16, 16, 16, 16), rnn=rnn, rnn_units=12,
                      resize="keep_aspect", image_width=width)
    model = crnn.build_crnn(cfg, CHARSET.num_classes)
    _random_weights(model)
    return model, cfg


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_the_inference_pass_matches_the_keras_line_model_on_each_crops_steps(rnn):
    model, cfg = line_model(rnn)
    net = InferenceCrnn(model, cfg)
    rng = np.random.default_rng(1)
    widths = [52, 97, 160]
    images = rng.uniform(-1, 1, (3, 32, 160, 3)).astype(np.float32)  # padding: noise
    want = model({"image": tf.constant(images), "width": tf.constant(widths)},
                 training=False).numpy()
    got = net(tf.constant(images), tf.constant(widths)).numpy()
    for k, w in enumerate(widths):
        steps = -(-w // 4)
        np.testing.assert_allclose(got[k, :steps], want[k, :steps], atol=1e-4)
    # alone, at its own width, the narrowest crop gives the same logits on its steps
    alone = net(tf.constant(images[:1, :, :52]), tf.constant([52])).numpy()
    np.testing.assert_allclose(alone[0], got[0, :13], atol=1e-5)
    # the masks matter: without widths the padding reaches the crop's steps
    assert np.abs(net(tf.constant(images[:1])).numpy()[0, :13] - got[0, :13]).max() > 1e-3


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    model, cfg = line_model()
    charset_file = str(tmp_path_factory.mktemp("lines") / "charset.txt")
    CHARSET.save(charset_file)
    module = CrnnServing(model, cfg, CHARSET, Decoder("beam", 4, top_paths=2, max_pixels=400_000),
                         charset_file)
    return module


def test_a_line_is_read_the_same_alone_and_beside_wider_crops(serving):
    rng = np.random.default_rng(2)
    crop = png(rng.integers(0, 256, (40, 90, 3), np.uint8))  # 72 px wide at height 32
    wide = png(rng.integers(0, 256, (20, 500, 3), np.uint8))  # 800 px: capped at 256
    alone = serving.serve_bytes(tf.constant([crop]))
    batch = serving.serve_bytes(tf.constant([wide, crop, crop]))
    assert alone["text"].numpy()[0] == batch["text"].numpy()[1] == batch["text"].numpy()[2]
    np.testing.assert_allclose(batch["score"].numpy()[1], alone["score"].numpy()[0], atol=1e-4)
    np.testing.assert_allclose(batch["scores"].numpy()[1], alone["scores"].numpy()[0],
                               atol=1e-4)
    # the decoded-array signature resizes by the same rule
    array = np.asarray(Image.open(io.BytesIO(crop)).convert("RGB"))
    direct = serving.predict_images(tf.constant(array[None]))
    assert direct["text"].numpy()[0] == alone["text"].numpy()[0]
    np.testing.assert_allclose(direct["score"].numpy()[0], alone["score"].numpy()[0], atol=1e-4)


def test_crops_of_any_size_read_or_get_their_own_error(serving):
    rng = np.random.default_rng(3)
    items = {
        "1x1": png(rng.integers(0, 256, (1, 1, 3), np.uint8)),
        "1 high, 4000 wide": png(rng.integers(0, 256, (1, 4000, 3), np.uint8)),
        "4000 high, 1 wide": png(rng.integers(0, 256, (4000, 1, 3), np.uint8)),
        "a line": png(rng.integers(0, 256, (30, 300, 3), np.uint8)),
        "too large": png(np.zeros((700, 700, 3), np.uint8)),
        "not an image": b"this is not an image",
    }
    out = serving.serve_bytes(tf.constant(list(items.values())))
    errors = [e.decode() for e in out["error"].numpy()]
    scores = out["score"].numpy()
    for name, error, score in zip(items, errors, scores, strict=True):
        if name in ("too large", "not an image"):
            assert error and score == -np.inf, name
        else:
            assert error == "" and np.isfinite(score), (name, error)
    assert "too large" in errors[4]
    # the decoder runs as it was asked: the 4000 x 1 crop above was read turned too
    assert serving.decoder.tall_ratio == Decoder().tall_ratio and serving.decoder.width == 4


def test_a_minimum_width_model_reads_a_short_crop_stretched_to_it(tmp_path):
    """min_width 64 (data/resize_rule.py): a 40 x 32 crop is read as the converter stores it,
    stretched to 64 px, by the bytes and by the decoded-array signatures; the same weights
    without the minimum read it at 40 px and score it otherwise."""
    import dataclasses

    from crnn_ctc.data import image_np

    model, cfg = line_model()
    charset_file = str(tmp_path / "charset.txt")
    CHARSET.save(charset_file)
    short_cfg = dataclasses.replace(cfg, min_width=64)
    serving = {c.min_width: CrnnServing(model, c, CHARSET, Decoder("greedy"), charset_file)
               for c in (cfg, short_cfg)}
    crop = np.random.default_rng(4).integers(0, 256, (32, 40, 3), np.uint8)
    widened = image_np.resize_by_rule(crop, short_cfg.rule)
    assert widened.shape == (32, 64, 3)
    # the widened crop at its own width is what the minimum model reads for the short one
    got = serving[64].serve_bytes(tf.constant([png(crop)]))
    want = serving[0].predict_images(tf.constant(widened[None]))
    np.testing.assert_allclose(got["score"].numpy(), want["score"].numpy(), atol=2e-2)
    direct = serving[64].predict_images(tf.constant(crop[None]))
    np.testing.assert_allclose(direct["score"].numpy(), got["score"].numpy(), atol=1e-4)
    plain = serving[0].serve_bytes(tf.constant([png(crop)]))
    assert abs(float(plain["score"].numpy()[0]) - float(got["score"].numpy()[0])) > 0.1
