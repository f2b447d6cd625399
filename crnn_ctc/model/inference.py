"""The CRNN's inference-only forward pass, rebuilt from a trained Keras model for export.

    net = InferenceCrnn(model, cfg)       # model: model.build_crnn(...) with trained weights
    logits = net(images)                  # (B, H, W, 3) float32 in [-1, 1] -> (B, W // 4, C)

Same logits as ``model(images, training=False)`` (tests/serve/test_export.py holds them to 1e-4),
with two rewrites that only inference allows:
  - batch norm folded into the convolution before it: kernel * gamma / sqrt(var + eps), bias
    beta - mean * gamma / sqrt(var + eps); conv + bias + ReLU is then one fused kernel;
  - each LSTM direction runs as one BlockLSTMV2 op (TensorFlow's fused LSTM kernel, gate order
    i, f, c, o like Keras) instead of a while loop of small ops: at batch 1 on a 2-core CPU this
    takes the paper model's BiLSTMs from ~9 ms to ~3 ms (BENCHMARKS.md).
Dropout is the identity at inference. GRU layers and the spatial transformer run as the
trained Keras layers themselves. A keep_aspect (text-line) model takes each image's valid width
too: the padding is masked before every convolution and the backward LSTMs read each sequence
reversed by its own length, so a crop reads the same in any batch width.

``cnn_dtype="bfloat16"`` (export --precision bf16) stores the folded conv kernels and runs the CNN
in bfloat16 (oneDNN's bf16 kernels on CPUs with AVX512-BF16 or AMX; emulated, slower, elsewhere);
the recurrent layers (BlockLSTMV2 has no bfloat16 kernel), the logits and decoding stay float32.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from crnn_ctc.data import ctc_steps
from crnn_ctc.model.config import ModelConfig
from crnn_ctc.model.crnn import POOLS

CNN_DTYPES = ("float32", "bfloat16")


def _folded(model, name: str) -> tuple[np.ndarray, np.ndarray]:
    """conv ``name`` and its batch norm ``name``_bn -> (kernel, bias) of one conv with bias."""
    kernel = model.get_layer(name).kernel.numpy()
    bn = model.get_layer(f"{name}_bn")
    gamma, beta, mean, var = (
        w.numpy() for w in (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance)
    )
    scale = gamma / np.sqrt(var + bn.epsilon)  # (C_out,), broadcast over the kernel's last axis
    return kernel * scale, beta - mean * scale


def _column_mask(x, widths, scale: int):
    """crnn.ColumnMask: the columns of x (B, h, w, C) at or past ceil(width / scale) set to 0."""
    valid = (tf.cast(widths, tf.int32) + scale - 1) // scale
    w = tf.shape(x)[2]
    # reshapes to -1, not sequence_mask's expand_dims or [:, None]: LiteRT's converter turns
    # those into reshapes to the traced batch size, and a file resized to another batch fails
    mask = tf.cast(tf.range(w)[None, :] < tf.reshape(valid, [-1, 1]), x.dtype)  # (B, w)
    return x * tf.reshape(mask, [-1, 1, w, 1])


def folded_cnn(x, convs, widths=None):
    """The 7 convolutions with batch norm folded in (``convs``: (kernel, bias) pairs, variables
    or arrays), ReLU and the pools: (B, H, W, 3) -> (B, 1, W // 4, C). ``widths`` (B,): each
    image's valid width in pixels (keep_aspect models): the padding past it is set to 0 before
    every convolution, as the trained model does."""
    scale = 1
    for i, (kernel, bias) in enumerate(convs[:6]):
        if widths is not None:
            x = _column_mask(x, widths, scale)
        x = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias))
        if i in POOLS:
            x = tf.nn.max_pool2d(x, POOLS[i], POOLS[i], "VALID")
            scale *= POOLS[i][1]
    if widths is not None:
        x = _column_mask(x, widths, scale)
    x = tf.pad(x, [[0, 0], [0, 0], [0, 1], [0, 0]])  # crnn.py's conv7_pad
    kernel, bias = convs[6]
    return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "VALID"), bias))


class _FusedLstm(tf.Module):
    """One direction of a trained keras LSTM as BlockLSTMV2: x (T, B, I) -> h (T, B, H)."""

    def __init__(self, layer: keras.layers.LSTM, reverse: bool, name: str):
        super().__init__(name=name)
        cell = layer.cell
        self.units, self.reverse = cell.units, reverse
        # BlockLSTMV2 multiplies [x, h] by one (I + H, 4H) matrix.
        self.w = tf.Variable(np.concatenate([cell.kernel.numpy(), cell.recurrent_kernel.numpy()]),
                             trainable=False, name="w")  # fmt: skip
        self.b = tf.Variable(cell.bias.numpy(), trainable=False, name="b")

    def __call__(self, x, steps=None):
        """``steps`` (B,): each sequence's own length (keep_aspect): the backward direction
        then starts at its last step, not in the padding (tf.reverse_sequence)."""
        if self.reverse:  # Keras' backward layer reads the sequence backwards, output re-aligned
            x = self._reversed(x, steps)
        batch = tf.shape(x)[1]
        zeros, no_peephole = tf.zeros([batch, self.units]), tf.zeros([self.units])
        h = tf.raw_ops.BlockLSTMV2(
            seq_len_max=tf.cast(tf.shape(x)[0], tf.int64), x=x, cs_prev=zeros, h_prev=zeros,
            w=self.w, wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=self.b,
            cell_clip=0.0, use_peephole=False,
        )[6]  # (i, cs, f, o, ci, co, h): all gates come back; h is the output
        return self._reversed(h, steps) if self.reverse else h

    @staticmethod
    def _reversed(x, steps):
        if steps is None:
            return tf.reverse(x, [0])
        return tf.reverse_sequence(x, tf.cast(steps, tf.int64), seq_axis=0, batch_axis=1)


def _check_keras_lstm(layer) -> None:
    """BlockLSTMV2 computes exactly Keras' default LSTM cell; refuse anything else."""
    cell = layer.cell
    defaults = (
        cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
        and cell.use_bias
    )
    if not defaults:
        raise ValueError(f"{layer.name}: only tanh/sigmoid LSTMs with bias can be fused")


class InferenceCrnn(tf.Module):
    """See the module docstring. Holds copies of the weights (tf.Variables, saved with it)."""

    def __init__(self, model: keras.Model, cfg: ModelConfig, cnn_dtype: str = "float32"):
        super().__init__(name="crnn")
        self.keeps_aspect = cfg.resize == "keep_aspect"
        if cnn_dtype not in CNN_DTYPES:
            raise ValueError(f"cnn_dtype {cnn_dtype!r}: choose one of {CNN_DTYPES}")
        self.cnn_dtype = tf.as_dtype(cnn_dtype)
        self.stn = model.get_layer("stn") if cfg.stn else None
        self.convs = []
        for i in range(7):
            kernel, bias = _folded(model, f"conv{i + 1}")
            name = f"conv{i + 1}"
            self.convs.append((
                tf.Variable(tf.cast(kernel, self.cnn_dtype), trainable=False,
                            name=f"{name}_kernel"),
                tf.Variable(tf.cast(bias, self.cnn_dtype), trainable=False, name=f"{name}_bias"),
            ))  # fmt: skip
        self.rnns = []
        for i in range(cfg.rnn_layers):
            bi = model.get_layer(f"bi{cfg.rnn}{i + 1}")
            if cfg.rnn == "lstm":
                for layer in (bi.forward_layer, bi.backward_layer):
                    _check_keras_lstm(layer)
                name = f"lstm{i + 1}"
                self.rnns.append((_FusedLstm(bi.forward_layer, False, f"{name}_fw"),
                                  _FusedLstm(bi.backward_layer, True, f"{name}_bw")))  # fmt: skip
            else:
                self.rnns.append(bi)  # the Keras layer itself, batch-major
        dense = model.get_layer("logits")
        self.logits_kernel = tf.Variable(dense.kernel.numpy(), trainable=False, name="logits_w")
        self.logits_bias = tf.Variable(dense.bias.numpy(), trainable=False, name="logits_b")

    def __call__(self, images, widths=None):
        """keep_aspect models take ``widths`` (B,), each image's valid width in pixels (the
        batch padded right to its widest, any padding value); logits past an image's own
        ceil(width / 4) steps are not part of its read."""
        stride = ctc_steps.WIDTH_STRIDE
        steps = None if widths is None else (tf.cast(widths, tf.int32) + stride - 1) // stride
        return self.sequence(self.cnn(images, widths), steps)

    def cnn(self, images, widths=None):
        """(B, H, W, 3) -> the CNN's features (B, T, C) float32 (STN included)."""
        x = self.stn(images) if self.stn is not None else images
        x = folded_cnn(tf.cast(x, self.cnn_dtype), self.convs, widths)  # (B, 1, T, C)
        return tf.cast(x[:, 0], tf.float32)  # (B, T, C)

    def sequence(self, x, steps=None):
        """Features (B, T, C) -> logits (B, T, num_classes): the recurrent layers and the dense.
        ``steps`` (B,): each sequence's own length (keep_aspect models)."""
        mask = None if steps is None else tf.sequence_mask(steps, tf.shape(x)[1])
        for rnn in self.rnns:
            if isinstance(rnn, tuple):  # fused LSTM pair, time-major
                seq = tf.transpose(x, [1, 0, 2])  # (T, B, C)
                x = tf.transpose(tf.concat([rnn[0](seq), rnn[1](seq, steps)], -1), [1, 0, 2])
            else:
                x = rnn(x, mask=mask, training=False)
        return tf.matmul(x, self.logits_kernel) + self.logits_bias  # (B, T, num_classes)
