"""--resize keep_aspect in the converter: the rule as data (resize_rule.py), records stored at
their own width with the width in the record, squeezed crops counted, labels held to their own
crop's steps, spaces kept; stretch folders unchanged."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from crnn_ctc.data import convert, dataset_info, record_schema
from crnn_ctc.data.resize_rule import ResizeRule


@pytest.mark.parametrize("kind, h, w, width, squeezed", [
    ("keep_aspect", 64, 300, 150, False),  # halved
    ("keep_aspect", 20, 2000, 400, True),  # 3200 at height 32: squeezed to the widest
    ("keep_aspect", 32, 400, 400, False),  # exactly the widest
    ("keep_aspect", 100, 1, 1, False),  # never narrower than 1 px
    ("keep_aspect", 10, 3, 10, False),  # 9.6 rounds to 10
    ("stretch", 64, 300, 400, False),
    ("stretch", 20, 2000, 400, False),
])  # fmt: skip
def test_the_rule_gives_each_crop_its_width(kind, h, w, width, squeezed):
    rule = ResizeRule(kind, 32, 400)
    assert rule.target_width(h, w) == width and rule.squeezed(h, w) == squeezed


@pytest.mark.parametrize("h, w, width", [
    (32, 40, 64),  # a short word: stretched to the minimum
    (32, 80, 80),  # wider than the minimum: its own width
    (64, 100, 64),  # 50 at height 32
    (20, 2000, 400),  # still squeezed to the widest
    (100, 1, 64),
])  # fmt: skip
def test_a_minimum_width_stretches_only_narrower_crops(h, w, width):
    rule = ResizeRule("keep_aspect", 32, 400, min_width=64)
    assert rule.target_width(h, w) == width


def test_a_minimum_width_round_trips_and_is_checked():
    rule = ResizeRule("keep_aspect", 32, 400, min_width=100)
    assert rule.to_json() == {"rule": "keep_aspect", "height": 32, "width": 400, "min_width": 100}
    assert ResizeRule.from_json(rule.to_json(), (32, 100)) == rule
    # a file written before the minimum: none
    assert ResizeRule.from_json({"rule": "keep_aspect", "height": 32, "width": 400},
                                (32, 100)).min_width == 0
    assert "min_width" not in ResizeRule("keep_aspect", 32, 400).to_json()
    for bad in (ResizeRule("keep_aspect", 32, 400).__dict__ | {"min_width": 401},
                {"kind": "stretch", "height": 32, "width": 100, "min_width": 50}):
        with pytest.raises(ValueError, match="min_width"):
            ResizeRule(**bad)


def test_the_rule_round_trips_and_old_files_are_stretch():
    rule = ResizeRule("keep_aspect", 48, 320)
    assert ResizeRule.from_json(rule.to_json(), (32, 100)) == rule
    assert ResizeRule.from_json(None, (32, 100)) == ResizeRule("stretch", 32, 100)
    with pytest.raises(ValueError, match="resize 'pad'"):
        ResizeRule("pad")
    with pytest.raises(ValueError, match="malformed resize"):
        ResizeRule.from_json({"rule": "stretch"}, (32, 100))


def _crop(w, h, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


CROPS = [  # name, (w, h), label, its width at height 32 (None: skipped)
    ("short.png", (50, 20), "ab", 80),
    ("line.png", (200, 20), "a long line, 42!", 320),
    ("very_wide.png", (1000, 10), "x", 400),  # 3200 at height 32: squeezed
    ("tall.png", (30, 60), "hi", 16),
    ("crowded.png", (40, 32), "abcdefghijk", None),  # 11 letters, 10 steps at 40 px
]


def _stored(data_dir):
    """{path: (text, stored image/width feature or None, decoded (H, W))} of every record."""
    import tensorflow as tf

    out = {}
    for name in sorted(os.listdir(data_dir)):
        if name.endswith(".tfrecord"):
            for raw in tf.data.TFRecordDataset(os.path.join(data_dir, name)):
                ex = tf.train.Example.FromString(raw.numpy()).features.feature
                image = tf.io.decode_image(ex[record_schema.IMAGE].bytes_list.value[0])
                width = None
                if record_schema.WIDTH in ex:
                    width = list(ex[record_schema.WIDTH].int64_list.value)
                out[ex[record_schema.PATH].bytes_list.value[0].decode()] = (
                    ex[record_schema.TEXT].bytes_list.value[0].decode(), width,
                    tuple(image.shape[:2]))
    return out


def _convert(tmp_path, crops, out="out", min_width=0):
    """Writes each (name, (w, h), label, ...) as a random PNG, converts them keep_aspect 32 x
    at most 400, printable charset, all in train -> (summary, output folder)."""
    lines = []
    for i, (name, (w, h), label, *_) in enumerate(crops):
        Image.fromarray(_crop(w, h, i)).save(tmp_path / name)
        lines.append(f"{name} {label}\n")
    (tmp_path / "list.txt").write_text("".join(lines), encoding="utf-8")
    summary = convert.convert(convert.ConvertConfig(
        image_dir=str(tmp_path), anno_file=str(tmp_path / "list.txt"), data_dir=str(tmp_path / out),
        resize="keep_aspect", image_height=32, image_width=400, charset="printable",
        validation_split_fraction=0, num_workers=1, progress=False,
        min_width=min_width))  # fmt: skip
    return summary, tmp_path / out


def test_keep_aspect_stores_each_crop_at_its_width(tmp_path):
    summary, out = _convert(tmp_path, CROPS)
    assert summary["resize"] == {"rule": "keep_aspect", "height": 32, "width": 400}
    assert summary["squeezed"] == 1 and summary["splits"]["train"]["squeezed"] == 1
    assert summary["skipped"] == {"label_too_long": 1}
    with open(out / "skipped.tsv", encoding="utf-8") as f:
        (row,) = [r for r in f.read().splitlines()[1:]]
    assert row.startswith("5\tcrowded.png\tlabel_too_long\t") and "10 steps of its 40 x 32" in row
    stored = _stored(str(out))
    want = {name: (label, [width], (32, width)) for name, _, label, width in CROPS if width}
    assert stored == want  # spaces and punctuation kept; the width in the record = the image's
    with open(out / "dataset.json", encoding="utf-8") as f:
        assert json.load(f)["resize"]["rule"] == "keep_aspect"
    info = dataset_info.read_info(str(out))
    assert info.rule == ResizeRule("keep_aspect", 32, 400) and info.records["train"] == 4
    # training follows the records' rule: a keep_aspect model as wide as the widest crop
    from crnn_ctc.train import consistency, presets

    cfg = consistency.resolve_config(presets.small(), info)
    assert (cfg.resize, cfg.image_height, cfg.image_width) == ("keep_aspect", 32, 400)


def test_a_minimum_width_widens_short_crops_and_keeps_crowded_ones(tmp_path):
    """--min_width 100: the short crops are stored 100 px wide (25 steps), so the crowded
    11-letter crop the plain rule skips is kept; lines are as before. Training takes the
    minimum from the records, and folders of different minimums are not mixed."""
    from crnn_ctc.train import consistency, presets

    summary, out = _convert(tmp_path, CROPS, min_width=100)
    assert summary["resize"]["min_width"] == 100 and summary["skipped"] == {}
    stored = _stored(str(out))
    assert stored["short.png"] == ("ab", [100], (32, 100))  # 80 at height 32: widened
    assert stored["tall.png"] == ("hi", [100], (32, 100))
    assert stored["crowded.png"] == ("abcdefghijk", [100], (32, 100))
    assert stored["line.png"] == ("a long line, 42!", [320], (32, 320))
    info = dataset_info.read_info(str(out))
    assert info.rule == ResizeRule("keep_aspect", 32, 400, 100)
    cfg = consistency.resolve_config(presets.small(), info)
    assert cfg.rule == info.rule and cfg.min_width == 100
    _, plain = _convert(tmp_path, CROPS[:1], "plain")
    with pytest.raises(ValueError, match="min_width"):
        consistency.check_mix(info, [dataset_info.read_info(str(plain))])


def test_stretch_records_are_as_before(tmp_path):
    Image.fromarray(_crop(50, 20, 0)).save(tmp_path / "a.png")
    (tmp_path / "list.txt").write_text("a.png ab\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = convert.convert(convert.ConvertConfig(
        image_dir=str(tmp_path), anno_file=str(tmp_path / "list.txt"), data_dir=str(out),
        validation_split_fraction=0, num_workers=1, progress=False))  # fmt: skip
    assert summary["resize"] == {"rule": "stretch", "height": 32, "width": 100}
    assert "squeezed" not in summary
    assert _stored(str(out)) == {"a.png": ("ab", None, (32, 100))}
    # a dataset.json written before the rule was: read as stretch at its image size
    meta = json.loads((out / "dataset.json").read_text())
    del meta["resize"]
    (out / "dataset.json").write_text(json.dumps(meta))
    assert dataset_info.read_info(str(out)).rule == ResizeRule("stretch", 32, 100)


def test_the_pipeline_pads_keep_aspect_batches_to_their_widest(tmp_path):
    import tensorflow as tf

    from crnn_ctc.data import pipeline

    _, out = _convert(tmp_path, CROPS[:4])
    rule = dataset_info.read_info(str(out)).rule
    want = {name: (label, width) for name, _, label, width in CROPS[:4]}
    seen = {}
    for batch in pipeline.build_dataset(str(out), "train", (32, 400), training=False,
                                        batch_size=3, rule=rule):  # fmt: skip
        widths = batch["width"].numpy()
        assert batch["image"].shape[1:] == (32, -(-widths.max() // 4) * 4, 3)  # widest, x 4
        assert batch["labels"].shape[1] == 100  # the widest width's steps
        for k in range(len(widths)):
            name = batch["path"][k].numpy().decode()
            seen[name] = (batch["text"][k].numpy().decode(), int(widths[k]))
            image = batch["image"][k].numpy()  # in [-1, 1]; the padding at -1 (masked anyway)
            assert (image[:, widths[k]:] == -1).all()
            assert int(batch["label_length"][k]) == len(want[name][0])
    assert seen == want
    # training: width buckets, so a batch's images differ by less than BUCKET_WIDTH
    many = [(f"{i}.png", (w, 32), "ab") for i, w in enumerate([40, 44, 48, 300, 310, 320] * 2)]
    _, out2 = _convert(tmp_path, many, "many")
    ds = pipeline.build_dataset(str(out2), "train", (32, 400), training=True, batch_size=3,
                                augment=True, rule=rule)  # fmt: skip
    for batch in ds.take(6):
        widths = batch["width"].numpy()
        assert widths.max() // pipeline.BUCKET_WIDTH == widths.min() // pipeline.BUCKET_WIDTH
        assert batch["image"].shape[2] == -(-widths.max() // 4) * 4  # its own widest
        assert batch["image"].dtype == tf.float32


def test_whole_batches_come_from_one_folder_each_in_its_share(tmp_path):
    """--batch_mix whole: words (narrow) and lines (wide) never share a batch, so no word is
    padded to a line's width; the folders turn up about 1:3, the same for the same seed."""
    from crnn_ctc.data import pipeline

    words = [(f"w{i}.png", (40 + i, 32), "ab") for i in range(8)]
    lines = [(f"l{i}.png", (300 + i, 32), "a line") for i in range(8)]
    _, word_dir = _convert(tmp_path, words, "words")
    _, line_dir = _convert(tmp_path, lines, "lines")
    rule = dataset_info.read_info(str(word_dir)).rule

    def kinds(seed):
        ds = pipeline.build_mixed_dataset([str(word_dir), str(line_dir)], [2, 6], (32, 400),
                                          seed=seed, shuffle_buffer=16, rule=rule,
                                          whole_batches=True)  # fmt: skip
        out = []
        for batch in ds.take(80):
            texts = {t.decode() for t in batch["text"].numpy()}
            assert len(batch["text"]) == 8 and len(texts) == 1  # all of one folder
            widest = int(batch["width"].numpy().max())
            assert batch["image"].shape[2] == -(-widest // 4) * 4  # padded to its own widest
            out.append("word" if texts == {"ab"} else "line")
        return out

    first = kinds(3)
    assert 10 <= first.count("word") <= 30  # expected 20 of 80
    assert kinds(3) == first


@pytest.mark.parametrize("min_width", [0, 64])
@pytest.mark.parametrize("w, h", [(300, 64), (2000, 20), (3, 10), (1, 100), (77, 31), (50, 50),
                                  (401, 32), (999, 333)])
def test_the_tf_twin_gives_the_converters_width_and_pixels(w, h, min_width):
    """The serving graph's resize (image_tf) follows the same rule as the converter's
    (image_np): the same width for every size, pixels within one grey level."""
    import tensorflow as tf

    from crnn_ctc.data import image_np, image_tf

    rule = ResizeRule("keep_aspect", 32, 400, min_width)
    image = _crop(w, h, w + h)
    ours = image_tf.resize_by_rule_tf(tf.constant(image), rule).numpy()
    width = rule.target_width(h, w)
    assert ours.shape == (32, width, 3)
    theirs = image_np.resize(image, 32, width)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    stretch = image_tf.resize_by_rule_tf(tf.constant(image), ResizeRule("stretch", 32, 100))
    assert stretch.shape == (32, 100, 3)
