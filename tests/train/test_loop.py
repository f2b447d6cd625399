"""Training end to end: it learns, it resumes after SIGKILL, it refuses mismatched folders,
and the eval tool scores the result."""

import glob
import json
import os
import signal
import subprocess
import sys
import time
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from crnn_ctc.data import dataset_info, pipeline
from crnn_ctc.evaluate import report as eval_report
from crnn_ctc.train import config, loop, presets
from tests.conftest import ROOT, WORDS, convert_words, write_file

QUICK = {"batch_size": 8, "warmup_steps": 2, "log_every": 1, "eval_every": 1000,
         "save_every": 1000, "shuffle_buffer": 64}


def tool(name, *args, timeout=300):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", name), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def scalars(event_dir):
    """{tag: [values]} from the TensorBoard event files in event_dir."""
    out = {}
    for path in glob.glob(os.path.join(event_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                out.setdefault(v.tag, []).append(float(tf.make_ndarray(v.tensor)))
    return out


def test_small_model_overfits_32_words(words32, trained32):
    """The learning test: 200 steps of the small preset read all 32 training words back."""
    run = trained32.run
    assert trained32.result["step"] == 200
    report = eval_report.run(eval_report.EvalConfig(
        model_dir=run, checkpoint="latest", data_dir=words32, split="train",
        case_sensitive=True, alnum_only=False))
    metrics = report["sets"]["train"]["metrics"]
    assert metrics["count"] == 32
    assert metrics["word_accuracy"] == 1.0, report["sets"]["train"]["predictions"]
    logged = scalars(os.path.join(run, "train"))
    assert {"loss", "learning_rate", "images_per_second", "infeasible_labels"} <= set(logged)
    assert logged["loss"][-1] < 0.1 * logged["loss"][0]


@pytest.fixture(scope="module")
def split_data(tmp_path_factory):
    return convert_words(tmp_path_factory.mktemp("split"), WORDS, validation=0.25)


def test_killed_run_resumes_and_continues_its_step_count(split_data, tmp_path):
    run = str(tmp_path / "run")
    cmd = ["train_crnn_ctc.py", "--data_dir", split_data, "--model_dir", run, "--preset",
           "small", "--batch_size", "8", "--max_train_steps", "40", "--save_every", "3",
           "--eval_every", "10", "--log_every", "5", "--warmup_steps", "2"]
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", cmd[0]), *cmd[1:]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    state = os.path.join(run, "ckpt", "checkpoint")
    deadline = time.time() + 120
    while not os.path.exists(state) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # the moment a checkpoint is seen complete
    proc.wait()
    killed_at = int(tf.train.latest_checkpoint(os.path.join(run, "ckpt")).rsplit("-", 1)[1])
    assert 3 <= killed_at < 40

    again = tool(*cmd)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resumed from {run}/ckpt/ckpt-{killed_at} at step {killed_at}" in again.stderr
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(run, "ckpt")))
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 40
    # The logged steps after the restart continue from the checkpoint, not from 0.
    assert f"step {killed_at + (5 - killed_at % 5)}: loss" in again.stderr
    best = json.load(open(os.path.join(run, "best", "best.json")))
    assert best["step"] in (10, 20, 30, 40) and 0.0 <= best["word_accuracy"] <= 1.0
    assert {"word_accuracy", "cer"} <= set(scalars(os.path.join(run, "validation")))
    saved = json.load(open(os.path.join(run, "config.json")))
    assert saved["config"]["filters"] == list(presets.small().filters)
    assert saved["charset"]["symbols"] == sorted(set("".join(WORDS)))

    # Re-running a finished run trains nothing and keeps the step.
    done = tool(*cmd)
    assert done.returncode == 0 and "already at step 40 of 40" in done.stderr


