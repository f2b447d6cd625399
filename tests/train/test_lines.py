"""A tiny keep_aspect model learns a handful of rendered text lines (spaces, punctuation, mixed
case, different widths) on CPU: the converter, the width-bucketed pipeline, the masked model,
the loss over each line's own steps and the decoding over them, end to end."""

import os

import numpy as np
import pytest

from crnn_ctc import Recognizer
from crnn_ctc.data import convert, pipeline
from crnn_ctc.evaluate import contact_sheet, evaluation
from crnn_ctc.model import trained
from crnn_ctc.model.decoder import Decoder
from crnn_ctc.serve import export
from crnn_ctc.train import config, loop, presets
from tests.conftest import word_image, write_file

LINES = ["no 42.", "a-b c", "Hi, ok!", "x = 7", "cat dog", "10:30 am", "Q&A", "sum 3.50",
         "Total: 9", "(ok)"]


@pytest.fixture(scope="module")
def trained_lines(tmp_path_factory):
    """The line images, their records and a tiny keep_aspect model trained on them."""
    tmp_path = tmp_path_factory.mktemp("lines")
    rows = []
    for i, text in enumerate(LINES):
        # 11 px a character at font size 18: widths 40-110 px, each kept at height 32
        write_file(tmp_path / f"{i}.png", word_image(text, size=(11 * len(text) + 12, 32),
                                                    fmt="PNG", font_size=18))
        rows.append(f"{i}.png {text}\n")
    (tmp_path / "list.txt").write_text("".join(rows), encoding="utf-8")
    data = str(tmp_path / "records")
    summary = convert.convert(convert.ConvertConfig(
        image_dir=str(tmp_path), anno_file=str(tmp_path / "list.txt"), data_dir=data,
        resize="keep_aspect", image_width=160, charset="printable",
        validation_split_fraction=0, num_workers=1, progress=False))  # fmt: skip
    assert summary["records"] == len(LINES) and summary["squeezed"] == 0
    cfg = config.override(presets.small(), {
        "batch_size": 5, "max_train_steps": 400, "warmup_steps": 20, "learning_rate": 3e-3,
        "eval_every": 1000, "save_every": 400, "log_every": 100, "shuffle_buffer": 16})  # fmt: skip
    run = str(tmp_path / "run")
    with pytest.MonkeyPatch.context() as mp:  # the same batches in the same order every run
        mp.setattr(pipeline, "DETERMINISTIC", True)
        loop.train(cfg, data, run)
    return tmp_path, data, run


def test_a_tiny_keep_aspect_model_learns_text_lines(trained_lines):
    tmp_path, data, run = trained_lines
    model, mcfg, charset, _ = trained.load_model(run, "latest")
    assert (mcfg.resize, mcfg.image_width) == ("keep_aspect", 160)
    rule = loop.resize_rule(mcfg)
    batches = pipeline.build_dataset(data, "train", (32, 160), training=False, batch_size=4,
                                     rule=rule)  # fmt: skip
    result = evaluation.evaluate(model, batches, charset)
    wrong = [(r["label"], r["prediction"]) for r in result["predictions"] if not r["correct"]]
    assert result["metrics"]["word_accuracy"] >= 0.9, wrong  # case, spaces and punctuation kept
    # the eval tool reads the records by the rule, case-sensitive with punctuation
    from crnn_ctc.evaluate import report

    scored = report.run(report.EvalConfig(run, "latest", data_dir=data, split="train",
                                          case_sensitive=True, alnum_only=False))  # fmt: skip
    assert scored["sets"]["train"]["metrics"]["word_accuracy"] == result["metrics"][
        "word_accuracy"]
    # the image files, read by the rule: by the eval tool, and through the serving graph of
    # the export (Recognizer), spaces and punctuation kept end to end
    listed = report.run(report.EvalConfig(run, "latest", anno_files=(str(tmp_path / "list.txt"),),
                                          case_sensitive=True, alnum_only=False))  # fmt: skip
    (name,) = listed["sets"]
    assert listed["sets"][name]["metrics"]["word_accuracy"] >= 0.9
    assert listed["protocol"]["tall_ratio"] == Decoder().tall_ratio  # (no line here is tall)
    assert listed["resize"] == "keep_aspect"
    (sheet,) = report.write_contact_sheets(listed, str(tmp_path / "sheet.png"))
    from PIL import Image

    with Image.open(sheet) as im:  # one line per row
        assert im.width == contact_sheet.LINE_CELL_WIDTH
    by_path = {os.path.basename(r["path"]): r["prediction"]
               for r in listed["sets"][name]["predictions"]}
    base = str(tmp_path / "exported")
    version = export.export(export.ExportConfig(run, base, checkpoint="latest",
                                                warmup_batch_sizes=()))  # fmt: skip
    # a line model turns tall crops as a word model does (none of these lines is tall)
    assert export.read_metadata(version)["decoder"]["tall_ratio"] == Decoder().tall_ratio
    files = [str(tmp_path / f"{i}.png") for i in range(len(LINES))]
    served = [p.text for p in Recognizer.load(base).recognize(files)]
    assert sum(t == want for t, want in zip(served, LINES, strict=True)) >= 9, served
    assert any(" " in t for t in served)
    # greedy, as the eval tool reads: the same texts as the eval tool's
    greedy = Recognizer.load(run, "latest", decoder=Decoder("greedy")).recognize(files)
    assert [p.text for p in greedy] == [by_path[f"{i}.png"] for i in range(len(LINES))]


