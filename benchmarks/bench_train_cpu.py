"""Benchmark: CPU training throughput (images/s) of the CRNN, fp32, synthetic in-memory batches.

    .venv/bin/python benchmarks/bench_train_cpu.py --list                  # the variants
    .venv/bin/python benchmarks/bench_train_cpu.py                         # default variants
    .venv/bin/python benchmarks/bench_train_cpu.py --variants sparse,fused_bn --repeats 4
    .venv/bin/python benchmarks/bench_train_cpu.py --mode ab --steps 20    # one process, A/B
    .venv/bin/python benchmarks/bench_train_cpu.py --mode profile --threads 2,1   # where it goes
    .venv/bin/python benchmarks/bench_train_cpu.py --mode roofline         # fp32 GFLOP/s ceiling
    .venv/bin/python benchmarks/bench_train_cpu.py --preset small --variants fused_bn --steps 20
    .venv/bin/python benchmarks/bench_train_cpu.py --mode table            # stored results

What is timed: one training step = forward, CTC loss, backward, Adam update (no gradient
clipping), on one synthetic batch (random images in [-1, 1], random labels of 3-10 symbols out of
36, blank id 36) built once and held in memory, so no input pipeline is timed. Each (variant,
repeat) runs in its own subprocess, because thread counts and oneDNN environment variables must
be set before TensorFlow is imported; the runs go round-robin over the variants (repeat 1 of
every variant, then repeat 2, ...), so slow phases of a shared machine hit all variants alike.
``baseline`` (crnn_ctc.model.build_crnn + crnn_ctc.losses.ctc_loss in a tf.function step) is
always run too. Variants that change the model rebuild build_crnn's architecture here
(build_variant) and must match its parameter count.

Each subprocess: import TensorFlow, time a fixed matmul (``probe_gflops``: how fast the cores
were at that moment), build, ``--warmup`` untimed steps (tracing, XLA compilation), then
``--steps`` timed steps, each ended by fetching the loss to the host. For every timed step it
reads /proc/stat, so the CPU time other processes took during that step is known (``foreign``:
fraction of all cores busy with other processes); before each run the parent waits up to
``--wait_idle`` s for a quiet second. Reported per variant: img/s median / min / max over all
timed steps of all runs, the median of each run, ``img_s_clean`` (median over the steps during
which other processes used < 10% of the machine; null if fewer than 3), and ``vs_baseline``:
variant median / baseline median of the same invocation (median over invocations when runs are
pooled). Runs of the same preset/variant from earlier invocations in ``--out`` are pooled
(``--fresh`` replaces them); ``by_invocation`` keeps each invocation's own numbers.

``--mode ab``: variants that need no environment, thread or dtype-policy change (e.g. sparse,
fused_bn, lstm_*) run in one subprocess from the same initial weights, steps interleaved
(ABC CBA ...), which removes the run-to-run (process, host) noise from the comparison.

FLOPs: analytic multiply-adds of the convolutions, LSTMs and the dense layer (batch norm, ReLU,
pooling, LSTM gates, CTC and Adam are left out: < 1%); training = 3x forward (forward, input
gradient, weight gradient), less the input gradient of the first convolution. ``--mode profile``
traces two steps with the TensorFlow profiler and sums op times by model part (with
``--threads 2,1`` ops run one at a time, so the sums add up to the step), then times the parts
alone (CNN, BiLSTMs + logits, CTC dense / sparse, Adam). ``--mode roofline`` measures sustained
GFLOP/s of large fp32 matmuls and of a conv6-shaped convolution (and, labelled NOT_FP32, bf16)
and gives the img/s ceiling = best fp32 rate / training FLOPs per image.

Output: one JSON object per variant (``--mode bench``) or per profiled variant / roofline on
stdout; everything is also merged into ``--out`` (benchmarks/results/train_cpu.json, git-ignored)
under the keys ``variants`` ("preset/variant"), ``profile``, ``roofline`` and ``machine``.
Progress goes to stderr. Variants marked fp32=false are NOT fp32 measurements.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)  # crnn_ctc, imported lazily (workers import TensorFlow)
DEFAULT_OUT = os.path.join(HERE, "results", "train_cpu.json")
NUM_CLASSES = 37  # 36 symbols + blank
BLANK = 36
MAX_LABEL = 10
CLEAN_FOREIGN = 0.10  # a step is "clean" when other processes used < 10% of all cores


@dataclasses.dataclass(frozen=True)
class Variant:
    help: str
    env: tuple[tuple[str, str], ...] = ()  # set before TensorFlow is imported
    intra: int = 0  # tf.config.threading; 0 = TensorFlow's default (all cores)
    inter: int = 0
    loop: str = "step"  # step (our tf.function step) | fit | train_on_batch (plain Keras)
    jit: bool = False  # tf.function(jit_compile=True)
    labels: str = "dense"  # dense: crnn_ctc.losses.ctc_loss | sparse: SparseTensor labels
    bn: str = "keras"  # keras: keras.layers.BatchNormalization | fused: FusedBatchNormV3
    rnn: str = "keras"  # keras | unroll (LSTM(unroll=True)) | impl1 (LSTM(implementation=1))
    #                     | hoisted (HoistedBiLSTM below)
    layout: str = "channels_last"  # or channels_first for the CNN (NCHW inside the model)
    policy: str = "float32"  # keras dtype policy; anything else is NOT fp32
    fp32: bool = True  # False: the result is not an fp32 measurement

    @property
    def ours(self) -> bool:
        """True when crnn_ctc.model.build_crnn builds the model unchanged."""
        return (
            self.loop == "step"
            and self.bn == "keras"
            and self.rnn == "keras"
            and self.layout == "channels_last"
        )


_ONEDNN_BF16 = (("ONEDNN_DEFAULT_FPMATH_MODE", "BF16"), ("TF_SET_ONEDNN_FPMATH_MODE", "BF16"))
VARIANTS: dict[str, Variant] = {
    "baseline": Variant(
        "crnn_ctc build_crnn + losses.ctc_loss (dense labels) in a tf.function "
        "step, Adam; TensorFlow's default threads"
    ),
    "xla": Variant("baseline with tf.function(jit_compile=True)", jit=True),
    "keras_fit": Variant(
        "a plain keras.Sequential build of the same layers, model.compile(Adam, "
        "keras.ops.ctc_loss) + model.fit on a repeated in-memory batch",
        loop="fit",
    ),
    "keras_train_on_batch": Variant(
        "the plain build of keras_fit, model.train_on_batch in a Python loop", loop="train_on_batch"
    ),
    "sparse": Variant(
        "baseline with tf.nn.ctc_loss on SparseTensor labels (the C++ CTCLoss "
        "kernel) instead of dense labels (ctc_loss_dense, TF ops)",
        labels="sparse",
    ),
    "intra1_inter1": Variant("baseline, intra_op=1 inter_op=1", intra=1, inter=1),
    "intra2_inter1": Variant("baseline, intra_op=2 inter_op=1", intra=2, inter=1),
    "intra1_inter2": Variant("baseline, intra_op=1 inter_op=2", intra=1, inter=2),
    "intra2_inter2": Variant("baseline, intra_op=2 inter_op=2 set explicitly", intra=2, inter=2),
    "onednn_off": Variant(
        "baseline with TF_ENABLE_ONEDNN_OPTS=0 (Eigen kernels)",
        env=(("TF_ENABLE_ONEDNN_OPTS", "0"),),
    ),
    "onednn_caller_thread": Variant(
        "baseline with TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD=1",
        env=(("TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD", "1"),),
    ),
    "omp_env": Variant(
        "baseline with OMP_NUM_THREADS=2 KMP_BLOCKTIME=1 KMP_AFFINITY=granularity="
        "fine,compact,1,0 (TensorFlow's pip build loads no OpenMP runtime)",
        env=(
            ("OMP_NUM_THREADS", "2"),
            ("KMP_BLOCKTIME", "1"),
            ("KMP_AFFINITY", "granularity=fine,compact,1,0"),
        ),
    ),
    "fused_bn": Variant(
        "baseline architecture with batch norm as one FusedBatchNormV3 op", bn="fused"
    ),
    "lstm_unroll": Variant("baseline architecture with keras LSTM(unroll=True)", rnn="unroll"),
    "lstm_hoisted": Variant(
        "baseline architecture with a hand-written BiLSTM: the input "
        "projection of all steps and both directions as one matmul, one "
        "tf.while_loop for both directions (batched h @ U)",
        rnn="hoisted",
    ),
    "channels_first": Variant(
        "baseline architecture with the CNN in NCHW (one transpose in, one out)",
        layout="channels_first",
    ),
    "lstm_impl1": Variant("baseline architecture with keras LSTM(implementation=1)", rnn="impl1"),
    "sparse_intra2_inter1": Variant(
        "sparse labels + intra_op=2 inter_op=1", labels="sparse", intra=2, inter=1
    ),
    "sparse_fused_bn": Variant("sparse labels + fused batch norm", labels="sparse", bn="fused"),
    "bf16_fpmath": Variant(
        "NOT fp32 if it takes effect: baseline with ONEDNN_DEFAULT_FPMATH_MODE="
        "BF16 and TF_SET_ONEDNN_FPMATH_MODE=BF16 (implicit bf16 in oneDNN)",
        env=_ONEDNN_BF16,
        fp32=False,
    ),
    "mixed_bf16_sparse_fused_bn": Variant(
        "NOT fp32: mixed_bfloat16 + sparse labels + fused batch norm",
        policy="mixed_bfloat16",
        labels="sparse",
        bn="fused",
        fp32=False,
    ),
    "mixed_bf16": Variant(
        "NOT fp32: baseline under the keras 'mixed_bfloat16' policy (bf16 "
        "convs/LSTMs, fp32 variables and logits)",
        policy="mixed_bfloat16",
        fp32=False,
    ),
}
DEFAULT_VARIANTS = "baseline,sparse,fused_bn,sparse_fused_bn,xla,keras_fit"  # ~6 min (paper)


# -- shared-machine accounting -----------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def _cpu_snapshot():
    """(wall s, busy s of all cores, steal s, this process's user+system s)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    own = os.times()
    busy = (user + nice + system + irq + softirq) / _TICK
    return time.perf_counter(), busy, steal / _TICK, own.user + own.system


def _foreign(a, b) -> tuple[float, float]:
    """Fraction of all cores used by other processes between snapshots a and b, and steal."""
    wall = max(b[0] - a[0], 1e-9)
    other = (b[1] - a[1]) - (b[3] - a[3])
    return max(0.0, other / (wall * NCPU)), (b[2] - a[2]) / (wall * NCPU)


def _wait_idle(max_wait: float) -> float:
    """Wait (at most max_wait s) for a 1 s window where others use < CLEAN_FOREIGN; returns it."""
    deadline = time.perf_counter() + max_wait
    while True:
        a = _cpu_snapshot()
        time.sleep(1.0)
        load, _ = _foreign(a, _cpu_snapshot())
        if load < CLEAN_FOREIGN or time.perf_counter() >= deadline:
            return load


# -- models (worker side; TensorFlow is imported lazily) ----------------------------------------
def _pools():
    from crnn_ctc import model as crnn_model

    return crnn_model.POOLS


def _fused_bn_class():
    import keras
    import tensorflow as tf

    class FusedBatchNorm(keras.layers.Layer):
        """keras BatchNormalization (NHWC, last axis) as one FusedBatchNormV3 op. Training uses
        the batch statistics like keras; the moving variance is updated with the op's batch
        variance, which is Bessel-corrected (keras uses the biased one: a factor n/(n-1),
        n = B*H*W >= 1600 here)."""

        def __init__(self, momentum, epsilon, **kwargs):
            super().__init__(autocast=False, **kwargs)  # fp32 scale/offset under mixed bf16
            self.momentum, self.epsilon = momentum, epsilon

        def build(self, input_shape):
            c = (input_shape[-1],)
            self.gamma = self.add_weight(shape=c, initializer="ones", name="gamma")
            self.beta = self.add_weight(shape=c, initializer="zeros", name="beta")
            self.moving_mean = self.add_weight(
                shape=c, initializer="zeros", name="moving_mean", trainable=False
            )
            self.moving_variance = self.add_weight(
                shape=c, initializer="ones", name="moving_variance", trainable=False
            )

        def call(self, x, training=False):
            if not training:
                y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                    x,
                    self.gamma,
                    self.beta,
                    self.moving_mean,
                    self.moving_variance,
                    epsilon=self.epsilon,
                    is_training=False,
                )
                return y
            y, mean, var = tf.compat.v1.nn.fused_batch_norm(
                x, self.gamma, self.beta, epsilon=self.epsilon, is_training=True
            )
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + tf.stop_gradient(mean) * (1 - m))
            self.moving_variance.assign(self.moving_variance * m + tf.stop_gradient(var) * (1 - m))
            return y

        def compute_output_shape(self, input_shape):
            return input_shape

    return FusedBatchNorm


