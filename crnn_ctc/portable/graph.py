"""The CRNN as a graph of plain operations for LiteRT (TFLite) and ONNX: pixels in, per-step
class logits out, no softmax, no decoder and no string ops (what fails to convert).

    net = PortableCrnn(model, cfg)      # model: model.build_crnn(...) with trained weights
    logits = net(pixels)                # (B, H, W, 3) float32 0-255 -> (B, T, C) logits
    logits = net(pixels, widths)        # a keep_aspect (line) model: + (B,) int32 valid widths

A keep_aspect model's file has a fixed canvas of the model's width (W = cfg.image_width) and a
second input, each crop's valid width in pixels (the crop resized by the rule, padded right to
W with any value). As in the trained model, the columns past ceil(width / stride) are set to 0
before every convolution, and the backward direction of each recurrent layer starts at the
crop's last step: its state stays 0 over the padding steps (steps >= ceil(width / 4)), so the
padding cannot change the read. The reader decodes only the valid steps (portable/ctc.py).

The input is the resized image's pixel values as float32 (0-255, RGB, H x W as trained): the
scaling to [-1, 1] is the graph's first op, so an int8 model's uint8 input takes the pixels
as they are (scale 1, zero point 0). The rest is model.inference's rewrite without its fused
LSTM kernel: batch norm folded into the convolutions, and each recurrent direction unrolled
over the fixed T = W / 4 steps as matmuls and element-wise gates (BlockLSTMV2 and while loops
are not LiteRT builtins; unrolled, every op is, and int8 quantizes each gate). The input
projection of all steps is one matmul; only h @ U runs per step. The weights are the trained
model's, as constants of the traced graph; tests/portable holds the logits to the Keras
model's.

The graph ends at the logits, not at a softmax: an int8 file quantizes its output, and 8 bits
of probability (steps of 1/256) turn almost every class's probability into exactly 0 and cap
the best at 255/256, so a beam has nothing to search and scores lose their meaning. 8 bits of
logits over their calibrated range keep every class's log-probability to a fraction of a nat;
the reader takes the log-softmax (portable/ctc.log_softmax).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from crnn_ctc.data import ctc_steps
from crnn_ctc.model.config import ModelConfig
from crnn_ctc.model.inference import _check_keras_lstm, _folded, folded_cnn

PIXELS, WIDTHS = "pixels", "widths"  # the input names


class _Direction(tf.Module):
    """One direction of a trained Keras LSTM or GRU (reset_after), unrolled."""

    def __init__(self, layer, reverse: bool, name: str):
        super().__init__(name=name)
        cell = layer.cell
        self.kind = "lstm" if hasattr(cell, "unit_forget_bias") else "gru"
        if self.kind == "lstm":
            _check_keras_lstm(layer)
        elif not (cell.reset_after and cell.use_bias
                  and cell.activation is keras.activations.tanh
                  and cell.recurrent_activation is keras.activations.sigmoid):
            raise ValueError(f"{layer.name}: only tanh/sigmoid GRUs with reset_after=True and a "
                             "bias export")
        self.units, self.reverse = cell.units, reverse
        # NumPy arrays: each becomes a constant of the traced graph (a captured tensor would
        # be an input of the ONNX file)
        self.w, self.u = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
        bias = cell.bias.numpy()  # GRU (reset_after): (2, 3H), the input's and the recurrent's
        self.b, self.rb = (bias, None) if self.kind == "lstm" else (bias[0], bias[1])
        if self.kind == "lstm":  # Keras' gate order i, f, c, o -> i, f, o, c: one sigmoid
            h = self.units  # takes the first three gates at once, one tanh the last
            order = np.r_[0:2 * h, 3 * h:4 * h, 2 * h:3 * h]
            self.w, self.u, self.b = self.w[:, order], self.u[:, order], self.b[order]

    def __call__(self, x, valid=None):
        """x (B, T, I) with T known -> h (B, T, H). ``valid`` (B,) int32: each sequence's own
        length (keep_aspect); the backward direction's state is held at 0 past it."""
        steps = x.shape[1]
        # (B, T, 4H) or (B, T, 3H), cut into steps by one op
        projected = tf.unstack(tf.matmul(x, self.w) + self.b, steps, axis=1)
        h = c = None  # the zero state: step one needs no h @ U and no f * c
        # (B, 1) by a reshape to -1 (see inference._column_mask: not [:, None])
        valid = None if valid is None else tf.reshape(valid, [-1, 1])
        order = range(steps - 1, -1, -1) if self.reverse else range(steps)
        out = [None] * steps
        for t in order:
            z = projected[t]
            if self.kind == "lstm":  # gates i, f, o (one sigmoid), c (tanh): see __init__
                gates = z if h is None else z + tf.matmul(h, self.u)
                ifo, g = tf.split(gates, [3 * self.units, self.units], axis=-1)
                i, f, o = tf.split(tf.sigmoid(ifo), 3, axis=-1)
                c = i * tf.tanh(g) if c is None else f * c + i * tf.tanh(g)
                h = o * tf.tanh(c)
            else:  # Keras gate order z, r, h; the reset gate scales the recurrent projection
                if h is None:
                    h = tf.zeros_like(z[:, :self.units])
                rec = tf.matmul(h, self.u) + self.rb
                xz, xr, xh = tf.split(z, 3, axis=-1)
                rz, rr, rh = tf.split(rec, 3, axis=-1)
                update = tf.sigmoid(xz + rz)
                candidate = tf.tanh(xh + tf.sigmoid(xr + rr) * rh)
                h = update * h + (1.0 - update) * candidate
            if self.reverse and valid is not None:
                # steps past a sequence's length come first here: its state stays 0 until
                # its last step (then every later step is inside it, and the mask is 1)
                keep = tf.cast(tf.less(t, valid), x.dtype)  # (B, 1)
                h = h * keep
                if self.kind == "lstm":
                    c = c * keep
            out[t] = h
        return tf.stack(out, axis=1)


