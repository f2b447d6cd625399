"""The Python API: crnn_ctc.Recognizer reads paths, bytes and arrays through the serving graph,
names every bad item, and still reads the rest."""

import io
import math
import os

import cv2
import numpy as np
import pytest
from PIL import Image

import crnn_ctc
from crnn_ctc.serve.graph import Decoder
from tests.conftest import ROOT, read_from_threads, word_image
from tests.serve.test_pretrained import MIN_CORRECT, _labels, _norm

IMAGES = os.path.join(ROOT, "test_data", "images")


@pytest.fixture(scope="module")
def shipped():
    return crnn_ctc.Recognizer.load()


def test_paths_bytes_and_arrays_read_alike(shipped):
    labels = _labels()
    names = sorted(labels)
    paths = [os.path.join(IMAGES, n) for n in names]
    by_path = shipped.recognize(paths, batch_size=7)  # several batches, the last one partial
    assert len(by_path) == len(names)
    right = sum(_norm(p.text) == _norm(labels[n]) for n, p in zip(names, by_path, strict=True))
    assert right >= MIN_CORRECT
    assert all(p.error is None and p.score <= 0 and p.top_k == () for p in by_path)
    blobs = [open(p, "rb").read() for p in paths]
    assert [p.text for p in shipped.recognize(blobs)] == [p.text for p in by_path]
    # Arrays are any-size RGB uint8; grey and RGBA work too. The JPEG decoded by OpenCV can
    # differ from TensorFlow's decode by a grey level, so compare texts, not scores.
    arrays = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in paths[:6]]
    assert [p.text for p in shipped.recognize(arrays)] == [p.text for p in by_path[:6]]
    grey = cv2.cvtColor(arrays[0], cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([arrays[0], np.full(arrays[0].shape[:2], 255, np.uint8)])
    assert [p.text for p in shipped.recognize([grey, rgba])] == [by_path[0].text] * 2
    # One item on its own is one item, not a sequence of characters.
    (single,) = shipped.recognize(paths[0])
    assert single.text == by_path[0].text


def test_bad_items_are_named_and_the_rest_is_read(shipped, tmp_path):
    good = os.path.join(IMAGES, sorted(_labels())[0])
    tiff = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(tiff, "TIFF")
    truncated = word_image("cut")[:300]
    items = [good, str(tmp_path / "missing.jpg"), b"plain text", tiff.getvalue(), truncated,
             np.zeros((20, 60, 3), np.float32), b"", good]
    with pytest.raises(crnn_ctc.RecognitionError) as caught:
        shipped.recognize(items, batch_size=4)
    err = caught.value
    assert isinstance(err, ValueError)
    message = str(err)
    assert message.startswith("6 of 8 items could not be read")
    assert "item 1 (" in message and "missing.jpg): cannot read" in message
    assert "item 2 (bytes): not an image" in message
    assert "item 3 (bytes): TIFF is not read by the serving graph" in message
    assert "item 4 (bytes):" in message
    assert "item 5 (array (20, 60, 3)): array dtype float32: expected uint8" in message
    assert "item 6 (bytes): empty" in message
    preds = err.predictions
    want = shipped.recognize([good])[0].text
    assert preds[0].text == preds[7].text == want and preds[0].error is None
    for p in preds[1:7]:
        assert p.text == "" and p.score == -math.inf and p.error
    # The truncated JPEG fails inside the graph, which is then read image by image.
    assert "item 4" in message and preds[4].error and preds[5].error.startswith("array dtype")
    kept = shipped.recognize(items, on_error="keep")
    assert [p.error is None for p in kept] == [True, False, False, False, False, False, False,
                                               True]


def test_argument_errors(shipped):
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'keep'"):
        shipped.recognize([], on_error="skip")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        shipped.recognize([b"x"], batch_size=0)
    assert shipped.recognize([]) == []
    with pytest.raises(crnn_ctc.RecognitionError, match=r"array shape \(2, 3, 5\)"):
        shipped.recognize([np.zeros((2, 3, 5), np.uint8)])
    with pytest.raises(crnn_ctc.RecognitionError, match="not a path, bytes or NumPy array"):
        shipped.recognize([42])


def test_top_k_from_a_checkpoint(trained32):
    rec = crnn_ctc.Recognizer.load(trained32.run, decoder=Decoder("beam", 5, 3))
    (pred,) = rec.recognize([word_image("cab", font_size=28)])
    assert len(pred.top_k) == 3
    assert pred.top_k[0] == (pred.text, pytest.approx(pred.score))
    scores = [s for _, s in pred.top_k]
    assert scores == sorted(scores, reverse=True)
    assert pred.as_row()["texts"] == [t for t, _ in pred.top_k]


def test_a_generator_with_a_bad_item_keeps_every_prediction(shipped):
    """Any iterable is read once; the error still names the bad item and holds every result."""
    names = sorted(_labels())[:3]
    items = [os.path.join(IMAGES, n) for n in names] + [b"plain text"]
    with pytest.raises(crnn_ctc.RecognitionError, match=r"1 of 4 items .*item 3 \(bytes\)") as err:
        shipped.recognize(x for x in items)
    predictions = err.value.predictions
    assert [p.text for p in predictions[:3]] == [p.text for p in shipped.recognize(items[:3])]
    assert predictions[3].error.startswith("not an image")
    assert len(shipped.recognize(iter(items), on_error="keep")) == 4


def test_one_saved_model_recognizer_shared_by_threads(shipped):
    """Four threads call recognize on the shipped SavedModel's Recognizer at once, with
    different batch sizes: every text and score is the one-thread answer (README's claim)."""
    paths = [os.path.join(IMAGES, n) for n in sorted(_labels())]
    want = [(p.text, p.score) for p in shipped.recognize(paths, batch_size=8)]
    got = read_from_threads(shipped, paths, reps=2, batch_size=lambda k, rep: 1 + 3 * k)
    # a batch's size may move a score in its last float32 digits (another kernel blocking)
    wrong = {i: s for i, s in got.items()
             if {t for t, _ in s} != {want[i][0]}
             or any(not math.isclose(v, want[i][1], abs_tol=1e-4) for _, v in s)}
    assert wrong == {}


SHIPPED_V2 = os.path.join(ROOT, "models", "crnn_en", "2")


@pytest.mark.parametrize("asked, named", [
    (Decoder(tall_ratio=0), ["tall_ratio 1.25 (asked: 0)"]),
    (Decoder(max_pixels=1000, hard_errors=True),
     ["max_pixels 16777216 (asked: 1000)", "hard_errors False (asked: True)"]),
    (Decoder("beam", 5), ["width 10 (asked: 5)"]),
    (Decoder("greedy"), ["kind 'beam' (asked: 'greedy')", "width 10 (asked: 0)"]),
])
def test_a_saved_model_refuses_decoder_settings_it_was_not_exported_with(asked, named):
    with pytest.raises(ValueError, match="was exported with") as err:
        crnn_ctc.Recognizer.load(SHIPPED_V2, decoder=asked)
    for part in named:
        assert part in str(err.value)
    same = crnn_ctc.Recognizer.load(SHIPPED_V2, decoder=Decoder())  # the exported settings
    assert same.decoder == Decoder("beam", 10, 1, tall_ratio=1.25)


def test_an_export_without_its_metadata_says_it_cannot_check(tmp_path):
    import shutil

    copy = tmp_path / "2"
    shutil.copytree(SHIPPED_V2, copy)
    os.remove(copy / "assets.extra" / "crnn_ctc.json")
    assert crnn_ctc.Recognizer.load(str(copy)).decoder is None  # readable without decoder=
    with pytest.raises(ValueError, match="no crnn_ctc.json, so its decoder settings cannot be "
                                         "checked"):
        crnn_ctc.Recognizer.load(str(copy), decoder=Decoder())
