"""Shared fixtures: tiny word images on disk and helpers to read converter output."""

import glob
import io
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import pytest
from PIL import Image, ImageDraw

import crnn_ctc  # noqa: F401 (before TensorFlow, as in the tools: its oneDNN default)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# font verdicts (crnn_ctc.synth.fonts.cache_path) go to a fresh folder: no state from a user's runs
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="crnn_ctc_tests_cache_")


def word_image(text: str, size=(120, 40), mode="RGB", fmt="JPEG", font_size=None) -> bytes:
    """A small rendered word, encoded as ``fmt``."""
    im = Image.new("RGB", size, (235, 225, 200))
    if font_size:
        ImageDraw.Draw(im).text((4, 5), text, fill=(20, 30, 90), font_size=font_size)
    else:
        ImageDraw.Draw(im).text((6, 10), text, fill=(20, 30, 90))
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def gif_frames(size=(60, 20), frames=1) -> bytes:
    """A GIF of ``frames`` frames that differ by one pixel each (so none is dropped): a small
    file that a full decode expands to frames x width x height x 3 bytes."""
    base = Image.new("P", size, 0)
    base.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    images = []
    for i in range(frames):
        im = base.copy()
        im.putpixel((i % size[0], (i // size[0]) % size[1]), 1)
        images.append(im)
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=frames > 1, append_images=images[1:], duration=10)
    return buf.getvalue()


def write_file(path, data: bytes) -> None:
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


@pytest.fixture
def word_dir(tmp_path):
    """tmp/images/ with 40 good JPEGs and an image_list.txt naming them; returns tmp_path."""
    lines = []
    for i in range(40):
        word = f"w{i}ord"
        write_file(tmp_path / "images" / f"{i:03d}.jpg", word_image(word))
        lines.append(f"images/{i:03d}.jpg {word}\n")
    (tmp_path / "image_list.txt").write_text("".join(lines), encoding="utf-8")
    return tmp_path


def read_records(data_dir, split="*"):
    """{path: (split, shard file, text, ids, image uint8)} for every record in data_dir."""
    import tensorflow as tf

    from crnn_ctc.data import record_parser

    out = {}
    for f in sorted(glob.glob(os.path.join(str(data_dir), f"{split}-*-of-*.tfrecord"))):
        for raw in tf.data.TFRecordDataset(f):
            rec = record_parser.parse_example(raw, (32, 100))
            path = rec["path"].numpy().decode()
            assert path not in out, f"{path} written twice"
            out[path] = (
                os.path.basename(f).split("-")[0],
                os.path.basename(f),
                rec["text"].numpy().decode(),
                rec["label_ids"].numpy().tolist(),
                rec["image"].numpy(),
            )
    return out


def shard_order(data_dir):
    """{shard file name: [paths in record order]}."""
    import tensorflow as tf

    from crnn_ctc.data import record_parser

    out = {}
    for f in sorted(glob.glob(os.path.join(str(data_dir), "*-of-*.tfrecord"))):
        out[os.path.basename(f)] = [
            record_parser.parse_example(r, (32, 100))["path"].numpy().decode()
            for r in tf.data.TFRecordDataset(f)
        ]
    return out


def solid(color, size=(20, 10)) -> np.ndarray:
    return np.full((size[1], size[0], 3), color, np.uint8)


WORDS = [
    "cat", "dog", "sun", "map", "red", "box", "tree", "lamp", "milk", "road", "bird", "fish",
    "door", "rain", "star", "wind", "apple", "house", "river", "table", "green", "stone", "cloud",
    "light", "paper", "bread", "chair", "water", "music", "clock", "plant", "horse",
]


def make_words_dir(root, words, size=(100, 32)):
    """root/images/NNN.jpg rendered words and root/image_list.txt; returns the list file."""
    lines = []
    for i, word in enumerate(words):
        write_file(root / "images" / f"{i:03d}.jpg", word_image(word, size=size, font_size=18))
        lines.append(f"images/{i:03d}.jpg {word}\n")
    (root / "image_list.txt").write_text("".join(lines), encoding="utf-8")
    return root / "image_list.txt"


def convert_words(root, words, validation=0.0, **kwargs):
    """Renders ``words`` and converts them into root/tfrecords (one train shard by default)."""
    from crnn_ctc.data import convert

    anno = make_words_dir(root, words)
    cfg = convert.ConvertConfig(
        image_dir=str(root), anno_file=str(anno), data_dir=str(root / "tfrecords"),
        validation_split_fraction=validation, num_workers=1, progress=False,
        **{"num_shards": 1, **kwargs},
    )
    convert.convert(cfg)
    return str(root / "tfrecords")


@pytest.fixture(scope="session")
def words32(tmp_path_factory):
    """32 rendered words converted to TFRecords (all in train): the overfitting set."""
    return convert_words(tmp_path_factory.mktemp("words32"), WORDS)


@pytest.fixture(scope="session")
def trained32(words32):
    """The small preset trained 200 steps on ``words32`` (tests/train/test_loop.py checks it
    reads all 32 words back): a model that has learned something, for the export and inference
    tests."""
    from crnn_ctc.train import config, loop, presets

    cfg = config.override(presets.small(), {
        "batch_size": 32, "max_train_steps": 200, "warmup_steps": 20, "learning_rate": 3e-3,
        "eval_every": 1000, "save_every": 100, "log_every": 50, "shuffle_buffer": 64,
    })  # fmt: skip
    run = os.path.join(os.path.dirname(words32), "run")
    result = loop.train(cfg, words32, run)
    return types.SimpleNamespace(run=run, result=result, images=os.path.dirname(words32))


def read_from_threads(recognizer, items: list, threads: int = 4, reps: int = 3,
                      batch_size=lambda k, rep: 1 + (k + rep) % 3) -> dict:
    """``threads`` threads call ``recognizer.recognize`` at once, each ``reps`` times over the
    items in its own seeded order with ``batch_size(k, rep)`` -> {item index: {(text, score)
    seen}}; any thread's exception fails the calling test."""
    import threading

    got, failures = {}, []
    barrier = threading.Barrier(threads)

    def work(k):
        try:
            barrier.wait()
            for rep in range(reps):
                order = np.random.default_rng(10 * k + rep).permutation(len(items))
                preds = recognizer.recognize([items[i] for i in order],
                                             batch_size=batch_size(k, rep))  # fmt: skip
                for i, p in zip(order, preds, strict=True):
                    got.setdefault(int(i), set()).add((p.text, p.score))
        except Exception as err:  # noqa: BLE001 (reported below, with its thread)
            failures.append((k, repr(err)))

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not failures, failures
    return got


def run_tool(name: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs tools/<name> in a fresh Python from the repository root, capturing its output."""
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", name), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
