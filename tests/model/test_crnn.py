"""The CRNN's shapes, size, variants, cuDNN eligibility and the spatial transformer."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from crnn_ctc.model import crnn, stn
from crnn_ctc.train import config, presets


def expected_params(cfg, num_classes):
    """Parameter count from the paper's architecture table, computed independently."""
    total, cin = 0, 3
    for i, f in enumerate(cfg.filters):
        k = 3 * 3 if i < 6 else (cfg.image_height // 16) * 2
        total += k * cin * f + 4 * f  # conv (no bias) + batch norm (gamma, beta, mean, var)
        cin = f
    gates = 4 if cfg.rnn == "lstm" else 3
    u = cfg.rnn_units
    for _ in range(cfg.rnn_layers):
        per_dir = gates * (cin * u + u * u + u) if cfg.rnn == "lstm" else gates * (
            cin * u + u * u + 2 * u)  # GRU reset_after: two bias vectors
        total += 2 * per_dir
        cin = 2 * u
    return total + cin * num_classes + num_classes


@pytest.mark.parametrize(
    "overrides, width, steps",
    [
        ({}, 100, 25),
        ({"rnn": "gru"}, 100, 25),
        ({"image_height": 64, "image_width": 128}, 128, 32),  # licence-plate size
        ({"image_width": 160}, 160, 40),
        ({"image_width": 101}, 101, 25),  # odd widths floor like sequence.time_steps
        ({"rnn_layers": 1, "rnn_units": 32}, 100, 25),
    ],
)
def test_shapes_and_parameter_count(overrides, width, steps):
    cfg = config.override(presets.small(), overrides)
    m = crnn.build_crnn(cfg, num_classes=37)
    assert cfg.time_steps == steps
    x = tf.zeros((2, cfg.image_height, width, 3))
    assert m(x).shape == (2, steps, 37)
    assert m.count_params() == expected_params(cfg, 37)


def test_paper_model_matches_the_paper_table():
    cfg = presets.paper()
    m = crnn.build_crnn(cfg, num_classes=37)
    assert m.count_params() == expected_params(cfg, 37)
    convs = [layer for layer in m.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 256, 256, 512, 512, 512]
    pools = [layer.pool_size for layer in m.layers if isinstance(layer, keras.layers.MaxPool2D)]
    assert pools == [(2, 2), (2, 2), (2, 1), (2, 1)]
    assert m.output_shape == (None, 25, 37)
    assert m.get_layer("logits").dtype_policy.name == "float32"


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_recurrent_layers_meet_cudnn_conditions(rnn):
    m = crnn.build_crnn(config.override(presets.small(), {"rnn": rnn}), num_classes=5)
    layers = [layer.forward_layer for layer in m.layers
              if isinstance(layer, keras.layers.Bidirectional)]
    layers += [layer.backward_layer for layer in m.layers
               if isinstance(layer, keras.layers.Bidirectional)]
    assert len(layers) == 4
    for layer in layers:
        c = layer.get_config()
        assert c["activation"] == "tanh" and c["recurrent_activation"] == "sigmoid"
        assert c["recurrent_dropout"] == 0 and c["unroll"] is False and c["use_bias"] is True
        assert c.get("use_cudnn", "auto") in ("auto", True)
        if rnn == "gru":
            assert c["reset_after"] is True


def test_stn_starts_as_identity():
    cfg = config.override(presets.small(), {"stn": True})
    m = crnn.build_crnn(cfg, num_classes=5)
    x = tf.random.stateless_uniform((2, 32, 100, 3), seed=(3, 4), minval=-1, maxval=1)
    np.testing.assert_allclose(m.get_layer("stn")(x).numpy(), x.numpy(), atol=1e-5)
    assert m(x).shape == (2, 25, 5)
    # The localization net learns: its output layer receives a gradient.
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(m(x, training=True) ** 2)
    grads = tape.gradient(out, m.get_layer("stn").trainable_variables)
    assert all(g is not None for g in grads) and float(tf.norm(grads[-1])) > 0


def test_affine_sample_shift_and_flip():
    img = tf.reshape(tf.range(12, dtype=tf.float32), (1, 3, 4, 1))
    step = 2.0 / 3.0  # one pixel in normalized x for width 4
    shift = tf.constant([[[1.0, 0.0, step], [0.0, 1.0, 0.0]]])
    got = stn.affine_sample(img, shift).numpy()[0, :, :, 0]
    # Output x samples input x + 1; the last column clamps to the border.
    np.testing.assert_allclose(got, [[1, 2, 3, 3], [5, 6, 7, 7], [9, 10, 11, 11]], atol=1e-5)
    flip = tf.constant([[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    got = stn.affine_sample(img, flip).numpy()[0, :, :, 0]
    np.testing.assert_allclose(got, img.numpy()[0, :, ::-1, 0], atol=1e-5)


def _random_weights(model):
    """Zero-mean weights and positive variances, so a leak of the padding would show; kernels
    scaled by fan-in so the features stay near 1 (float32 rounding then stays near 1e-7)."""
    for k, w in enumerate(model.weights):
        rng = np.random.default_rng(k)
        if "variance" in w.path or "gamma" in w.path:
            w.assign(rng.uniform(0.5, 1.5, w.shape))
        else:
            fan_in = int(np.prod(w.shape[:-1])) if len(w.shape) > 1 else 1
            w.assign(rng.normal(0, 1.0 / np.sqrt(fan_in), w.shape))


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_a_keep_aspect_crop_reads_the_same_whatever_the_batch_width(rnn):
    """One crop padded to two batch widths (and beside a wider crop) gives the same logits on
    its own steps: the padding is masked before every convolution and in the BiRNNs."""
    from crnn_ctc.model.config import ModelConfig

    cfg = ModelConfig(filters=(8, 8, 16, 16, 16, 16, 16), rnn=rnn, rnn_units=12,
                      resize="keep_aspect", image_width=400)
    model = crnn.build_crnn(cfg, 11)
    _random_weights(model)
    rng = np.random.default_rng(0)
    crop = rng.uniform(-1, 1, (32, 52, 3)).astype(np.float32)  # 13 steps
    other = rng.uniform(-1, 1, (32, 200, 3)).astype(np.float32)

    def read(images, widths):
        return model({"image": tf.constant(images), "width": tf.constant(widths, tf.int32)},
                     training=False).numpy()

    def padded(image, width, value=0.0):
        return np.pad(image, ((0, 0), (0, width - image.shape[1]), (0, 0)),
                      constant_values=value)

    alone = read(crop[None], [52])
    assert alone.shape == (1, 13, 11)
    wide = read(padded(crop, 120)[None], [52])
    assert wide.shape == (1, 30, 11)
    np.testing.assert_allclose(wide[0, :13], alone[0], atol=1e-5)
    # the pad value does not matter either (the input is masked too), nor the batch's others
    batch = read(np.stack([padded(crop, 200, 0.7), other]), [52, 200])
    np.testing.assert_allclose(batch[0, :13], alone[0], atol=1e-5)
    np.testing.assert_allclose(batch[1], read(other[None], [200])[0], atol=1e-5)
    # without the masks the padding would reach the crop's steps (what the test can see)
    plain = crnn.build_crnn(dataclasses.replace(cfg, resize="stretch", image_width=120), 11)
    plain.set_weights(model.get_weights())
    leaked = plain(tf.constant(padded(crop, 120)[None]), training=False).numpy()
    assert np.abs(leaked[0, :13] - alone[0]).max() > 1e-3


def test_keep_aspect_models_keep_the_cudnn_conditions_and_refuse_the_stn():
    from crnn_ctc.model.config import ModelConfig

    cfg = ModelConfig(filters=(8,) * 7, rnn_units=8, resize="keep_aspect", image_width=64)
    model = crnn.build_crnn(cfg, 5)
    layer = model.get_layer("bilstm1").forward_layer
    assert (layer.activation.__name__, layer.recurrent_activation.__name__) == ("tanh", "sigmoid")
    assert layer.recurrent_dropout == 0 and not layer.unroll and layer.use_bias
    with pytest.raises(ValueError, match="stn"):
        ModelConfig(stn=True, resize="keep_aspect")
    assert cfg.rule.keeps_aspect and (cfg.rule.height, cfg.rule.width) == (32, 64)