def _hoisted_bilstm_class():
    import keras
    import tensorflow as tf

    class HoistedBiLSTM(keras.layers.Layer):
        """Bidirectional LSTM (keras gate order i, f, c, o; same parameter count as
        Bidirectional(LSTM)) with the input projection of every step and both directions done
        as one (B*T, D) x (D, 8U) matmul; one tf.while_loop runs both directions, h @ U as a
        batched (2, B, U) x (2, U, 4U) matmul. Returns (B, T, 2U) like keras' concat merge."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            u, d = self.units, input_shape[-1]
            self.kernel = self.add_weight(
                shape=(d, 8 * u), initializer="glorot_uniform", name="kernel"
            )
            self.recurrent_kernel = self.add_weight(
                shape=(2, u, 4 * u), initializer="orthogonal", name="recurrent_kernel"
            )
            forget = tf.concat([tf.zeros(u), tf.ones(u), tf.zeros(2 * u)], 0)
            self.bias = self.add_weight(
                shape=(8 * u,), name="bias", initializer=lambda *a, **k: tf.tile(forget, [2])
            )

        def call(self, x):
            u, steps, d = self.units, x.shape[1], x.shape[2]
            batch = tf.shape(x)[0]
            xt = tf.reshape(tf.transpose(x, (1, 0, 2)), (-1, d))
            z = tf.reshape(tf.matmul(xt, self.kernel) + self.bias, (steps, batch, 2, 4 * u))
            z = tf.stack([z[:, :, 0], tf.reverse(z[:, :, 1], [0])], 1)  # (T, 2, B, 4U)
            zin = tf.TensorArray(x.dtype, size=steps).unstack(z)
            out = tf.TensorArray(x.dtype, size=steps)
            zeros = tf.zeros(tf.stack([2, batch, u]), x.dtype)

            def body(t, h, c, out):
                g = zin.read(t) + tf.matmul(h, self.recurrent_kernel)
                gi, gf, gc, go = tf.split(g, 4, axis=-1)
                c = tf.sigmoid(gf) * c + tf.sigmoid(gi) * tf.tanh(gc)
                h = tf.sigmoid(go) * tf.tanh(c)
                return t + 1, h, c, out.write(t, h)

            _, _, _, out = tf.while_loop(lambda t, *_: t < steps, body, (0, zeros, zeros, out))
            hs = out.stack()  # (T, 2, B, U)
            y = tf.concat([hs[:, 0], tf.reverse(hs[:, 1], [0])], -1)
            return tf.transpose(y, (1, 0, 2))

        def compute_output_shape(self, input_shape):
            return (*input_shape[:2], 2 * self.units)

    return HoistedBiLSTM


def build_variant(cfg, v: Variant):
    """The architecture of crnn_ctc.model.build_crnn (no STN, no dropout), with the batch norm
    and LSTM implementation of variant ``v``; same layer names and parameter count."""
    import keras

    L = keras.layers
    from crnn_ctc import model as crnn_model

    reference = crnn_model.build_crnn(cfg, NUM_CLASSES)
    ref_bn = next(ly for ly in reference.layers if isinstance(ly, L.BatchNormalization))
    bn_kw = {"momentum": ref_bn.momentum, "epsilon": ref_bn.epsilon}
    fmt = v.layout
    if v.bn == "fused":
        fused = _fused_bn_class()

        def bn(name):
            return fused(name=name, **bn_kw)
    else:

        def bn(name):
            return L.BatchNormalization(
                axis=1 if fmt == "channels_first" else -1, name=name, **bn_kw
            )

    def cbr(x, filters, kernel, name, padding="same"):
        x = L.Conv2D(filters, kernel, padding=padding, use_bias=False, data_format=fmt, name=name)(
            x
        )
        return L.ReLU(name=f"{name}_relu")(bn(name=f"{name}_bn")(x))

    inputs = keras.Input((cfg.image_height, cfg.image_width, 3), name="image")
    x, pools = inputs, _pools()
    if fmt == "channels_first":
        x = L.Permute((3, 1, 2), name="to_nchw")(x)
    for i, f in enumerate(cfg.filters[:6]):
        x = cbr(x, f, 3, f"conv{i + 1}")
        if i in pools:
            x = L.MaxPool2D(pools[i], strides=pools[i], data_format=fmt, name=f"pool{i + 1}")(x)
    x = L.ZeroPadding2D(((0, 0), (0, 1)), data_format=fmt, name="conv7_pad")(x)
    x = cbr(x, cfg.filters[6], (cfg.image_height // 16, 2), "conv7", "valid")
    if fmt == "channels_first":
        x = L.Permute((2, 3, 1), name="conv7_to_nhwc")(x)
    x = L.Reshape((cfg.time_steps, cfg.filters[6]), name="map_to_sequence")(x)
    rnn_kwargs = {"keras": {}, "unroll": {"unroll": True}, "impl1": {"implementation": 1}}
    for i in range(cfg.rnn_layers):
        if v.rnn == "hoisted":
            x = _hoisted_bilstm_class()(cfg.rnn_units, name=f"bilstm{i + 1}")(x)
            continue
        cell = L.LSTM(
            cfg.rnn_units, return_sequences=True, name=f"lstm{i + 1}", **rnn_kwargs[v.rnn]
        )
        x = L.Bidirectional(cell, name=f"bilstm{i + 1}")(x)
    logits = L.Dense(NUM_CLASSES, dtype="float32", name="logits")(x)
    model = keras.Model(inputs, logits, name="crnn_variant")
    if model.count_params() != reference.count_params():
        raise RuntimeError(
            "build_variant no longer matches crnn_ctc.model.build_crnn: "
            f"{model.count_params()} vs {reference.count_params()} parameters"
        )
    return model


def build_plain_keras(cfg):
    """What a plain Keras user writes: keras.Sequential, same layers as build_crnn."""
    import keras

    from crnn_ctc import model as crnn_model

    L = keras.layers
    reference = crnn_model.build_crnn(cfg, NUM_CLASSES)
    ref_bn = next(ly for ly in reference.layers if isinstance(ly, L.BatchNormalization))
    bn_kw = {"momentum": ref_bn.momentum, "epsilon": ref_bn.epsilon}
    layers, pools = [keras.Input((cfg.image_height, cfg.image_width, 3))], _pools()
    for i, f in enumerate(cfg.filters[:6]):
        layers += [
            L.Conv2D(f, 3, padding="same", use_bias=False),
            L.BatchNormalization(**bn_kw),
            L.ReLU(),
        ]
        if i in pools:
            layers.append(L.MaxPool2D(pools[i], strides=pools[i]))
    layers += [
        L.ZeroPadding2D(((0, 0), (0, 1))),
        L.Conv2D(cfg.filters[6], (cfg.image_height // 16, 2), use_bias=False),
        L.BatchNormalization(**bn_kw),
        L.ReLU(),
        L.Reshape((cfg.time_steps, cfg.filters[6])),
    ]
    for _ in range(cfg.rnn_layers):
        layers.append(L.Bidirectional(L.LSTM(cfg.rnn_units, return_sequences=True)))
    layers.append(L.Dense(NUM_CLASSES))
    return keras.Sequential(layers, name="plain_crnn")


def count_flops(model) -> dict:
    """Analytic forward multiply-adds per image by part, and training FLOPs per image."""
    import keras

    macs = {"cnn": 0, "rnn": 0, "logits": 0}
    first_conv = None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, oh, ow, _ = layer.output.shape
            n = oh * ow * kh * kw * cin * cout
            macs["cnn"] += n
            first_conv = n if first_conv is None else first_conv
        elif isinstance(layer, keras.layers.Bidirectional):
            _, steps, d = layer.input.shape
            units = layer.forward_layer.units
            macs["rnn"] += 2 * steps * 4 * units * (d + units)
        elif isinstance(layer, keras.layers.Dense):
            _, steps, d = layer.input.shape
            macs["logits"] += steps * d * layer.units
    fwd = sum(macs.values())
    train = 2 * (3 * fwd - first_conv)  # FLOPs: no input gradient for the first conv
    return {
        "forward_gflop_per_image": 2 * fwd / 1e9,
        "train_gflop_per_image": train / 1e9,
        "forward_gflop_split": {k: 2 * v / 1e9 for k, v in macs.items()},
    }


# -- losses -------------------------------------------------------------------------------------
def sparse_ctc_loss(labels, label_length, logits, blank_id: int):
    """crnn_ctc.losses.ctc_loss with the labels passed as a SparseTensor: the same feasibility
    guard (infeasible -> empty label, loss 0), then tf.nn.ctc_loss on the C++ CTCLoss kernel."""
    import tensorflow as tf

    from crnn_ctc import losses

    labels = tf.cast(labels, tf.int32)
    label_length = tf.cast(label_length, tf.int32)
    batch, steps = tf.shape(logits)[0], tf.shape(logits)[1]
    logit_length = tf.fill([batch], steps)
    feasible = losses.ctc_min_steps(labels, label_length) <= logit_length
    safe_length = tf.where(feasible, label_length, tf.zeros_like(label_length))
    idx = tf.where(tf.sequence_mask(safe_length, tf.shape(labels)[1]))
    sparse = tf.SparseTensor(idx, tf.gather_nd(labels, idx), tf.shape(labels, out_type=tf.int64))
    loss = tf.nn.ctc_loss(
        labels=sparse,
        logits=tf.cast(logits, tf.float32),
        label_length=None,
        logit_length=logit_length,
        logits_time_major=False,
        blank_index=blank_id,
    )
    return tf.where(feasible, loss, tf.zeros_like(loss)), feasible


def keras_ctc(y_true, y_pred):
    """keras.ops.ctc_loss on labels padded with -1 (the plain-Keras reference loss)."""
    from keras import ops

    y_true = ops.cast(y_true, "int32")
    valid = ops.greater_equal(y_true, 0)
    label_length = ops.sum(ops.cast(valid, "int32"), axis=1)
    labels = ops.where(valid, y_true, 0)
    shape = ops.shape(y_pred)
    logit_length = ops.full((shape[0],), shape[1], dtype="int32")
    return ops.ctc_loss(labels, y_pred, label_length, logit_length, mask_index=BLANK)


def make_batch(cfg, batch: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (batch, cfg.image_height, cfg.image_width, 3)).astype("float32")
    length = rng.integers(3, MAX_LABEL + 1, batch).astype("int32")
    labels = rng.integers(0, BLANK, (batch, MAX_LABEL)).astype("int32")
    labels[np.arange(MAX_LABEL)[None, :] >= length[:, None]] = -1  # -1 = padding
    return images, labels, length


# -- worker: one variant in this process --------------------------------------------------------
def _setup_tf(v: Variant):
    import tensorflow as tf

    intra, inter = v.intra, v.inter
    if os.environ.get("BENCH_THREADS"):  # --threads INTRA,INTER overrides the variant's
        intra, inter = (int(t) for t in os.environ["BENCH_THREADS"].split(","))
    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    import keras

    keras.config.set_dtype_policy(v.policy)
    keras.utils.set_random_seed(0)
    return tf, keras


def _make_step(tf, keras, model, v: Variant):
    from crnn_ctc import losses

    opt = keras.optimizers.Adam(1e-3)
    loss_fn = sparse_ctc_loss if v.labels == "sparse" else losses.ctc_loss

    @tf.function(jit_compile=v.jit)
    def step(images, labels, length):
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            per_example, _ = loss_fn(labels, length, logits, BLANK)
            loss = tf.reduce_mean(per_example)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


def _probe_gflops(tf) -> float:
    """GFLOP/s of a fixed fp32 matmul chain (1024^2 x 8, ~0.1 s): shows how fast this process's
    cores were when the run started (host turbo, noisy neighbours), independent of the model."""
    a = tf.random.normal((1024, 1024))
    b = tf.random.normal((1024, 1024)) / 32.0

    @tf.function
    def chain(c):
        for _ in range(8):
            c = tf.linalg.matmul(c, b)
        return c

    chain(a).numpy()
    rates = []
    for _ in range(5):
        t = time.perf_counter()
        chain(a).numpy()
        rates.append(2 * 1024**3 * 8 / (time.perf_counter() - t) / 1e9)
    return round(statistics.median(rates), 1)


def run_variant(name: str, preset: str, batch: int, steps: int, warmup: int, seed: int) -> dict:
    v = VARIANTS[name]
    tf, keras = _setup_tf(v)
    probe = _probe_gflops(tf)
    from crnn_ctc import config
    from crnn_ctc import model as crnn_model

    cfg = config.preset(preset)
    images, labels, length = make_batch(cfg, batch, seed)
    t_build = time.perf_counter()
    times, foreign, steal, loss_values = [], [], [], []
    jit = v.jit

    def timed_steps(run_step) -> float:
        """Runs warmup + steps steps, records the timed ones; returns the first step's time."""
        first = 0.0
        for i in range(warmup + steps):
            a = _cpu_snapshot()
            loss = run_step()
            b = _cpu_snapshot()
            if i == 0:
                first = b[0] - a[0]
            if i >= warmup:
                times.append(b[0] - a[0])
                f, s = _foreign(a, b)
                foreign.append(f)
                steal.append(s)
                loss_values.append(loss)
        return first

    if v.loop == "step":
        model = crnn_model.build_crnn(cfg, NUM_CLASSES) if v.ours else build_variant(cfg, v)
        step = _make_step(tf, keras, model, v)
        x, y, n = tf.constant(images), tf.constant(labels), tf.constant(length)
        first_step_s = timed_steps(lambda: float(step(x, y, n).numpy()))
    else:
        model = build_plain_keras(cfg)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras_ctc)
        jit = bool(model.jit_compile)
        if v.loop == "train_on_batch":
            first_step_s = timed_steps(lambda: float(model.train_on_batch(images, labels)))
        else:  # fit: per-batch time between consecutive on_train_batch_end calls
            snaps, losses_seen = [], []

            class Clock(keras.callbacks.Callback):
                def on_train_begin(self, logs=None):
                    snaps.append(_cpu_snapshot())

                def on_train_batch_end(self, batch_index, logs=None):
                    snaps.append(_cpu_snapshot())
                    losses_seen.append(logs.get("loss") if logs else None)

            data = tf.data.Dataset.from_tensors((images, labels)).repeat()
            model.fit(
                data, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[Clock()]
            )
            first_step_s = snaps[1][0] - snaps[0][0]
            for i in range(warmup, warmup + steps):
                a, b = snaps[i], snaps[i + 1]
                times.append(b[0] - a[0])
                f, s = _foreign(a, b)
                foreign.append(f)
                steal.append(s)
                loss_values.append(float(losses_seen[i]) if losses_seen[i] is not None else None)
    return {
        "variant": name,
        "preset": preset,
        "batch": batch,
        "params": int(model.count_params()),
        "jit_compile": jit,
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "probe_gflops": probe,
        "build_and_first_step_s": round(time.perf_counter() - t_build - sum(times), 2),
        "first_step_s": round(first_step_s, 3),
        "step_s": [round(t, 4) for t in times],
        "foreign": [round(f, 3) for f in foreign],
        "steal": [round(s, 3) for s in steal],
        "loss_first_last": [loss_values[0], loss_values[-1]],
        **count_flops(crnn_model.build_crnn(cfg, NUM_CLASSES)),
    }


