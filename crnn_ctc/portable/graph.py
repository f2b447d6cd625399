"""The CRNN as a graph of plain operations for LiteRT (TFLite) and ONNX: pixels in, per-step
class logits out, no softmax, no decoder and no string ops (what fails to convert).

    net = PortableCrnn(model, cfg)      # model: model.build_crnn(...) with trained weights
    logits = net(pixels)                # (B, H, W, 3) float32 0-255 -> (B, T, C) logits

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

from crnn_ctc.model.config import ModelConfig
from crnn_ctc.model.inference import _check_keras_lstm, _folded, folded_cnn


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

    def __call__(self, x):
        """x (B, T, I) with T known -> h (B, T, H)."""
        steps = x.shape[1]
        # (B, T, 4H) or (B, T, 3H), cut into steps by one op
        projected = tf.unstack(tf.matmul(x, self.w) + self.b, steps, axis=1)
        h = c = None  # the zero state: step one needs no h @ U and no f * c
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
            out[t] = h
        return tf.stack(out, axis=1)


class PortableCrnn(tf.Module):
    """See the module docstring."""

    def __init__(self, model, cfg: ModelConfig):
        super().__init__(name="crnn_portable")
        cfg.require_stretch("the LiteRT/ONNX export")
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

    def input_spec(self, batch: int | None = None) -> tf.TensorSpec:
        return tf.TensorSpec([batch, self.cfg.image_height, self.cfg.image_width, 3], tf.float32,
                             name="pixels")

    def __call__(self, pixels):
        x = pixels * np.float32(2.0 / 255.0) - 1.0  # image_tf.to_model_input's scaling
        x = folded_cnn(x, self.convs)
        x = tf.reshape(x, [-1, self.cfg.time_steps, self.cfg.filters[6]])  # (B, T, C)
        for forward, backward in self.rnns:
            x = tf.concat([forward(x), backward(x)], axis=-1)
        return tf.matmul(x, self.logits_w) + self.logits_b
