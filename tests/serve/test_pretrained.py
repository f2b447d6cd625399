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
    for rel in ("2/saved_model.pb", "2/assets/charset.txt", "config.json", "best/checkpoint",
                "README.md", "recipe.sh", "recipe.json", "v1/config.json", "v1/best/checkpoint"):
        assert os.path.isfile(os.path.join(MODEL, rel)), rel
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(MODEL) for f in fs)
    assert size <= 50 * 2**20, size
    with open(os.path.join(MODEL, "config.json"), encoding="utf-8") as f:
        charset = json.load(f)["charset"]["symbols"]
    assert "".join(charset) == "0123456789abcdefghijklmnopqrstuvwxyz"


def test_inference_reads_test_data_with_the_shipped_model_by_default(tmp_path):
    out = tmp_path / "pred.jsonl"
    proc = run_tool("inference_crnn_ctc.py", "--image_dir", os.path.join(TEST_DATA, "images"),
                    "--output_file", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert os.path.join("models", "crnn_en", "2") in proc.stderr  # "reading N images with ..."
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


def test_both_versions_load_with_the_decoder_they_were_exported_with():
    """TF Serving serves the highest version (2); version 1 stays for clients pinned to it and
    reads every crop as it is (it was exported before Decoder.tall_ratio)."""
    from crnn_ctc.model.decoder import Decoder
    from crnn_ctc.serve.recognizer import Recognizer

    latest = Recognizer.load(MODEL)
    assert os.path.join(MODEL, "2") in latest.source
    assert latest.decoder == Decoder("beam", 10)
    assert Recognizer.load(os.path.join(MODEL, "1")).decoder == Decoder("beam", 10, tall_ratio=0)