@pytest.fixture(scope="module")
def portable_lines(trained_lines):
    """The line model's LiteRT fp32 and int8 (calibrated on its records) and ONNX files."""
    from crnn_ctc.portable import export as portable_export

    tmp_path, data, run = trained_lines
    out = str(tmp_path / "portable")
    paths = portable_export.export_portable(portable_export.PortableConfig(
        run, out, "tflite", ("fp32", "int8"), checkpoint="latest", calibration_data=data))
    return paths + portable_export.export_portable(portable_export.PortableConfig(
        run, out, "onnx", ("fp32",), checkpoint="latest"))


def test_the_litert_and_onnx_files_of_a_line_model_read_what_the_saved_model_reads(
        trained_lines, portable_lines):  # fmt: skip
    from crnn_ctc.portable import contract as contract_lib
    from crnn_ctc.portable.recognizer import PortableRecognizer

    tmp_path, data, run = trained_lines
    paths = portable_lines
    files = [str(tmp_path / f"{i}.png") for i in range(len(LINES))]
    # a tall blank crop (read turned too, as in the serving graph) and a 1 x 1 crop
    tall, dot = np.full((90, 20, 3), 255, np.uint8), np.zeros((1, 1, 3), np.uint8)
    for decoder in (Decoder("greedy"), Decoder()):
        want = Recognizer.from_checkpoint(run, "latest", decoder=decoder).recognize(
            [*files, tall, dot])
        for path in paths:
            contract = contract_lib.load_contract(path)
            assert contract.keeps_aspect and contract.widths_name
            assert contract_lib.Contract.from_json(contract.to_json()) == contract
            got = PortableRecognizer.load(path, decoder).recognize([*files, tall, dot])
            same = sum(a.text == b.text for a, b in zip(want, got, strict=True))
            if contract.variant == "int8":  # 8-bit activations may read a line differently;
                # the blank tall crop and the dot have no right reading, so only the lines count
                n = len(files)
                lines_same = sum(a.text == b.text
                                 for a, b in zip(want[:n], got[:n], strict=True))
                assert lines_same >= n - 1, (path, [p.text for p in got])
            else:
                assert same == len(got), (path, [p.text for p in got], [p.text for p in want])
                np.testing.assert_allclose([p.score for p in got], [p.score for p in want],
                                           atol=1e-3)
    # a crop reads the same at batch 1 and beside others; the widths input is checked
    rec = PortableRecognizer.load(paths[0], Decoder("greedy"))
    assert [rec.recognize([f])[0].text for f in files[:3]] == [
        p.text for p in rec.recognize(files[:3])]
    images = np.zeros((2, 32, 160, 3), np.uint8)
    for widths, match in [(None, "valid width"), ([0, 5], "1..160"), ([5, 161], "1..160"),
                          ([5], r"\(2,\) integers")]:
        with pytest.raises(ValueError, match=match):
            rec.model.output(images, widths)


def test_bench_lines_speed_runs_at_tiny_sizes(trained_lines, portable_lines, tmp_path):
    """benchmarks/bench_lines_speed.py, both parts at tiny sizes, so it cannot rot unnoticed
    (its timings are BENCHMARKS.md's, never asserted here)."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    _, _, run = trained_lines
    out = tmp_path / "lines_speed.json"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_lines_speed.py"),
                           "--width", "96", "--batch", "3", "--steps", "2", "--rounds", "1",
                           "--calls", "2", "--repeats", "1", "--model_dir", run,
                           "--portable", portable_lines[0], "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    train = result["train"]
    assert train["fixed"]["mean_padded_width"] == 96
    assert train["buckets"]["mean_padded_width"] <= 96 and train["buckets"]["img_s"] > 0
    rows = {r["reader"]: r for r in result["serve"]["rows"]}
    assert len(rows) == 3 and all(r["b1_ms_p50"] > 0 and r["b64_lines_s"] > 0
                                  for r in rows.values())  # fmt: skip
    assert result["serve"]["characters"] == 30
