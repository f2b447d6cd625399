"""Tall crops read turned (Decoder.tall_ratio, model/turns.py): the rule, the in-graph choice,
and the shipped model reading a word turned on its side in every path that reads image files:
the serving graph (bytes and arrays), eval on an image list, and the portable recognizer."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from crnn_ctc.model.decoder import Decoder, best_turn
from tests.conftest import ROOT

MODEL = os.path.join(ROOT, "models", "crnn_en")
TEST_DATA = os.path.join(ROOT, "test_data")


def test_best_turn_rule():
    # one measure, the text's log-probability over the same steps: the most probable read wins
    assert best_turn([(2, -2.0), (4, -1.5), (5, -4.0)]) == 1
    # a longer read does not win by spreading its score over more characters (the mean per
    # character chose the clockwise read here: -0.6 against -0.8 and -0.75)
    assert best_turn([(2, -1.6), (4, -3.0), (5, -3.0)]) == 0
    # an empty read as it is stands on its own probability against turned reads' (the mean
    # per character compared its total -0.9 with the turned read's -0.5 and turned it)
    assert best_turn([(0, -0.9), (3, -1.5), (2, -2.0)]) == 0
    assert best_turn([(0, -3.0), (3, -0.3), (2, -1.0)]) == 1
    # ties keep the read as it is; an empty turned read never wins
    assert best_turn([(2, -1.0), (4, -1.0), (1, -0.5)]) == 2
    assert best_turn([(2, -1.0), (4, -1.0), (1, -1.0)]) == 0
    assert best_turn([(3, -9.0), (0, -0.01), (0, 0.0)]) == 0
    assert best_turn([(1, -3.0)]) == 0
    with pytest.raises(ValueError, match="tall_ratio"):
        Decoder(tall_ratio=-1)


def test_read_turned_picks_by_the_rule_and_reads_only_tall_crops():
    """A stand-in ``read`` that spells a length and a score from each image's value: the choice
    made in the graph is best_turn's, all K paths come from the chosen view, and only the tall
    crops' views are read."""
    import tensorflow as tf

    from crnn_ctc.model import turns

    rng = np.random.default_rng(3)
    batch, k, steps = 6, 2, 5
    lengths = rng.integers(0, 4, size=40)
    scores = -rng.uniform(0.1, 6.0, size=40)
    images = np.arange(batch, dtype=np.float32)  # image i holds value i, its views 10 + 2i, +1
    turned = np.stack([10 + 2 * images, 11 + 2 * images], 1)
    tall = np.array([True, False, True, True, False, True])
    seen = []

    def read(x):
        v = tf.cast(x[:, 0, 0, 0], tf.int32)
        seen.append(int(tf.shape(x)[0]))
        n = tf.gather(tf.constant(lengths, tf.int32), v)
        ids = tf.where(tf.range(steps)[None] < n[:, None], v[:, None], -1)  # (N, T)
        ids = tf.stack([ids, ids + 100 * tf.cast(ids >= 0, tf.int32)], 1)  # (N, K, T)
        s = tf.gather(tf.constant(scores, tf.float32), v)
        return ids, tf.stack([s, s - 1.0], 1)

    def as_images(values):  # (..., ) -> (..., 1, 1, 3)
        return tf.constant(np.broadcast_to(values[..., None, None, None], (*values.shape, 1, 1, 3)))

    ids, got = turns.read_turned(read, as_images(images), as_images(turned), tf.constant(tall))
    assert seen == [batch + 2 * int(tall.sum())]
    assert ids.shape[:2] == (batch, k) and got.shape == (batch, k)
    for i in range(batch):
        views = [i] + ([10 + 2 * i, 11 + 2 * i] if tall[i] else [])
        want = views[best_turn([(int(lengths[v]), float(scores[v])) for v in views])]
        assert ids.numpy()[i, 0, 0] == (want if lengths[want] else -1)
        np.testing.assert_allclose(got.numpy()[i], [scores[want], scores[want] - 1], rtol=1e-6)
    # the rule had turned reads to choose: at least one tall crop kept a turned view
    assert any(tall[i] and ids.numpy()[i, 0, 0] >= 10 for i in range(batch))