# -- worker: in-process A/B ---------------------------------------------------------------------
def run_ab(names: list[str], preset: str, batch: int, steps: int, warmup: int, seed: int) -> dict:
    """Variants that need no environment, thread or dtype-policy change, in one process with the
    same initial weights, their steps interleaved (ABC CBA ABC ...): no run-to-run noise."""
    variants = [VARIANTS[n] for n in names]
    for n, v in zip(names, variants, strict=True):
        if v.env or v.intra or v.inter or v.loop != "step" or v.policy != "float32":
            raise SystemExit(f"--mode ab: {n} needs its own process (env, threads, fit or policy)")
    tf, keras = _setup_tf(variants[0])
    from crnn_ctc import config
    from crnn_ctc import model as crnn_model

    cfg = config.preset(preset)
    x, y, n = (tf.constant(a) for a in make_batch(cfg, batch, seed))
    reference = crnn_model.build_crnn(cfg, NUM_CLASSES)
    step_fns = {}
    for name, v in zip(names, variants, strict=True):
        model = crnn_model.build_crnn(cfg, NUM_CLASSES) if v.ours else build_variant(cfg, v)
        if v.rnn != "hoisted":  # same weights; the hoisted BiLSTM lays them out differently
            model.set_weights(reference.get_weights())
        step_fns[name] = _make_step(tf, keras, model, v)
        for _ in range(warmup):
            step_fns[name](x, y, n).numpy()
    times = {k: [] for k in names}
    foreign = {k: [] for k in names}
    for i in range(steps):
        for name in names if i % 2 == 0 else names[::-1]:
            a = _cpu_snapshot()
            step_fns[name](x, y, n).numpy()
            b = _cpu_snapshot()
            times[name].append(b[0] - a[0])
            foreign[name].append(_foreign(a, b)[0])
    out = {}
    for name in names:
        clean = [t for t, f in zip(times[name], foreign[name], strict=True) if f < CLEAN_FOREIGN]
        out[name] = {
            "img_s_median": round(batch / statistics.median(times[name]), 2),
            "img_s_clean": (
                round(batch / statistics.median(clean), 2) if len(clean) >= 3 else None
            ),
            "clean_steps": len(clean),
            "step_s": [round(t, 4) for t in times[name]],
        }
    first = out[names[0]]
    for name in names:
        out[name]["vs_first"] = round(out[name]["img_s_median"] / first["img_s_median"], 3)
        if out[name]["img_s_clean"] and first["img_s_clean"]:
            out[name]["vs_first_clean"] = round(out[name]["img_s_clean"] / first["img_s_clean"], 3)
    return {
        "preset": preset,
        "batch": batch,
        "steps": steps,
        "warmup": warmup,
        "variants": out,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


# -- worker: profile ----------------------------------------------------------------------------
_CONTROL_OPS = {
    "While",
    "StatelessWhile",
    "PartitionedCall",
    "StatefulPartitionedCall",
    "If",
    "StatelessIf",
    "Case",
    "_Recv",
    "_Send",
    "NoOp",
    "Identity",
    "_Arg",
    "_Retval",
}


_SCOPES = (  # (category, regex on one component of the op name), first match wins
    ("adam", re.compile(r"^adam")),
    ("ctc", re.compile(r"ctc")),
    ("rnn", re.compile(r"^(bi)?(lstm|gru)\d|^(forward|backward)_(lstm|gru)")),
    ("logits_dense", re.compile(r"^logits")),
    ("cnn_bn", re.compile(r"^conv\d+_bn")),
    ("cnn", re.compile(r"^(conv\d+|pool\d+|conv7_pad|map_to_sequence)")),
)


_LAYER = re.compile(r"/(conv\d+|pool\d+)")


def _category(op_name: str, op_type: str) -> str:
    """Which part of the model an op belongs to, from the layer names in its name."""
    for part in op_name.lower().split("/"):
        for cat, pattern in _SCOPES:
            if pattern.search(part):
                if cat == "cnn":
                    return "cnn_conv" if "Conv2D" in op_type else "cnn_relu_pool_pad"
                return cat
    return "other"


def _xplane_split(logdir: str, nsteps: int) -> dict:
    """Per-category sum of TensorFlow op execution times (ms per step) from an XPlane trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    total, by_type, by_layer, ops = {}, {}, {}, 0
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        meta = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = meta[event.metadata_id].name
                if ":" not in name.replace("::", ""):
                    continue  # executor / threadpool events, not ops
                op_name, op_type = name.rsplit(":", 1)
                if op_type in _CONTROL_OPS or op_name.endswith(":"):
                    continue
                ms = event.duration_ps / 1e9 / nsteps
                cat = _category(op_name, op_type)
                total[cat] = total.get(cat, 0.0) + ms
                by_type[op_type] = by_type.get(op_type, 0.0) + ms
                layer = _LAYER.search(op_name)
                if layer and cat.startswith("cnn"):
                    key = layer.group(1)
                    by_layer[key] = by_layer.get(key, 0.0) + ms
                ops += 1
    s = sum(total.values())
    return {
        "op_ms_per_step": {k: round(v, 1) for k, v in sorted(total.items(), key=lambda kv: -kv[1])},
        "op_share": {k: round(v / s, 3) for k, v in sorted(total.items(), key=lambda kv: -kv[1])},
        "top_op_types_ms_per_step": {
            k: round(v, 1) for k, v in sorted(by_type.items(), key=lambda kv: -kv[1])[:12]
        },
        "cnn_ms_per_step_by_layer": {k: round(v, 1) for k, v in sorted(by_layer.items())},
        "ops_per_step": round(ops / nsteps),
    }


def run_profile(name: str, preset: str, batch: int, steps: int, warmup: int, seed: int) -> dict:
    """(1) XPlane trace of the variant's step, op time by category; (2) isolated parts at the
    same batch, interleaved: CNN fwd+bwd+Adam on its variables, BiLSTMs+logits fwd+bwd+Adam on
    fixed features, CTC fwd+bwd w.r.t. fixed logits (dense and sparse labels), Adam alone."""
    v = VARIANTS[name]
    tf, keras = _setup_tf(v)
    from crnn_ctc import config, losses
    from crnn_ctc import model as crnn_model

    cfg = config.preset(preset)
    images, labels, length = make_batch(cfg, batch, seed)
    x, y, n = tf.constant(images), tf.constant(labels), tf.constant(length)
    model = crnn_model.build_crnn(cfg, NUM_CLASSES) if v.ours else build_variant(cfg, v)
    full = _make_step(tf, keras, model, v)
    for _ in range(warmup):
        full(x, y, n).numpy()
    logdir = tempfile.mkdtemp(prefix="crnn_prof_")
    traced = 2
    tf.profiler.experimental.start(logdir)
    t0 = time.perf_counter()
    for _ in range(traced):
        full(x, y, n).numpy()
    traced_wall = (time.perf_counter() - t0) / traced
    tf.profiler.experimental.stop()
    split = _xplane_split(logdir, traced)

    # isolated parts; the same layer objects as the full model
    seq = model.get_layer("map_to_sequence")
    cnn = keras.Model(model.input, seq.output)
    feats_in = keras.Input(seq.output.shape[1:])
    h = feats_in
    after = model.layers[model.layers.index(seq) + 1 :]
    for layer in after:
        h = layer(h)
    rnn = keras.Model(feats_in, h)
    feats = tf.random.normal((batch, *seq.output.shape[1:]))
    cnn_grad = tf.random.normal(feats.shape)
    logits = tf.random.normal((batch, cfg.time_steps, NUM_CLASSES))
    opt_parts = {k: keras.optimizers.Adam(1e-3) for k in ("cnn", "rnn", "adam")}

    def fwd_bwd(sub, inp, key, loss_of):
        @tf.function
        def f():
            with tf.GradientTape() as tape:
                loss = loss_of(sub(inp, training=True))
            g = tape.gradient(loss, sub.trainable_variables)
            opt_parts[key].apply_gradients(zip(g, sub.trainable_variables, strict=True))
            return loss

        return f

    def ctc_part(fn):
        @tf.function
        def f():
            with tf.GradientTape() as tape:
                tape.watch(logits)
                loss = tf.reduce_mean(fn(y, n, logits, BLANK)[0])
            return loss + tf.reduce_sum(tape.gradient(loss, logits))

        return f

    fixed_grads = [tf.random.normal(w.shape) * 1e-3 for w in model.trainable_variables]

    @tf.function
    def adam_only():
        opt_parts["adam"].apply_gradients(zip(fixed_grads, model.trainable_variables, strict=True))
        return tf.constant(0.0)

    parts = {
        "full_step": lambda: full(x, y, n),
        "cnn_fwd_bwd_adam": fwd_bwd(cnn, x, "cnn", lambda o: tf.reduce_sum(o * cnn_grad)),
        "rnn_logits_fwd_bwd_adam": fwd_bwd(
            rnn, feats, "rnn", lambda o: tf.reduce_mean(tf.square(o))
        ),
        "ctc_dense_fwd_bwd": ctc_part(losses.ctc_loss),
        "ctc_sparse_fwd_bwd": ctc_part(sparse_ctc_loss),
        "adam_apply_all_vars": adam_only,
    }
    times = {k: [] for k in parts}
    for fn in parts.values():
        for _ in range(2):
            fn().numpy()
    for _ in range(steps):
        for k, fn in parts.items():
            t = time.perf_counter()
            fn().numpy()
            times[k].append(time.perf_counter() - t)
    ms = {k: round(1000 * statistics.median(t), 1) for k, t in times.items()}
    sum_parts = (
        ms["cnn_fwd_bwd_adam"]
        + ms["rnn_logits_fwd_bwd_adam"]
        + ms["ctc_dense_fwd_bwd" if v.labels == "dense" else "ctc_sparse_fwd_bwd"]
    )
    return {
        "variant": name,
        "preset": preset,
        "batch": batch,
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "xplane": {
            "traced_steps": traced,
            "traced_step_wall_ms": round(1000 * traced_wall, 1),
            **split,
        },
        "isolated_parts_ms_median": ms,
        "isolated_parts_ms_all": {k: [round(1000 * t, 1) for t in v] for k, v in times.items()},
        "sum_cnn_rnn_ctc_ms": round(sum_parts, 1),
        **count_flops(crnn_model.build_crnn(cfg, NUM_CLASSES)),
    }


# -- worker: roofline ---------------------------------------------------------------------------
def run_peak(repeats: int) -> dict:
    """Sustained GFLOP/s of dense kernels, each a chain of 10 dependent ops in one tf.function
    (the chain keeps grappler from merging them): n x n matmuls (tf.linalg.matmul, oneDNN), a
    conv6-shaped 3x3 512->512 convolution on (64, 4, 25, 512), and, NOT fp32, the bf16 matmul."""
    import numpy as np
    import tensorflow as tf

    chain = 10

    def timed(fn, arg, flop):
        fn(arg).numpy()
        runs, foreign = [], []
        for _ in range(repeats):
            s0 = _cpu_snapshot()
            fn(arg).numpy()
            s1 = _cpu_snapshot()
            runs.append(flop / (s1[0] - s0[0]) / 1e9)
            foreign.append(round(_foreign(s0, s1)[0], 3))
        return {
            "gflops": [round(r, 1) for r in runs],
            "foreign": foreign,
            "gflops_median": round(statistics.median(runs), 1),
        }

    out = {}
    for n, dtype in ((2048, tf.float32), (4096, tf.float32), (2048, tf.bfloat16)):
        b = tf.cast(tf.random.normal((n, n)) / float(np.sqrt(n)), dtype)

        @tf.function
        def mm(c, b=b):
            for _ in range(chain):
                c = tf.linalg.matmul(c, b)
            return c

        key = f"matmul_{n}_fp32" if dtype == tf.float32 else f"NOT_FP32_matmul_{n}_bf16"
        out[key] = timed(mm, tf.cast(tf.random.normal((n, n)), dtype), 2 * n**3 * chain)
    for dtype in (tf.float32, tf.bfloat16):
        w = tf.cast(tf.random.normal((3, 3, 512, 512)) / float(np.sqrt(9 * 512)), dtype)

        @tf.function
        def conv(x, w=w):
            for _ in range(chain):
                x = tf.nn.conv2d(x, w, 1, "SAME")
            return x

        key = "conv3x3_512_64x4x25_fp32" if dtype == tf.float32 else "NOT_FP32_conv3x3_bf16"
        out[key] = timed(
            conv,
            tf.cast(tf.random.normal((64, 4, 25, 512)), dtype),
            2 * 64 * 100 * 9 * 512 * 512 * chain,
        )
    x = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    np_runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        x @ x
        np_runs.append(2 * 2048**3 / (time.perf_counter() - t) / 1e9)
    out["numpy_matmul_2048_fp32"] = {"gflops_median": round(statistics.median(np_runs), 1)}
    return out


# -- parent -------------------------------------------------------------------------------------
def _worker_args(flag: str, value: str, args) -> list[str]:
    """Command line of a worker subprocess: its role flag plus the shared run settings."""
    return [
        flag,
        value,
        "--preset",
        args.preset,
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--seed",
        str(args.seed),
    ]


def _subprocess(args: list[str], env_extra=(), threads: str = "") -> dict:
    env = dict(os.environ)
    if threads:
        env["BENCH_THREADS"] = threads
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update(dict(env_extra))
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"worker {args} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _machine() -> dict:
    import importlib.metadata as md

    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    versions = {}
    for pkg in ("tensorflow", "keras", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": model,
        "cpus": NCPU,
        "python": platform.python_version(),
        **versions,
        "note": "shared machine: other processes run during the benchmark; see foreign",
    }


def _summarize(runs: list[dict], batch: int) -> dict:
    """Pooled statistics over every timed step of ``runs`` (subprocess results)."""
    steps = [t for r in runs for t in r["step_s"]]
    foreign = [f for r in runs for f in r["foreign"]]
    clean = [t for t, f in zip(steps, foreign, strict=True) if f < CLEAN_FOREIGN]
    img_s = batch / statistics.median(steps)
    return {
        "img_s_median": round(img_s, 2),
        "img_s_min": round(batch / max(steps), 2),
        "img_s_max": round(batch / min(steps), 2),
        "img_s_clean": round(batch / statistics.median(clean), 2) if len(clean) >= 3 else None,
        "clean_steps": len(clean),
        "timed_steps": len(steps),
        "runs": len(runs),
        "img_s_per_run": [round(batch / statistics.median(r["step_s"]), 2) for r in runs],
        "probe_gflops_per_run": [r.get("probe_gflops") for r in runs],
        "foreign_median": round(statistics.median(foreign), 3),
    }


_RUN_FIELDS = (
    "step_s",
    "foreign",
    "steal",
    "first_step_s",
    "probe_gflops",
    "loss_first_last",
    "build_and_first_step_s",
)


def _merge_out(path: str, update) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    update(data)
    data["machine"] = _machine()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def _log(msg: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def main_bench(args) -> None:
    names = [s for s in args.variants.split(",") if s]
    if names == ["all"]:
        names = list(VARIANTS)
    unknown = [s for s in names if s not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; --list shows them")
    if "baseline" not in names:
        names.insert(0, "baseline")
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    runs = {k: [] for k in names}
    for r in range(args.repeats):
        for name in names:
            load = _wait_idle(args.wait_idle)
            _log(f"repeat {r + 1}/{args.repeats} {args.preset}/{name} (others before: {load:.2f})")
            res = _subprocess(
                _worker_args("--worker", name, args),
                VARIANTS[name].env,
                args.threads,
            )
            res["invocation"] = stamp
            runs[name].append(res)
            _log(
                f"  {args.batch / statistics.median(res['step_s']):.1f} img/s, foreign "
                f"{statistics.median(res['foreign']):.2f}, probe {res['probe_gflops']} GFLOP/s"
            )
    base = _summarize(runs["baseline"], args.batch)
    records = {}
    for name in names:
        now = _summarize(runs[name], args.batch)
        first = runs[name][0]
        inv = {
            "invocation": stamp,
            "img_s_median": now["img_s_median"],
            "baseline_img_s_median": base["img_s_median"],
            "vs_baseline": round(now["img_s_median"] / base["img_s_median"], 3),
            "img_s_clean": now["img_s_clean"],
            "baseline_img_s_clean": base["img_s_clean"],
            "vs_baseline_clean": (
                round(now["img_s_clean"] / base["img_s_clean"], 3)
                if now["img_s_clean"] and base["img_s_clean"]
                else None
            ),
        }
        key = f"{args.preset}/{name}" + (f"@threads={args.threads}" if args.threads else "")
        records[key] = {
            "variant": name,
            "preset": args.preset,
            "batch": args.batch,
            "fp32": VARIANTS[name].fp32,
            "what": VARIANTS[name].help,
            "env": dict(VARIANTS[name].env),
            "threads_override": args.threads or None,
            "params": first["params"],
            "train_gflop_per_image": round(first["train_gflop_per_image"], 3),
            "jit_compile": first["jit_compile"],
            "intra_op": first["intra_op"],
            "inter_op": first["inter_op"],
            "steps": args.steps,
            "warmup": args.warmup,
            "by_invocation": [inv],
            "run_data": [{k: r[k] for k in (*_RUN_FIELDS, "invocation")} for r in runs[name]],
        }

    def merge(data):
        table = data.setdefault("variants", {})
        for key, rec in records.items():
            old = table.get(key)
            if old and not args.fresh and old.get("batch") == rec["batch"]:
                rec["by_invocation"] = old["by_invocation"] + rec["by_invocation"]
                rec["run_data"] = old["run_data"] + rec["run_data"]
            table[key] = rec

    if args.out:
        _merge_out(args.out, merge)
    else:
        merge({})
    for key, rec in records.items():
        _pool(rec)
        print(json.dumps(_brief(key, rec)), flush=True)
    if args.out:  # write the pooled summaries too
        _merge_out(args.out, lambda d: d["variants"].update(records))


def _pool(rec: dict) -> dict:
    """(Re)compute a record's pooled statistics from its run_data and by_invocation."""
    rec.update(_summarize(rec["run_data"], rec["batch"]))
    rec["vs_baseline"] = round(statistics.median(i["vs_baseline"] for i in rec["by_invocation"]), 3)
    rec["achieved_gflops"] = round(rec["img_s_median"] * rec["train_gflop_per_image"], 1)
    return rec


def _brief(key: str, rec: dict) -> dict:
    return {"key": key, **{k: v for k, v in rec.items() if k not in ("run_data", "what")}}


def main_table(args) -> None:
    """Re-pool every stored variant in --out and print one JSON line each (no runs)."""
    with open(args.out) as f:
        table = json.load(f).get("variants", {})
    for key, rec in table.items():
        _pool(rec)
        print(json.dumps(_brief(key, rec)), flush=True)
    _merge_out(args.out, lambda d: d["variants"].update(table))


def main_profile(args) -> None:
    names = [s for s in args.variants.split(",") if s] or ["baseline"]
    results = {}
    for name in names:
        _wait_idle(args.wait_idle)
        _log(f"profile {args.preset}/{name}")
        res = _subprocess(
            _worker_args("--profile_worker", name, args),
            VARIANTS[name].env,
            args.threads,
        )
        key = f"{args.preset}/{name}" + (f"@threads={args.threads}" if args.threads else "")
        results[key] = res
        print(
            json.dumps({k: v for k, v in res.items() if k != "isolated_parts_ms_all"}), flush=True
        )
    if args.out:
        _merge_out(args.out, lambda d: d.setdefault("profile", {}).update(results))


def main_ab(args) -> None:
    names = [s for s in args.variants.split(",") if s]
    if names[0] != "baseline":
        names.insert(0, "baseline")
    _wait_idle(args.wait_idle)
    _log(f"A/B in one process: {', '.join(names)}")
    res = _subprocess(
        _worker_args("--ab_worker", ",".join(names), args),
        (),
        args.threads,
    )
    brief = {k: {m: x for m, x in v.items() if m != "step_s"} for k, v in res["variants"].items()}
    print(json.dumps({**res, "variants": brief}), flush=True)
    if args.out:
        key = f"{args.preset}/{','.join(names)}" + (
            f"@threads={args.threads}" if args.threads else ""
        )
        _merge_out(args.out, lambda d: d.setdefault("ab", {}).setdefault(key, []).append(res))


def main_roofline(args) -> None:
    from crnn_ctc import config  # noqa: F401  (fails early outside the repo)

    res = {}
    for label, env in (("default", ()), ("bf16_fpmath_env", _ONEDNN_BF16)):
        _wait_idle(args.wait_idle)
        _log(f"peak kernels, env {label}")
        res[label] = _subprocess(["--peak_worker"], env)
    flops = _subprocess(["--flops_worker", "--preset", args.preset])
    fp32 = {
        k: v["gflops_median"]
        for k, v in res["default"].items()
        if k.endswith("fp32") and not k.startswith("NOT_FP32")
    }
    peak = max(fp32.values())
    per_img = flops["train_gflop_per_image"]
    out = {
        "preset": args.preset,
        "kernels": res,
        "fp32_peak_measured_gflops": round(peak, 1),
        "fp32_peak_from": max(fp32, key=fp32.get),
        **flops,
        "ceiling_img_s_at_fp32_peak": round(peak / per_img, 1),
        "gflops_needed_for_110_img_s": round(110 * per_img, 1),
        "x_fp32_peak_needed_for_110_img_s": round(110 * per_img / peak, 2),
        "note": "ceiling = every training FLOP at the best measured dense-kernel rate; "
        "memory-bound ops (batch norm, ReLU, pooling, LSTM gates) make it unreachable",
    }
    print(json.dumps(out), flush=True)
    if args.out:
        _merge_out(args.out, lambda d: d.setdefault("roofline", {}).update({args.preset: out}))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--mode",
        choices=("bench", "ab", "profile", "roofline", "table"),
        default="bench",
        help="table: print the stored results of --out",
    )
    p.add_argument(
        "--variants",
        default=None,
        help=f"comma-separated, or all (default bench: {DEFAULT_VARIANTS}; profile: baseline)",
    )
    p.add_argument("--preset", default="paper")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=8, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per run")
    p.add_argument("--repeats", type=int, default=3, help="runs (subprocesses) per variant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        default="",
        help="INTRA,INTER: override every variant's TensorFlow thread counts "
        "(e.g. 2,1 makes profile op times add up to the step time)",
    )
    p.add_argument(
        "--wait_idle",
        type=float,
        default=20.0,
        help="before each run, wait up to this many s for a quiet machine",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help="JSON file to merge results into ('' = no)")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="replace, instead of pool with, earlier runs of the same variants in --out",
    )
    p.add_argument("--list", action="store_true", help="list the variants and exit")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--profile_worker", help=argparse.SUPPRESS)
    p.add_argument("--ab_worker", help=argparse.SUPPRESS)
    p.add_argument("--peak_worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--flops_worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.list:
        for name, v in VARIANTS.items():
            print(f"{name:22s} {'' if v.fp32 else '[NOT fp32] '}{v.help}")
        return
    worker_args = (args.preset, args.batch, args.steps, args.warmup, args.seed)
    if args.worker:
        print(json.dumps(run_variant(args.worker, *worker_args)))
    elif args.ab_worker:
        print(json.dumps(run_ab(args.ab_worker.split(","), *worker_args)))
    elif args.profile_worker:
        print(json.dumps(run_profile(args.profile_worker, *worker_args)))
    elif args.peak_worker:
        print(json.dumps(run_peak(repeats=5)))
    elif args.flops_worker:
        from crnn_ctc import config
        from crnn_ctc import model as crnn_model

        model = crnn_model.build_crnn(config.preset(args.preset), NUM_CLASSES)
        print(json.dumps({"params": model.count_params(), **count_flops(model)}))
    else:
        if args.variants is None:
            args.variants = {
                "bench": DEFAULT_VARIANTS,
                "ab": "baseline,sparse,fused_bn,sparse_fused_bn",
            }.get(args.mode, "baseline")
        modes = {
            "bench": main_bench,
            "ab": main_ab,
            "profile": main_profile,
            "roofline": main_roofline,
            "table": main_table,
        }
        modes[args.mode](args)


if __name__ == "__main__":
    main()