class PortableCrnn(tf.Module):
    """See the module docstring."""

    def __init__(self, model, cfg: ModelConfig):
        super().__init__(name="crnn_portable")
        if cfg.stn:
            raise ValueError("a model with the spatial transformer (--stn) cannot be exported to "
                             "LiteRT/ONNX yet (its grid sampling is not a portable op): export "
                             "the SavedModel for TF Serving instead")
        self.cfg = cfg
        self.convs = [_folded(model, f"conv{i + 1}") for i in range(7)]  # NumPy, as above
        self.rnns = []
        for i in range(cfg.rnn_layers):
            bi = model.get_layer(f"bi{cfg.rnn}{i + 1}")
            self.rnns.append((_Direction(bi.forward_layer, False, f"{cfg.rnn}{i + 1}_fw"),
                              _Direction(bi.backward_layer, True, f"{cfg.rnn}{i + 1}_bw")))
        dense = model.get_layer("logits")
        self.logits_w, self.logits_b = dense.kernel.numpy(), dense.bias.numpy()
        self.num_classes = int(dense.bias.shape[0])

    @property
    def keeps_aspect(self) -> bool:
        return self.cfg.resize == "keep_aspect"

    def input_specs(self, batch: int | None = None) -> list[tf.TensorSpec]:
        """pixels (B, H, W, 3) float32, and for a keep_aspect model widths (B,) int32."""
        specs = [tf.TensorSpec([batch, self.cfg.image_height, self.cfg.image_width, 3],
                               tf.float32, name=PIXELS)]
        if self.keeps_aspect:
            specs.append(tf.TensorSpec([batch], tf.int32, name=WIDTHS))
        return specs

    def __call__(self, pixels, widths=None):
        if self.keeps_aspect != (widths is not None):
            raise ValueError("a keep_aspect model takes pixels and widths; a stretch model "
                             "pixels only")
        x = pixels * np.float32(2.0 / 255.0) - 1.0  # image_tf.to_model_input's scaling
        x = folded_cnn(x, self.convs, widths)
        x = tf.reshape(x, [-1, self.cfg.time_steps, self.cfg.filters[6]])  # (B, T, C)
        stride = ctc_steps.WIDTH_STRIDE  # each crop's own steps: ceil(width / stride)
        valid = None if widths is None else (widths + (stride - 1)) // stride
        for forward, backward in self.rnns:
            x = tf.concat([forward(x), backward(x, valid)], axis=-1)
        return tf.matmul(x, self.logits_w) + self.logits_b