def _upright_and_turned(count=6):
    """The first test_data crops (wide, made one size for predict_images) and the same crops
    turned 90 degrees clockwise."""
    with open(os.path.join(TEST_DATA, "image_list.txt"), encoding="utf-8") as f:
        names = [line.split()[0] for line in f if line.strip()][:count]
    upright = [np.asarray(Image.open(os.path.join(TEST_DATA, n)).convert("RGB").resize((128, 40)))
               for n in names]  # fmt: skip
    return upright, [np.ascontiguousarray(np.rot90(im, 3)) for im in upright]


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def reads():
    """The shipped model's greedy reads of upright crops, and of the turned crops with the
    rule on and off."""
    from crnn_ctc.serve.recognizer import Recognizer

    upright, turned = _upright_and_turned()
    on = Recognizer.from_checkpoint(MODEL, decoder=Decoder("greedy", 1))
    off = Recognizer.from_checkpoint(MODEL, decoder=Decoder("greedy", 1, tall_ratio=0))
    return {
        "upright": [p.text for p in off.recognize([_png(im) for im in upright])],
        "on": [p.text for p in on.recognize([_png(im) for im in turned])],
        "off": [p.text for p in off.recognize([_png(im) for im in turned])],
        "module": on._keep, "turned": turned, "upright_images": upright,
    }


def _agree(a: list, b: list) -> int:
    return sum(x == y for x, y in zip(a, b, strict=True))


def test_the_serving_graph_reads_a_word_on_its_side(reads):
    # turned, the crops read as upright (one may keep a confident misread of the squeezed crop:
    # the rule takes the best score per character, not the truth)...
    assert _agree(reads["on"], reads["upright"]) >= len(reads["upright"]) - 1
    # ...and read as they are, they are lost: the rule is what reads them
    assert _agree(reads["off"], reads["upright"]) <= 1
    # wide crops never take the turned path: the upright reads are the same with the rule on
    import tensorflow as tf

    module = reads["module"]
    out = module.serve_bytes(tf.constant([_png(im) for im in reads["upright_images"]]))
    assert [t.decode() for t in out["text"].numpy()] == reads["upright"]
    # predict_images: one batch of one size (40 x 128 turned)
    out = module.predict_images(tf.constant(np.stack(reads["turned"])))
    assert [t.decode() for t in out["text"].numpy()] == reads["on"]


def test_eval_reads_turned_crops_as_the_serving_graph(reads, tmp_path):
    from crnn_ctc.evaluate import report

    lines = []
    for i, (image, text) in enumerate(zip(reads["turned"], reads["upright"], strict=True)):
        (tmp_path / f"{i}.png").write_bytes(_png(image))
        lines.append(f"{i}.png {text}\n")
    anno = tmp_path / "list.txt"
    anno.write_text("".join(lines), encoding="utf-8")
    for ratio, want in ((0.0, reads["off"]), (1.25, reads["on"])):
        result = report.run(report.EvalConfig(model_dir=MODEL, anno_files=(str(anno),),
                                              tall_ratio=ratio, case_sensitive=True,
                                              alnum_only=False))  # fmt: skip
        (found,) = result["sets"].values()
        assert [p["prediction"] for p in found["predictions"]] == want  # greedy, as `reads`
        assert result["total"]["word_accuracy"] == _agree(want, reads["upright"]) / len(want)
        assert result["protocol"]["tall_ratio"] == ratio


def test_portable_recognizer_reads_turned_crops(reads, tmp_path):
    from crnn_ctc.portable import export
    from crnn_ctc.portable.recognizer import PortableRecognizer

    path, = export.export_portable(export.PortableConfig(MODEL, str(tmp_path), "onnx", ("fp32",)))
    on = PortableRecognizer.load(path, Decoder("greedy", 1))
    off = PortableRecognizer.load(path, Decoder("greedy", 1, tall_ratio=0))
    assert [p.text for p in on.recognize(reads["turned"])] == reads["on"]
    assert [p.text for p in off.recognize(reads["turned"])] == reads["off"]


