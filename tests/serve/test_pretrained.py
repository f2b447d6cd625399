"""The shipped English model (models/crnn_en): complete, git-sized, the default of the tools,
and it reads words."""

import json
import os
import re

import pytest

from tests.conftest import ROOT, run_tool

MODEL = os.path.join(ROOT, "models", "crnn_en")
TEST_DATA = os.path.join(ROOT, "test_data")
# test_data/images: 30 rendered words (test_data/render_test_data.py), never used in training.
# The shipped model reads MIN_CORRECT or more of them (BENCHMARKS.md has what it read).
MIN_CORRECT = 24


def _norm(text: str) -> str:
    return re.sub("[^0-9a-z]", "", text.lower())


def _labels() -> dict:
    with open(os.path.join(TEST_DATA, "image_list.txt"), encoding="utf-8") as f:
        pairs = [line.rstrip("\n").split(" ", 1) for line in f if line.strip()]
    return {os.path.basename(path): label for path, label in pairs}


def test_shipped_model_is_complete_and_git_sized():
    import string

    for rel in ("3/saved_model.pb", "3/assets/charset.txt", "config.json", "best/checkpoint",
                "README.md", "recipe_v3.sh", "v3_lists.py", "2/saved_model.pb", "v2/config.json",
                "v2/best/checkpoint", "v2/README.md", "recipe.sh", "recipe.json",
                "1/saved_model.pb", "v1/config.json", "v1/best/checkpoint"):  # fmt: skip
        assert os.path.isfile(os.path.join(MODEL, rel)), rel
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(MODEL) for f in fs)
    assert size <= 50 * 2**20, size

    def symbols(rel):
        with open(os.path.join(MODEL, rel), encoding="utf-8") as f:
            return "".join(json.load(f)["charset"]["symbols"])

    # version 3: printable ASCII (case, punctuation, space); version 2: lower-case alphanumeric
    assert sorted(symbols("config.json")) == sorted(string.printable[:95])
    assert symbols("v2/config.json") == "0123456789abcdefghijklmnopqrstuvwxyz"


def test_inference_reads_test_data_with_the_shipped_model_by_default(tmp_path):
    out = tmp_path / "pred.jsonl"
    proc = run_tool("inference_crnn_ctc.py", "--image_dir", os.path.join(TEST_DATA, "images"),
                    "--output_file", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert os.path.join("models", "crnn_en", "3") in proc.stderr  # "reading N images with ..."
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    labels = _labels()
    assert len(rows) == len(labels)
    correct = sum(_norm(r["text"]) == _norm(labels[r["image"]]) for r in rows)
    assert correct >= MIN_CORRECT, [(r["image"], r["text"]) for r in rows]


def test_eval_defaults_to_the_shipped_model(tmp_path):
    out = tmp_path / "eval.json"
    proc = run_tool("eval_crnn_ctc.py", "--anno_file", os.path.join(TEST_DATA, "image_list.txt"),
                    "--output_json", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert os.path.join("models", "crnn_en", "best") in report["checkpoint"]
    (result,) = report["sets"].values()
    assert result["metrics"]["correct"] >= MIN_CORRECT


def test_a_missing_shipped_model_is_a_clear_error(monkeypatch, tmp_path):
    from crnn_ctc.serve import pretrained

    assert pretrained.model_dir("runs/mine") == "runs/mine"
    monkeypatch.setattr(pretrained.resources, "model_dirs", lambda name: (str(tmp_path / "gone"),))
    with pytest.raises(FileNotFoundError, match="shipped model crnn_en is not installed .*gone"):
        pretrained.model_dir(None)


def test_every_version_loads_with_the_decoder_it_was_exported_with():
    """TF Serving serves the highest version (3); versions 2 and 1 stay for clients pinned to
    them. Version 1 reads every crop as it is (it was exported before Decoder.tall_ratio)."""
    from crnn_ctc.model.decoder import Decoder
    from crnn_ctc.serve.recognizer import Recognizer

    latest = Recognizer.load(MODEL)
    assert os.path.join(MODEL, "3") in latest.source
    assert latest.decoder == Decoder("beam", 10)
    assert Recognizer.load(os.path.join(MODEL, "2")).decoder == Decoder("beam", 10)
    assert Recognizer.load(os.path.join(MODEL, "1")).decoder == Decoder("beam", 10, tall_ratio=0)


def test_version_3_reads_case_and_punctuation_and_version_2_stays_lower_case(tmp_path):
    """The same rendered crops through the default model and version 2 pinned: version 3 keeps
    capitals, punctuation and the space of a short line; version 2 returns 0-9a-z only."""
    from crnn_ctc.serve.recognizer import Recognizer
    from tests.conftest import word_image

    texts = ["Hello", "EXIT", "$4.99", "Total: 12", "Open 24h", "No. 7", "Main St.", "(555) 0199"]
    images = [word_image(t, size=(16 * len(t) + 16, 40), fmt="PNG", font_size=26)
              for t in texts]  # fmt: skip
    v3 = [p.text for p in Recognizer.load(MODEL).recognize(images)]
    v2 = [p.text for p in Recognizer.load(os.path.join(MODEL, "2")).recognize(images)]
    assert sum(a == b for a, b in zip(v3, texts, strict=True)) >= 6, v3  # exact: case, "$.:()"
    assert all(re.fullmatch("[0-9a-z]*", t) for t in v2), v2
    assert sum(_norm(a) == _norm(b) for a, b in zip(v2, texts, strict=True)) >= 5, v2


def test_version_3s_onnx_file_reads_what_its_saved_model_reads(tmp_path):
    """The shipped keep_aspect model through its portable file (beam 10, as exported): the same
    texts as the SavedModel on test_data and on rendered words and lines of several widths."""
    from crnn_ctc.portable import export
    from crnn_ctc.portable.recognizer import PortableRecognizer
    from crnn_ctc.serve.recognizer import Recognizer
    from tests.conftest import word_image

    files = sorted(os.path.join(TEST_DATA, "images", f)
                   for f in os.listdir(os.path.join(TEST_DATA, "images")))  # fmt: skip
    lines = [word_image(t, size=(13 * len(t) + 16, 36), fmt="PNG", font_size=22)
             for t in ("Qty 2 @ $3.50", "Invoice No: 10-2044", "a", "Thank you!")]  # fmt: skip
    saved = Recognizer.load(MODEL)
    want = saved.recognize([*files, *lines])
    (path,) = export.export_portable(export.PortableConfig(MODEL, str(tmp_path), "onnx",
                                                           ("fp32",)))  # fmt: skip
    got = PortableRecognizer.load(path, saved.decoder).recognize([*files, *lines])
    assert [p.text for p in got] == [p.text for p in want]


def test_a_shipped_version_can_be_pinned():
    from crnn_ctc.serve import pretrained

    assert pretrained.shipped_model_dir(2) == os.path.join(pretrained.shipped_model_dir(), "2")
    with pytest.raises(FileNotFoundError, match=r"no version 9 \(shipped: \[1, 2, 3\]\)"):
        pretrained.shipped_model_dir(9)
