"""The converter end to end (in-process): bad input, invariants, determinism, tasks, re-runs."""

import csv
import io
import json
import os
import random

import numpy as np
import pytest
from PIL import Image

from crnn_ctc.data import convert, record_parser, record_writer
from tests.conftest import read_records, shard_order, word_image, write_file


def run(tmp_path, anno_file="image_list.txt", out="out", **kw):
    kw.setdefault("num_workers", 1)
    cfg = convert.ConvertConfig(
        image_dir=str(tmp_path),
        anno_file=str(tmp_path / anno_file) if anno_file else None,
        data_dir=str(tmp_path / out),
        progress=False,
        **kw,
    )
    return convert.convert(cfg)


def skipped_rows(data_dir, name="skipped.tsv"):
    with open(os.path.join(str(data_dir), name), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["line", "path", "reason", "detail"]
    return {int(r[0]): (r[1], r[2]) for r in rows[1:]}


def _save(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _rgba_word():
    im = Image.open(io.BytesIO(word_image("rgba", fmt="PNG"))).convert("RGBA")
    im.putalpha(200)
    return im


@pytest.fixture
def messy(tmp_path):
    """One annotation file with every kind of bad line between good ones.

    Returns (tmp_path, {line: expected label} for good lines, {line: expected reason})."""
    good_images = {
        "good/rgb.jpg": word_image("hello"),
        "good/grey.jpg": word_image("grey", mode="L"),
        "good/cmyk.jpg": word_image("cmyk", mode="CMYK"),
        "good/rgba.png": _save(_rgba_word(), "PNG"),
        "good/palette.png": word_image("palette", mode="P", fmt="PNG"),
        "good/sixteen.png": _save(
            Image.fromarray((np.arange(40 * 120).reshape(40, 120) * 13 % 65535).astype(np.uint16)),
            "PNG",
        ),
        "good/bitmap.bmp": word_image("bitmap", fmt="BMP"),
        "good/spaces.jpg": word_image("AT HIGH"),
        "good/plate.jpg": word_image("plate"),
        "good/dup.jpg": word_image("dup"),
        "good/crlf.jpg": word_image("crlf"),
        "good/bom.jpg": word_image("bom"),
    }
    for path, data in good_images.items():
        write_file(tmp_path / path, data)
    write_file(tmp_path / "bad/empty.jpg", b"")
    write_file(tmp_path / "bad/truncated.jpg", word_image("truncated", (300, 80))[:700])
    write_file(tmp_path / "bad/corrupt.jpg", b"\xff\xd8\xff\xe0" + os.urandom(500))
    write_file(tmp_path / "bad/text.jpg", b"I am not an image\n")
    for fmt in ("TIFF", "WEBP"):  # Pillow reads them; the serving graph does not
        buf = io.BytesIO()
        Image.new("RGB", (90, 30), "white").save(buf, fmt)
        write_file(tmp_path / f"bad/word.{fmt.lower()}", buf.getvalue())
    os.makedirs(tmp_path / "bad/folder.jpg")
    write_file(tmp_path.parent / "outside.jpg", word_image("outside"))
    lines = [
        (b"good/bom.jpg bom", "bom", None),  # line 1, after the BOM
        (b"good/rgb.jpg hello", "hello", None),
        (b"", None, "blank_line"),
        (b"good/grey.jpg grey", "grey", None),
        (b"bad/missing.jpg missing", None, "missing_file"),
        (b"bad/empty.jpg empty", None, "empty_file"),
        (b"bad/truncated.jpg truncated", None, "corrupt_image"),
        (b"bad/corrupt.jpg corrupt", None, "corrupt_image"),
        (b"bad/text.jpg text", None, "not_an_image"),
        (b"bad/folder.jpg folder", None, "not_a_file"),
        (b"good/cmyk.jpg cmyk", "cmyk", None),
        (b"good/plate.jpg", None, "empty_label"),
        ("good/plate.jpg h\u00e9llo".encode(), None, "out_of_charset"),
        (b"good/plate.jpg " + b"ab" * 13, None, "label_too_long"),  # 26 > 25 steps
        (b"good/plate.jpg caf\xe9", None, "not_utf8"),
        (b"good/crlf.jpg crlf\r", "crlf", None),
        (b"good/rgba.png rgba", "rgba", None),
        (b"good/palette.png palette", "palette", None),
        (b"good/sixteen.png sixteen", "sixteen", None),
        (b"good/bitmap.bmp bitmap", "bitmap", None),
        (b"good/dup.jpg dup", "dup", None),
        (b"good/dup.jpg dup", None, "duplicate"),
        (b"./good/dup.jpg other", None, "duplicate"),
        (str(tmp_path / "good/rgb.jpg").encode() + b" abs", None, "absolute_path"),
        (b"../outside.jpg outside", None, "path_escapes_image_dir"),
        (b"good/plate.jpg a\x01b", None, "control_character"),
        (b"good/spaces.jpg AT HIGH", "AT HIGH", None),
        ("good/plate.jpg 서울12가3456".encode(), "서울12가3456", None),
        (b"bad/word.tiff tiff", None, "unsupported_format"),
        (b"bad/word.webp webp", None, "unsupported_format"),
    ]
    data = b"\xef\xbb\xbf" + b"\n".join(line for line, _, _ in lines)  # no final line end
    (tmp_path / "image_list.txt").write_bytes(data)
    (tmp_path / "charset.txt").write_text(
        "".join(
            f"{c}\n"
            for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ 서울가"
        ),
        encoding="utf-8",
    )
    good = {i: label for i, (_, label, _) in enumerate(lines, 1) if label}
    bad = {i: reason for i, (_, _, reason) in enumerate(lines, 1) if reason}
    return tmp_path, good, bad


def test_every_bad_input_is_skipped_with_its_reason(messy):
    tmp_path, good, bad = messy
    summary = run(tmp_path, charset=str(tmp_path / "charset.txt"), validation_split_fraction=0.3)
    rows = skipped_rows(tmp_path / "out")
    assert {line: reason for line, (_, reason) in rows.items()} == bad
    records = read_records(tmp_path / "out")
    # The invariant: every good line is written once, and nothing else is.
    assert summary["records"] == len(records) == len(good)
    assert summary["splits"]["train"]["records"] + summary["splits"]["validation"][
        "records"
    ] == len(good)
    assert sorted(r[2] for r in records.values()) == sorted(good.values())
    assert summary["lines"] == len(good) + len(bad) == summary["records"] + summary["skipped_total"]
    assert records["good/plate.jpg"][2] == "서울12가3456"  # the first good line of a path wins
    assert records["good/dup.jpg"][2] == "dup"
    assert rows[23] == ("good/dup.jpg", "duplicate")  # "./good/dup.jpg" is the same file
    assert all(r[4].shape == (32, 100, 3) for r in records.values())
    # The absolute and escaping paths point at real images but were never read.
    assert "outside" not in {r[2] for r in records.values()}
    counts = summary["skipped"]
    assert counts["corrupt_image"] == 2 and counts["duplicate"] == 2
    assert counts["unsupported_format"] == 2  # TIFF and WebP: serving could not read them
    assert sum(counts.values()) == len(bad)


def test_labels_and_ids_match_the_charset_file(messy):
    tmp_path, _, _ = messy
    run(tmp_path, charset=str(tmp_path / "charset.txt"))
    symbols = (tmp_path / "out" / "charset.txt").read_text(encoding="utf-8").split("\n")[:-1]
    for _, _, text, ids, _ in read_records(tmp_path / "out").values():
        assert "".join(symbols[i] for i in ids) == text


def test_dataset_json_and_charset_from_labels(word_dir):
    summary = run(word_dir)
    with open(word_dir / "out" / "dataset.json", encoding="utf-8") as f:
        on_disk = json.load(f)
    assert on_disk == summary
    assert summary["charset"] == {
        "file": "charset.txt",
        "size": 14,
        "blank_id": 14,
        "num_classes": 15,
        "source": "labels",
    }
    assert (word_dir / "out" / "charset.txt").read_text() == "".join(
        f"{c}\n" for c in "0123456789dorw"
    )
    assert summary["image"] == {"height": 32, "width": 100, "channels": 3, "format": "jpeg"}
    assert summary["flags"]["validation_split_fraction"] == 0.1
    assert summary["elapsed_seconds"] > 0 and summary["records"] == 40


def test_same_shards_whatever_the_line_order_and_workers(word_dir):
    lines = (word_dir / "image_list.txt").read_text().splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    (word_dir / "shuffled.txt").write_text("".join(lines))
    summary = run(word_dir, num_shards=3, validation_split_fraction=0.25)
    run(word_dir, "shuffled.txt", out="out2", num_shards=3, validation_split_fraction=0.25,
        num_workers=2)  # fmt: skip
    names = sorted(os.listdir(word_dir / "out"))
    assert names == sorted(os.listdir(word_dir / "out2"))
    for name in names:
        if name.endswith(".tfrecord"):
            assert (word_dir / "out" / name).read_bytes() == (word_dir / "out2" / name).read_bytes()
    order = shard_order(word_dir / "out")
    assert len(order) == 3 + summary["splits"]["validation"]["shards"]
    assert any(paths != sorted(paths) for paths in order.values())  # records are shuffled


def test_seed_changes_only_the_order(word_dir):
    run(word_dir, num_shards=1, seed=1)
    run(word_dir, out="out2", num_shards=1, seed=2)
    a, b = shard_order(word_dir / "out"), shard_order(word_dir / "out2")
    assert a.keys() == b.keys()
    assert all(sorted(a[k]) == sorted(b[k]) for k in a)
    assert a["train-00000-of-00001.tfrecord"] != b["train-00000-of-00001.tfrecord"]


def test_tasks_write_disjoint_parts_of_the_same_shards(word_dir, monkeypatch):
    monkeypatch.setattr(convert, "FLUSH_LINES", 3)  # also exercises the work-file spill
    run(word_dir, num_shards=4)
    for task in range(3):
        run(word_dir, out="tasks", num_shards=4, task_index=task, num_tasks=3)
    single = {n for n in os.listdir(word_dir / "out") if n.endswith(".tfrecord")}
    multi = {n for n in os.listdir(word_dir / "tasks") if n.endswith(".tfrecord")}
    assert single == multi
    for name in single:
        assert (word_dir / "out" / name).read_bytes() == (word_dir / "tasks" / name).read_bytes()
    written = 0
    for task in range(3):
        with open(word_dir / "tasks" / f"dataset.task-{task:05d}-of-00003.json") as f:
            written += json.load(f)["records"]
    assert written == 40
    assert (word_dir / "tasks" / "charset.txt").read_text() == (
        word_dir / "out" / "charset.txt"
    ).read_text()


def test_rerun_replaces_old_output_and_keeps_other_files(word_dir):
    out = word_dir / "out"
    os.makedirs(out)
    stale = [
        "train-00000-of-00007.tfrecord",
        "train-00003-of-00007.tfrecord",
        ".train-00001-of-00007.tfrecord.tmp",  # left by a killed run
        ".train-00000-of-00001.tfrecord.tmp",
        "validation-00000-of-00001.tfrecord",
        "dataset.task-00001-of-00002.json",
        "skipped.task-00001-of-00002.tsv",
        "dataset.json",
    ]
    for name in stale:
        (out / name).write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    run(word_dir, num_shards=1)
    names = sorted(os.listdir(out))
    assert names == [
        "charset.txt",
        "dataset.json",
        "notes.txt",
        "skipped.tsv",
        "train-00000-of-00001.tfrecord",
        "validation-00000-of-00001.tfrecord",
    ]
    assert len(read_records(out)) == 40  # the old "validation" file was replaced, not kept


def test_interrupted_run_leaves_no_finished_looking_file(word_dir, monkeypatch):
    calls = {"n": 0}
    real_write = record_writer.ShardWriter.write

    def failing_write(self, framed):
        calls["n"] += 1
        if calls["n"] == 30:
            raise KeyboardInterrupt
        real_write(self, framed)

    monkeypatch.setattr(record_writer.ShardWriter, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        run(word_dir, num_shards=1, validation_split_fraction=0.0)
    assert sorted(os.listdir(word_dir / "out")) == []


def test_filename_labels(tmp_path):
    for name, label in [("1234.jpg", "1234"), ("A18sk6897.png", "A18sk6897"),
                        ("12가3456_2.jpg", "12가3456"), ("sub/9999.jpg", "9999")]:  # fmt: skip
        write_file(
            tmp_path / "plates" / name, word_image(label, fmt="PNG" if "png" in name else "JPEG")
        )
    (tmp_path / "plates" / "readme.txt").write_text("not a plate")
    cfg = convert.ConvertConfig(
        image_dir=str(tmp_path / "plates"),
        anno_format="filename",
        data_dir=str(tmp_path / "out"),
        num_workers=1,
        progress=False,
    )
    summary = convert.convert(cfg)
    texts = sorted(r[2] for r in read_records(tmp_path / "out").values())
    assert texts == ["1234", "12가3456", "9999", "A18sk6897"]
    assert summary["skipped"] == {"unsupported_extension": 1}


def test_synth90k_lexicon_and_lowercase(tmp_path):
    write_file(tmp_path / "1/1/3_Hello_1.jpg", word_image("Hello"))
    write_file(tmp_path / "1/1/4_World_0.jpg", word_image("World"))
    (tmp_path / "ann.txt").write_text("./1/1/3_Hello_1.jpg 1\n./1/1/4_World_0.jpg 0\n")
    (tmp_path / "lexicon.txt").write_text("world\nhello\n")
    run(tmp_path, "ann.txt", anno_format="synth90k", lowercase=True, validation_split_fraction=0)
    assert sorted(r[2] for r in read_records(tmp_path / "out").values()) == ["hello", "world"]
    run(tmp_path, "ann.txt", out="lex", anno_format="synth90k", validation_split_fraction=0,
        lexicon_file=str(tmp_path / "lexicon.txt"))  # fmt: skip
    assert sorted(r[2] for r in read_records(tmp_path / "lex").values()) == ["hello", "world"]


def test_strip_unknown_keeps_the_charset_s_characters_of_a_label(tmp_path):
    """The 36-symbol protocol: "Lowe's" becomes "lowes" instead of being skipped; a label of
    punctuation only is skipped with the reason; without the flag both are out_of_charset."""
    lines = {"a.jpg": "Lowe's", "b.jpg": "$4.00", "c.jpg": "...", "d.jpg": "Exit"}
    for name in lines:
        write_file(tmp_path / name, word_image("word"))
    (tmp_path / "image_list.txt").write_text(
        "".join(f"{name} {label}\n" for name, label in lines.items()), encoding="utf-8")
    kw = {"charset": "alnum_lower", "lowercase": True, "validation_split_fraction": 0}
    summary = run(tmp_path, strip_unknown=True, **kw)
    assert sorted(r[2] for r in read_records(tmp_path / "out").values()) == ["400", "exit",
                                                                           "lowes"]
    assert summary["skipped"] == {"empty_label": 1}
    assert skipped_rows(tmp_path / "out")[3] == ("c.jpg", "empty_label")
    summary = run(tmp_path, out="plain", **kw)
    assert summary["records"] == 1 and summary["skipped"] == {"out_of_charset": 3}


def test_max_label_length_and_png(word_dir):
    summary = run(word_dir, max_label_length=5, image_format="png")
    # w0ord..w9ord have 5 steps, w10ord.. have 6
    assert summary["records"] == 10 and summary["skipped"] == {"label_too_long": 30}
    assert summary["max_ctc_steps"] == 5
    assert all(r[4].shape == (32, 100, 3) for r in read_records(word_dir / "out").values())


def test_other_image_size(word_dir):
    run(word_dir, image_height=64, image_width=128, num_shards=1, validation_split_fraction=0)
    import tensorflow as tf

    raw = next(
        iter(tf.data.TFRecordDataset(str(word_dir / "out" / "train-00000-of-00001.tfrecord")))
    )
    assert record_parser.parse_example(raw, (64, 128))["image"].shape == (64, 128, 3)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"validation_split_fraction": 1.5}, "validation_split_fraction"),
        ({"task_index": 2, "num_tasks": 2}, "task_index"),
        ({"anno_format": "filename"}, "drop --anno_file"),
        ({"charset": "nope"}, "neither a preset"),
        ({"lexicon_file": "x"}, "only used with --anno_format=synth90k"),
        ({"strip_unknown": True}, "--strip_unknown keeps .* give --charset"),
        ({"resize": "pad"}, "resize 'pad': choose one of stretch, keep_aspect"),
    ],
)
def test_bad_config_is_a_value_error(word_dir, kw, message):
    with pytest.raises(ValueError, match=message):
        run(word_dir, **kw)


def test_nothing_usable_still_writes_the_report(tmp_path):
    (tmp_path / "image_list.txt").write_text("\n\nmissing.jpg x\n")
    summary = run(tmp_path)
    assert summary["records"] == 0
    assert summary["skipped"] == {"blank_line": 2, "missing_file": 1}
    assert sorted(skipped_rows(tmp_path / "out")) == [1, 2, 3]
    assert read_records(tmp_path / "out") == {}