def test_eval_tool_scores_folders_and_reports_bad_files(split_data, tmp_path):
    run = str(tmp_path / "run")
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 3, "eval_every": 3})
    loop.train(cfg, split_data, run)
    root = os.path.dirname(split_data)  # images/NNN.jpg and image_list.txt live here
    bench = tmp_path / "bench"
    for line in open(os.path.join(root, "image_list.txt")).read().splitlines()[:5]:
        write_file(bench / line.split()[0], open(os.path.join(root, line.split()[0]), "rb").read())
    write_file(bench / "broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    lines = open(os.path.join(root, "image_list.txt")).read().splitlines()[:5]
    anno = bench / "labels.txt"
    anno.write_text("\n".join(lines + ["broken.jpg word", "missing.jpg word", "/abs/x.jpg a"])
                    + "\n")
    out = tmp_path / "eval.json"
    res = tool("eval_crnn_ctc.py", "--model_dir", run, "--data_dir", split_data,
               "--anno_file", str(anno), "--beam_width", "4", "--output_json", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.load(open(out))
    assert set(report["sets"]) == {"validation", "bench"}
    bench = report["sets"]["bench"]
    assert bench["metrics"]["count"] == 5 and len(bench["predictions"]) == 5
    problems = "\n".join(bench["problems"])
    assert "broken.jpg: cannot decode" in problems and "no such image" in problems
    assert "line 8 '/abs/x.jpg': absolute_path" in problems
    assert report["protocol"] == {"case_sensitive": False, "alnum_only": True, "beam_width": 4,
                                  "tall_ratio": 1.25}
    assert "validation" in res.stdout and "total (micro)" in res.stdout
    assert report["total"]["count"] == 5 + report["sets"]["validation"]["metrics"]["count"]


def test_folders_that_disagree_are_refused(split_data, tmp_path, monkeypatch):
    run = str(tmp_path / "run")
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 1})
    loop.train(cfg, split_data, run)
    other = convert_words(tmp_path / "other", ["xyz", "zyx"])
    with pytest.raises(ValueError, match=r"charset mismatch: .*config.json .*other/tfrecords/"):
        loop.train(cfg, other, run)
    with pytest.raises(ValueError, match=r"holds a different model \(\{'rnn': \('lstm', 'gru'\)"):
        loop.train(config.override(cfg, {"rnn": "gru"}), split_data, run)
    with pytest.raises(ValueError, match="--image_width=128 but the records .* are 100"):
        loop.train(config.override(cfg, {"image_width": 128}), split_data,
                        str(tmp_path / "new"), explicit={"image_width"})
    # A global batch that does not split evenly over the replicas (3 here, faked).
    monkeypatch.setattr(loop, "make_strategy",
                        lambda: types.SimpleNamespace(num_replicas_in_sync=3))
    with pytest.raises(ValueError, match="--batch_size 8 must divide over 3 replicas"):
        loop.train(cfg, split_data, str(tmp_path / "three"))


def test_extending_a_run_does_not_raise_the_learning_rate(split_data, tmp_path):
    """A run of 6 steps (exponential decay), then the same command with --max_train_steps 12:
    the rate goes on down from where it ended instead of jumping back up the new curve."""
    run = str(tmp_path / "run")
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 6, "warmup_steps": 0,
                                            "lr_schedule": "exponential"})
    loop.train(cfg, split_data, run)
    loop.train(config.override(cfg, {"max_train_steps": 12}), split_data, run)
    by_step = {}  # two event files, one per run: order the values by step
    for path in glob.glob(os.path.join(run, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                if v.tag == "learning_rate":
                    by_step[event.step] = float(tf.make_ndarray(v.tensor))
    assert sorted(by_step) == list(range(1, 13))
    lr = [by_step[s] for s in sorted(by_step)]
    assert all(b <= a * (1 + 1e-6) for a, b in zip(lr[:-1], lr[1:], strict=True)), lr  # never up
    # The first run ended at the end rate (peak / 10), so the extension stays there.
    assert lr[5:] == pytest.approx([0.1 * cfg.learning_rate] * 7, rel=1e-5)


def test_infeasible_labels_are_counted_and_mixed_precision_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "DETERMINISTIC", True)  # each batch of 4 = one epoch
    data = convert_words(tmp_path, ["aaaaaaaaaa", "abc", "ab", "bca"], image_width=40,
                         max_label_length=30)  # 10 a's need 19 steps; 40 px gives 10
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 4, "batch_size": 4,
                                            "mixed_precision": "fp16"})
    try:
        result = loop.train(cfg, data, str(tmp_path / "run"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert result["step"] == 4
    logged = scalars(str(tmp_path / "run" / "train"))
    # 4 batches, each one shuffled epoch of the 4 records: the long word once in each.
    assert logged["infeasible_labels"] == [1.0, 1.0, 1.0, 1.0]
    assert all(v == v and v < float("inf") for v in logged["loss"])


def test_jit_compiled_step_trains(tmp_path):
    # The batch carries string fields (text, path) that an XLA-compiled step cannot take.
    data = convert_words(tmp_path, ["abc", "bca", "cab", "acb"])
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 2, "batch_size": 4,
                                            "jit_compile": True})
    result = loop.train(cfg, data, str(tmp_path / "run"))
    assert result["step"] == 2
    logged = scalars(str(tmp_path / "run" / "train"))
    assert all(v == v and v < float("inf") for v in logged["loss"])


def _weights(run, step):
    reader = tf.train.load_checkpoint(os.path.join(run, "ckpt", f"ckpt-{step}"))
    skip = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/")
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
            if not n.startswith(skip)}  # weights, batch-norm statistics, Adam slots


def test_seed_fixes_weights_and_augmentation(tmp_path):
    """One record repeated (the input order cannot differ), augmentation on: the same --seed
    gives the same weights after 2 steps, another seed other weights."""
    data = convert_words(tmp_path, ["seed"])
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 2, "augment": True,
                                            "seed": 7})
    runs = {name: str(tmp_path / name) for name in ("a", "b", "c")}
    loop.train(cfg, data, runs["a"])
    loop.train(cfg, data, runs["b"])
    loop.train(config.override(cfg, {"seed": 8}), data, runs["c"])
    a, b, c = (_weights(runs[k], 2) for k in ("a", "b", "c"))
    assert a.keys() == b.keys() and len(a) > 20
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert any(not np.allclose(a[n], c[n]) for n in a)