@pytest.fixture(scope="module")
def line_model(tmp_path_factory):
    """The shipped word model's weights in a keep_aspect model (up to 400 px wide): a folder
    that reads like a line model trained on words."""
    import tensorflow as tf

    from crnn_ctc.model import crnn as model_lib
    from crnn_ctc.train import config, finetune

    cfg, charset = config.load(MODEL)
    folder = str(tmp_path_factory.mktemp("line_model"))
    wide = config.override(cfg, {"resize": "keep_aspect", "image_width": 400})
    model = model_lib.build_crnn(wide, charset.num_classes)
    finetune.initialize(model, wide, charset, MODEL)
    config.save(wide, charset, os.path.join(folder, "config.json"))
    tf.train.CheckpointManager(tf.train.Checkpoint(model=model), os.path.join(folder, "best"),
                               max_to_keep=1, checkpoint_name="best").save(checkpoint_number=1)
    return folder


def test_a_line_model_reads_a_word_on_its_side_in_every_path(line_model, tmp_path):
    """keep_aspect: each view resized by the rule (the crop as it is is a few steps wide), read
    over its own steps; serving (bytes and arrays), eval and the portable file agree."""
    import tensorflow as tf

    from crnn_ctc.evaluate import report
    from crnn_ctc.portable import export
    from crnn_ctc.portable.recognizer import PortableRecognizer
    from crnn_ctc.serve.recognizer import Recognizer

    upright, turned = _upright_and_turned()
    on = Recognizer.from_checkpoint(line_model, decoder=Decoder("greedy", 1))
    off = Recognizer.from_checkpoint(line_model, decoder=Decoder("greedy", 1, tall_ratio=0))
    want = [p.text for p in off.recognize([_png(im) for im in upright])]
    got_on = [p.text for p in on.recognize([_png(im) for im in turned])]
    got_off = [p.text for p in off.recognize([_png(im) for im in turned])]
    assert sum(w != "" for w in want) >= len(want) - 1  # the crops read upright
    assert _agree(got_on, want) >= len(want) - 1  # turned, they read the same
    assert _agree(got_off, want) <= 1  # as they are (10 px wide), lost
    assert on._keep.decoder.tall_ratio == Decoder().tall_ratio
    # upright crops never take the turned path
    assert [p.text for p in on.recognize([_png(im) for im in upright])] == want
    # predict_images: one batch of one size, tall
    out = on._keep.predict_images(tf.constant(np.stack(turned)))
    assert [t.decode() for t in out["text"].numpy()] == got_on
    # eval on an image list reads as serving does, turned or not
    lines = []
    for i, (image, text) in enumerate(zip(turned, want, strict=True)):
        (tmp_path / f"{i}.png").write_bytes(_png(image))
        lines.append(f"{i}.png {text}\n")
    anno = tmp_path / "list.txt"
    anno.write_text("".join(lines), encoding="utf-8")
    for ratio, expected in ((0.0, got_off), (1.25, got_on)):
        result = report.run(report.EvalConfig(model_dir=line_model, anno_files=(str(anno),),
                                              tall_ratio=ratio, case_sensitive=True,
                                              alnum_only=False))  # fmt: skip
        (found,) = result["sets"].values()
        assert [p["prediction"] for p in found["predictions"]] == expected
    # the portable (ONNX) file, turned or not
    path, = export.export_portable(export.PortableConfig(line_model, str(tmp_path), "onnx",
                                                         ("fp32",)))
    port_on = PortableRecognizer.load(path, Decoder("greedy", 1))
    port_off = PortableRecognizer.load(path, Decoder("greedy", 1, tall_ratio=0))
    assert [p.text for p in port_on.recognize(turned)] == got_on
    assert [p.text for p in port_off.recognize(turned)] == got_off
