"""Worker processes on 127.0.0.1 with MultiWorkerMirroredStrategy (CPU, TF_CONFIG): they read
a partition of the records, train together and end with the same weights."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import ROOT, WORDS, convert_words


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tensors(ckpt_dir, step):
    """Every variable of checkpoint ckpt-<step> (model weights, BN statistics, Adam slots)."""
    reader = tf.train.load_checkpoint(os.path.join(ckpt_dir, f"ckpt-{step}"))
    skip = ("_CHECKPOINTABLE_OBJECT_GRAPH", "best/", "save_counter/")  # chief-only saves
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
            if not n.startswith(skip)}


def run_workers(argv, n=2, env=None):
    """Runs ``argv`` as the ``n`` workers of a TF_CONFIG cluster on 127.0.0.1 -> their
    outputs."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(n)]}
    procs = []
    for index in range(n):
        task_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {}),
                    "TF_CONFIG": json.dumps({"cluster": cluster,
                                             "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, cwd=ROOT, env=task_env))
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=300)[0])
    finally:
        for p in procs:
            p.kill()
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-4000:]
    return outputs


def train_two_workers(data, run, *flags, env=None):
    """Runs train_crnn_ctc.py as 2 workers -> the chief's output."""
    chief, _ = run_workers([sys.executable, os.path.join(ROOT, "tools", "train_crnn_ctc.py"),
                            "--data_dir", data, "--model_dir", run, *flags], env=env)
    assert "num_workers = 2" in chief, chief[-4000:]
    return chief


# One worker of a cluster: the training loop's own distributed input (loop.train_dataset, the
# strategy's input contexts, training mode with augmentation), one epoch of its share printed.
READ_SHARE = """
import sys
import tensorflow as tf
from crnn_ctc.train import config, loop, presets
data, n = sys.argv[1], int(sys.argv[2])
strategy = tf.distribute.MultiWorkerMirroredStrategy()
cfg = config.override(presets.small(), {"batch_size": 2 * strategy.num_replicas_in_sync,
                                        "shuffle_buffer": 64, "augment": True})
texts = []
for batch in loop.train_dataset(strategy, cfg, data, seed=3):
    for local in strategy.experimental_local_results(batch["text"]):
        texts += [t.decode() for t in local.numpy()]
    if len(texts) >= n:
        break
print("WORKER", strategy.cluster_resolver.task_id, strategy.num_replicas_in_sync, *texts)
"""


@pytest.mark.parametrize("workers,files", [(2, 1), (3, 2)])
def test_workers_read_a_partition_of_the_records(tmp_path, workers, files):
    """Fewer shard files than workers: in a real cluster, the first epoch of each worker's
    training input (shuffled, augmented, files interleaved in parallel) is its 1/n of the
    records, and the shares are disjoint and together all of them: no record read twice, none
    missed."""
    words = [f"w{i:02d}" for i in range(12)]
    share = len(words) // workers
    data = convert_words(tmp_path, words, num_shards=files)
    # 3 epochs: the parallel, non-deterministic map may move a record across an epoch boundary,
    # so the first epoch's worth is not exactly one epoch; the records a worker ever sees are.
    outputs = run_workers([sys.executable, "-c", READ_SHARE, data, str(3 * share)], workers)
    shares = {}
    for out in outputs:
        line = next(x for x in out.splitlines() if x.startswith("WORKER "))
        _, task, replicas, *texts = line.split()
        assert replicas == str(workers) and len(texts) == 3 * share, line
        shares[task] = set(texts)
    assert sorted(shares) == [str(i) for i in range(workers)]
    assert all(len(s) == share for s in shares.values()), shares  # its own 1/n, no other
    seen = [t for texts in shares.values() for t in texts]
    assert sorted(seen) == words, shares  # each record in exactly one worker's share


def test_two_workers_train_together_and_agree(tmp_path):
    data = convert_words(tmp_path, WORDS, validation=0.25, num_shards=2)
    run = str(tmp_path / "run")
    train_two_workers(data, run, "--preset", "small", "--batch_size", "8",
                      "--max_train_steps", "6", "--eval_every", "6", "--log_every", "3",
                      "--warmup_steps", "1", "--save_every", "3")

    ckpts = {"chief": os.path.join(run, "ckpt"),
             "worker-1": os.path.join(run, "workers", "worker-1", "ckpt")}
    at = {(who, step): tensors(d, step) for who, d in ckpts.items() for step in (3, 6)}
    for step in (3, 6):
        chief, other = at["chief", step], at["worker-1", step]
        assert chief["step/.ATTRIBUTES/VARIABLE_VALUE"] == step
        assert chief.keys() == other.keys() and len(chief) > 100
        shared = [n for n in chief if "moving_" not in n]  # BN statistics stay per replica
        assert len(shared) > 100
        for name in shared:  # the same all-reduced gradients on both: same weights and slots
            np.testing.assert_allclose(chief[name], other[name], rtol=1e-5, atol=1e-6,
                                       err_msg=name)
    # Steps 4-6 changed the weights: the workers trained, they did not just agree at init.
    moved = [n for n in at["chief", 3] if n.startswith("optimizer/_trainable_variables/")
             and not np.array_equal(at["chief", 3][n], at["chief", 6][n])]
    assert len(moved) > 20
    # Only the chief writes TensorBoard events and the best checkpoint.
    assert os.path.isdir(os.path.join(run, "train")) and os.path.isdir(os.path.join(run, "best"))
    assert not os.path.exists(os.path.join(run, "workers", "worker-1", "train"))


def test_two_workers_clip_the_global_gradient_like_one_process(tmp_path):
    """4 identical records in ONE shard file: the 2 workers share its records (each keeps every
    2nd), and batch-norm statistics of 4 identical images equal those of 8, so 2 workers and 1
    process with the same global batch, seed and a clip that binds reach the same weights only
    if the clip applies to the all-reduced gradient (tests/train/test_clipping.py, in one
    process, is the unit version)."""
    data = convert_words(tmp_path, ["same"] * 4, num_shards=1)
    flags = ["--preset", "small", "--batch_size", "8", "--max_train_steps", "3",
             "--eval_every", "3", "--save_every", "3", "--log_every", "3", "--warmup_steps",
             "0", "--lr_schedule", "constant", "--clip_norm", "1e-5", "--seed", "5"]
    two, one = str(tmp_path / "two"), str(tmp_path / "one")
    # oneDNN blocks batches of 4 (per worker) and 8 (one process) differently: its round-off
    # (~3e-6) is above this comparison's tolerance; the clip under test does not depend on it.
    plain = {"TF_ENABLE_ONEDNN_OPTS": "0"}
    train_two_workers(data, two, *flags, env=plain)
    res = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train_crnn_ctc.py"),
                          "--data_dir", data, "--model_dir", one, *flags], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **plain})
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = tensors(os.path.join(one, "ckpt"), 3), tensors(os.path.join(two, "ckpt"), 3)
    weights = [n for n in a if n.startswith("optimizer/_trainable_variables/")]
    assert len(weights) > 20
    slots = [n for n in a if n.startswith("optimizer/_variables/") and a[n].ndim > 0]
    assert any(np.abs(a[n]).max() > 0 for n in slots)  # gradients flowed: the weights moved
    for name in weights:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-4, atol=1e-6, err_msg=name)
