"""The CRNN: (optional STN) -> VGG-style CNN -> map-to-sequence -> BiRNN -> per-step logits.

    model = build_crnn(ModelConfig(), num_classes=charset.num_classes)   # the paper's CRNN
    logits = model(images)          # images (B, H, W, 3) float32 in [-1, 1] -> (B, W // 4, C)

    line = build_crnn(ModelConfig(resize="keep_aspect", image_width=400), num_classes)
    logits = line({"image": images, "width": widths})   # (B, H, any W, 3), (B,) valid pixels

A keep_aspect model reads a batch padded to its widest crop: ``width`` holds each image's own
width in pixels (rounded up to the stride, WIDTH_STRIDE, by whoever pads), and the padding
cannot change a crop's read. The input and every feature map have their columns past the
crop's width set to 0 before the next convolution (ColumnMask: the padding then looks like the
convolutions' own zero padding at an image's edge, whatever the batch width), and the BiRNNs
take a mask of each image's steps (ceil(width / 4)), so the backward direction starts at the
crop's last step, not in the padding. Steps past a crop's own are not part of its read.

The model returns logits only (no softmax, no decoding): ctc_loss.py and decoding.py take them with
an explicit blank id. Time steps follow from the input width: the CNN pools the width by 4.

On GPU the recurrent layers run on cuDNN: Keras picks the cuDNN kernel when activation is tanh,
recurrent_activation sigmoid, recurrent_dropout 0, unroll False, use_bias True (and, for GRU,
reset_after True) and no mask or a right-padded one, which is how they are built here
(tests/model/test_crnn.py checks it; a keep_aspect model's mask is right-padded, which cuDNN
takes; unverified on a GPU here). Batch norm is FusedBatchNorm: Keras' layer (same variables
and results) through one fused op, faster on CPU and GPU and in the compute dtype under mixed
precision.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from crnn_ctc.data import ctc_steps
from crnn_ctc.model.config import ModelConfig
from crnn_ctc.model.stn import SpatialTransformer

# Pools after convs 1, 2, 4 and 6 (0-based 0, 1, 3, 5): height / 16, width / 4.
POOLS = {0: (2, 2), 1: (2, 2), 3: (2, 1), 5: (2, 1)}


@keras.saving.register_keras_serializable("crnn_ctc")
class FusedBatchNorm(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization (the same variables, checkpoints and results) computed
    by one FusedBatchNormV3 op for NHWC feature maps: oneDNN's kernel on CPU, cuDNN's on GPU,
    in the compute dtype (bfloat16/float16 under mixed precision, statistics in float32)
    instead of Keras' float32 upcast and a dozen element-wise ops. Anything the op does not
    cover (masks, renorm, other ranks or axes) runs the Keras layer."""

    def call(self, inputs, training=None, mask=None):
        fused = (mask is None and not self.renorm and len(inputs.shape) == 4
                 and self.axis in (-1, 3) and self.scale and self.center)
        if not fused:
            return super().call(inputs, training=training, mask=mask)
        gamma, beta = tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32)
        x = tf.cast(inputs, self.compute_dtype)
        if not (training and self.trainable):
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32), epsilon=self.epsilon,
                is_training=False)
            return y
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, is_training=True)
        # The op returns the Bessel-corrected variance; Keras keeps the biased one.
        n = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
        variance = variance * (n - 1.0) / n
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        return y


