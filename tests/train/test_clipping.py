"""Gradient clipping under tf.distribute: the clip applies to the all-reduced gradient of the
global batch, so 2 replicas and 1 device reach the same weights."""

import json
import os
import subprocess
import sys

import numpy as np

from tests.conftest import ROOT

# One process per strategy: logical CPU devices must be set before TensorFlow starts.
SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
replicas, out = int(sys.argv[1]), sys.argv[2]
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from crnn_ctc.model import crnn
from crnn_ctc.train import config, loop, optimizer, presets

# A clip far below the gradient norm, with a norm per weight below Adam's epsilon (1e-7), so
# the update is proportional to the clipped gradient (Adam is otherwise scale-invariant).
cfg = config.override(presets.get("small"), {"batch_size": 8, "clip_norm": 1e-5,
                                              "warmup_steps": 0, "lr_schedule": "constant"})
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
image = rng.uniform(-1, 1, (1, 32, 100, 3)).astype(np.float32)
# Identical examples: batch-norm statistics of 4 images per replica equal those of all 8.
batch = {"image": np.repeat(image, 8, 0), "labels": np.tile([[3, 1, 4] + [-1] * 22], (8, 1)),
         "label_length": np.full(8, 3, np.int32)}
batch["labels"] = batch["labels"].astype(np.int32)
strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if replicas == 2
            else tf.distribute.OneDeviceStrategy("/cpu:0"))
with strategy.scope():
    keras.utils.set_random_seed(1)
    model = crnn.build_crnn(cfg, 37)
    opt = optimizer.make_optimizer(cfg, 100, mixed=False)
    opt.build(model.trainable_variables)
ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch).repeat())
step = loop.make_train_step(strategy, model, opt, cfg, 36, mixed=False)
it = iter(ds)
start = [v.numpy() for v in model.trainable_variables]
for _ in range(3):
    step(it)
np.savez(out, *[v.numpy() - s for v, s in zip(model.trainable_variables, start)])
print(json.dumps({"replicas": strategy.num_replicas_in_sync}))
"""


def updates(tmp_path, replicas):
    out = str(tmp_path / f"r{replicas}.npz")
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(replicas), out], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.splitlines()[-1])["replicas"] == replicas
    with np.load(out) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def test_clip_applies_to_the_global_gradient(tmp_path):
    one, two = updates(tmp_path, 1), updates(tmp_path, 2)
    biggest = max(float(np.abs(u).max()) for u in one)
    assert biggest > 1e-5  # the steps moved the weights
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=biggest * 1e-3)