def test_eval_batches_bound_validation(split_data, tmp_path):
    cfg = config.override(presets.small(), {**QUICK, "batch_size": 2, "max_train_steps": 1,
                                            "eval_every": 1})
    full = loop.train(cfg, split_data, str(tmp_path / "full"))
    bounded = loop.train(config.override(cfg, {"eval_batches": 1}), split_data,
                         str(tmp_path / "bounded"))
    assert full["count"] > 2 and bounded["count"] == 2


class _Counted:
    """Stands for a step's loss / infeasible count; counts the reads that make the host wait."""

    reads = 0

    def __init__(self, value):
        self.value = value

    def __add__(self, other):
        return _Counted(self.value + (other.value if isinstance(other, _Counted) else other))

    __radd__ = __add__

    def __float__(self):
        _Counted.reads += 1
        return float(self.value)

    def __int__(self):
        _Counted.reads += 1
        return int(self.value)

    def __bool__(self):
        _Counted.reads += 1
        return bool(self.value)


def test_the_loop_reads_the_loss_once_per_log_window(split_data, tmp_path, monkeypatch):
    real = loop.make_train_step

    def counted(*args, **kwargs):
        step = real(*args, **kwargs)
        return lambda iterator: tuple(_Counted(t) for t in step(iterator))

    monkeypatch.setattr(loop, "make_train_step", counted)
    _Counted.reads = 0
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 6, "log_every": 3})
    loop.train(cfg, split_data, str(tmp_path / "run"))
    assert _Counted.reads == 2 * 2  # loss and infeasible count, once per window of 3 steps


def test_two_folders_train_in_their_batch_ratio(split_data, tmp_path):
    """--data_dir a,b --batch_ratio 1,3: the run trains on both (2 of every 8 images from the
    first), keeps the ratio in config.json, validates on the first folder's split (or on
    --val_data_dir's), and refuses folders that cannot share a batch."""
    info = dataset_info.read_info(split_data)
    other = convert_words(tmp_path / "other", [w.upper() for w in WORDS[:8]] + WORDS[8:16],
                          charset=info.charset_file)
    run = str(tmp_path / "run")
    cfg = config.override(presets.small(), {**QUICK, "max_train_steps": 2, "eval_every": 2,
                                            "batch_ratio": "1,3"})
    result = loop.train(cfg, f"{split_data},{other}", run)
    assert result["step"] == 2 and result["count"] == info.records["validation"]
    with open(os.path.join(run, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["config"]["batch_ratio"] == [1.0, 3.0]
    assert config.load(run)[0].batch_ratio == (1.0, 3.0)
    # --num_epochs counts passes over the first folder, read 2 records a step
    assert loop.total_steps(config.override(cfg, {"num_epochs": 1.0}), 32, 2) == 16
    # the best checkpoint picked on another folder's validation split (all of its 5 records)
    held = convert_words(tmp_path / "held", WORDS[:5], validation=1.0, charset=info.charset_file)
    picked = loop.train(cfg, f"{split_data},{other}", str(tmp_path / "held_run"),
                        val_data_dir=held)
    assert picked["count"] == 5
    # several validation folders: each scored, the mean of their accuracies picks the best
    held2 = convert_words(tmp_path / "held2", WORDS[20:23], validation=1.0,
                          charset=info.charset_file)
    both = loop.train(cfg, f"{split_data},{other}", str(tmp_path / "both_run"),
                      val_data_dir=f"{held},{held2}")
    sources = both["sources"]
    assert [sources[d]["count"] for d in (held, held2)] == [5, 3] and both["count"] == 8
    assert both["word_accuracy"] == pytest.approx(
        (sources[held]["word_accuracy"] + sources[held2]["word_accuracy"]) / 2)
    with open(os.path.join(tmp_path, "both_run", "best", "best.json"), encoding="utf-8") as f:
        assert json.load(f)["sources"][held2]["count"] == 3
    with pytest.raises(FileNotFoundError, match="no validation-NNNNN"):
        loop.train(cfg, split_data, str(tmp_path / "r1"), val_data_dir=other)
    wrong = convert_words(tmp_path / "wrong", ["xyz", "zyx"])
    with pytest.raises(ValueError, match="differs from .* one charset"):
        loop.train(cfg, [split_data, wrong], str(tmp_path / "r2"))
    with pytest.raises(ValueError, match="differs from .* one charset"):
        loop.train(cfg, split_data, str(tmp_path / "r5"), val_data_dir=wrong)
    with pytest.raises(ValueError, match="given twice"):
        loop.train(cfg, [split_data, split_data], str(tmp_path / "r3"))
    with pytest.raises(ValueError, match="3 values for 2 --data_dir"):
        loop.train(config.override(cfg, {"batch_ratio": (1, 1, 1)}), [split_data, other],
                   str(tmp_path / "r4"))