def _conv_bn_relu(x, filters: int, kernel, name: str, padding: str = "same"):
    # No conv bias: batch norm's beta replaces it.
    x = keras.layers.Conv2D(filters, kernel, padding=padding, use_bias=False, name=name)(x)
    # momentum 0.9 (PyTorch's 0.1): Keras' 0.99 keeps ~0.99^n of the initial variance 1.0 in
    # the moving average, which after a few hundred steps still dwarfs the small variances of
    # early layers, so inference-mode outputs differ from training-mode ones.
    x = FusedBatchNorm(momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


@keras.saving.register_keras_serializable("crnn_ctc")
class ColumnMask(keras.layers.Layer):
    """x (B, h, w, C), a feature map at 1/``scale`` of the input's width, and widths (B,) the
    images' valid widths in input pixels -> x with the columns at or past ceil(width / scale)
    set to 0."""

    def __init__(self, scale: int, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x, widths):
        valid = (tf.cast(widths, tf.int32) + self.scale - 1) // self.scale
        mask = tf.sequence_mask(valid, tf.shape(x)[2], dtype=x.dtype)  # (B, w)
        return x * mask[:, None, :, None]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable("crnn_ctc")
class StepMask(keras.layers.Layer):
    """widths (B,) valid input pixels, x (B, T, C) -> (B, T) bool: each image's own steps."""

    def call(self, x, widths):
        steps = (tf.cast(widths, tf.int32) + ctc_steps.WIDTH_STRIDE - 1) // ctc_steps.WIDTH_STRIDE
        return tf.sequence_mask(steps, tf.shape(x)[1])


def _backbone(x, cfg: ModelConfig, widths=None):
    """(B, H, W, 3) -> (B, 1, W // 4, filters[-1]). ``widths``: the padding is masked before
    every convolution (above)."""
    scale = 1  # the feature map's width stride so far
    for i, filters in enumerate(cfg.filters[:6]):
        if widths is not None:
            x = ColumnMask(scale, name=f"conv{i + 1}_mask")(x, widths)
        x = _conv_bn_relu(x, filters, 3, f"conv{i + 1}")
        if i in POOLS:
            x = keras.layers.MaxPool2D(POOLS[i], strides=POOLS[i], name=f"pool{i + 1}")(x)
            scale *= POOLS[i][1]
    if widths is not None:
        x = ColumnMask(scale, name="conv7_mask")(x, widths)
    # (B, H/16, W/4, C). The paper's conv7 is 2x2 "valid" on the 2-pixel-high map: it collapses
    # the height. A one-column pad on the right keeps W/4 steps (the label-length rule of the
    # converter, sequence.time_steps); a kernel H/16 high collapses any input height.
    x = keras.layers.ZeroPadding2D(((0, 0), (0, 1)), name="conv7_pad")(x)
    return _conv_bn_relu(x, cfg.filters[6], (cfg.image_height // 16, 2), "conv7", "valid")


def _rnn(cfg: ModelConfig, name: str):
    kind = keras.layers.LSTM if cfg.rnn == "lstm" else keras.layers.GRU
    # Defaults are exactly the cuDNN conditions; do not set recurrent_dropout or unroll here.
    layer = kind(cfg.rnn_units, return_sequences=True, name=name)
    return keras.layers.Bidirectional(layer, name=f"bi{name}")


def call_crnn(model, batch: dict, training: bool = False):
    """A batch dict ("image", and "width" for keep_aspect models) -> (logits (B, T, C), each
    example's steps (B,) or None when every example has all T)."""
    if "width" not in batch:
        return model(batch["image"], training=training), None
    widths = tf.cast(batch["width"], tf.int32)
    logits = model({"image": batch["image"], "width": widths}, training=training)
    return logits, (widths + ctc_steps.WIDTH_STRIDE - 1) // ctc_steps.WIDTH_STRIDE


def build_crnn(cfg: ModelConfig, num_classes: int) -> keras.Model:
    """Keras model: images (B, H, W, 3) float in [-1, 1] -> logits (B, W // 4, num_classes);
    keep_aspect: {"image": (B, H, W <= image_width, 3), "width": (B,) int32} (above)."""
    lines = cfg.resize == "keep_aspect"
    inputs = keras.Input((cfg.image_height, None if lines else cfg.image_width, 3), name="image")
    widths = keras.Input((), dtype="int32", name="width") if lines else None
    x = SpatialTransformer(name="stn")(inputs) if cfg.stn else inputs
    x = _backbone(x, cfg, widths)  # (B, 1, T, C)
    steps = -1 if lines else cfg.time_steps  # keep_aspect: T = the batch's width // 4
    x = keras.layers.Reshape((steps, cfg.filters[6]), name="map_to_sequence")(x)
    mask = StepMask(name="step_mask")(x, widths) if lines else None
    for i in range(cfg.rnn_layers):
        if cfg.dropout:
            x = keras.layers.Dropout(cfg.dropout, name=f"dropout{i + 1}")(x)
        x = _rnn(cfg, f"{cfg.rnn}{i + 1}")(x, mask=mask)  # (B, T, 2 * units)
    # float32 logits under mixed precision: the CTC loss and the softmax need the range.
    logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
    name = f"crnn_{cfg.rnn}{'_stn' if cfg.stn else ''}{'_lines' if lines else ''}"
    if lines:
        return keras.Model({"image": inputs, "width": widths}, logits, name=name)
    return keras.Model(inputs, logits, name=name)
