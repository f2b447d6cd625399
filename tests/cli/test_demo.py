"""The main job (tools/run_demo.py) end to end at a tiny size, so the README command cannot rot:
render -> convert -> train -> held-out eval + contact sheet -> export -> inference."""

import json
import os

import numpy as np
from PIL import Image

from crnn_ctc.evaluate import contact_sheet
from tests.conftest import ROOT, run_tool


def test_the_demo_runs_every_step(tmp_path):
    work = tmp_path / "demo"
    res = run_tool("run_demo.py", "--work_dir", str(work), "--train_count", "160",
                   "--test_count", "24", "--max_train_steps", "3", timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = res.stdout
    for n, title in enumerate(["render the training set", "render the held-out set",
                               "convert", "train", "evaluate on the held-out fonts",
                               "export", "read", "read"], start=1):
        assert f"=== {n}/8 {title}" in out
    assert "$ python tools/train_crnn_ctc.py --data_dir" in out and "--preset demo" in out
    # inference over test_data/images, with the demo's model and the shipped one: one line per
    # image each
    images = sorted(os.listdir(os.path.join(ROOT, "test_data", "images")))
    assert sum(line.startswith("Predict ") for line in out.splitlines()) == 2 * len(images)
    assert "with the shipped English model (models/crnn_en)" in out
    shipped = (work / "test_data_predictions_crnn_en.jsonl").read_text().splitlines()
    assert len(shipped) == len(images)
    report = json.loads((work / "heldout_eval.json").read_text())
    (name, held), = report["sets"].items()
    assert held["metrics"]["count"] == 24 and len(held["predictions"]) == 24
    assert "on 24 images (case-insensitive)" in out and "held-out fonts (" in out
    test_families = json.loads((work / "synth_test" / "generate.json").read_text())["families"]
    train_families = json.loads((work / "synth_train" / "generate.json").read_text())["families"]
    assert test_families and not set(test_families) & set(train_families)
    assert (work / "export" / "1" / "saved_model.pb").is_file()
    with Image.open(work / "contact_sheet.png") as im:
        assert im.width == 6 * 180 and im.height > 4 * 40
    # Run again: the folder it made is wiped first (this run then stops at a bad --train_count);
    # a folder it did not make is refused and left alone.
    (work / "synth_train" / "stale.txt").write_text("x")
    res = run_tool("run_demo.py", "--work_dir", str(work), "--train_count", "0")
    assert res.returncode != 0 and "--count 0: must be >= 1" in res.stderr
    assert "step failed (1/8 render the training set" in res.stderr
    assert os.listdir(work) == [".crnn_ctc_demo"]
    assert not (work / "synth_train" / "stale.txt").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "data.txt").write_text("keep me")
    res = run_tool("run_demo.py", "--work_dir", str(foreign))
    assert res.returncode != 0 and "is not empty and was not made by run_demo.py" in res.stderr
    assert (foreign / "data.txt").read_text() == "keep me"


def test_contact_sheet_colours_right_green_and_wrong_red(tmp_path):
    for i, colour in enumerate([(250, 250, 250), (30, 30, 30)]):
        Image.new("RGB", (90, 30), colour).save(tmp_path / f"{i}.png")
    rows = [{"path": str(tmp_path / "0.png"), "label": "ok", "prediction": "ok", "correct": True},
            {"path": str(tmp_path / "1.png"), "label": "bad", "prediction": "bap",
             "correct": False}]
    out = tmp_path / "sheet.png"
    assert contact_sheet.write(rows, str(out), title="t", columns=2) == 2
    px = np.asarray(Image.open(out).convert("RGB")).astype(int)
    header, cell_h = 30, 40 + 2 * 18 + 10
    text = px[header + 44:header + cell_h, :]  # the text rows under the images
    green = (text[..., 1] > 100) & (text[..., 0] < 60) & (text[..., 2] < 100)
    red = (text[..., 0] > 150) & (text[..., 1] < 80) & (text[..., 2] < 80)
    assert green[:, :180].sum() > 20 and red[:, :180].sum() == 0
    assert red[:, 180:].sum() > 20 and green[:, 180:].sum() == 0
    # the dark image is pasted in the second cell, the light one in the first
    assert px[header + 20, 90].sum() > 700 and px[header + 20, 270].sum() < 120


def test_readme_main_job_command_is_the_demo():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    quick = text[text.index("## Quick start"):]
    block = quick[quick.index("```bash") + 7:quick.index("```", quick.index("```bash") + 7)]
    assert block.strip() == ("python3 -m venv .venv && . .venv/bin/activate && "
                             "pip install -r requirements.txt -e . && python tools/run_demo.py")


def test_contact_sheet_draws_text_lines_one_per_row_and_full_width(tmp_path):
    rows = []
    for i in range(3):
        Image.new("RGB", (600, 30), (30, 30, 30)).save(tmp_path / f"line{i}.png")  # aspect 20
        rows.append({"path": str(tmp_path / f"line{i}.png"), "label": "TOTAL GST: 12.50",
                     "prediction": "TOTAL GST: 12.50", "correct": True})
    out = tmp_path / "lines.png"
    assert contact_sheet.write(rows, str(out), lines=True) == 3
    with Image.open(out) as im:
        assert im.width == contact_sheet.LINE_CELL_WIDTH  # one column
        assert im.height == 3 * (40 + 2 * 18 + 10)  # three rows, no title
        px = np.asarray(im.convert("RGB")).astype(int)
    # each line keeps its aspect at 40 px high: 800 px wide, not a 170 px word thumbnail
    dark = px[20].sum(axis=1) < 150
    assert 780 <= dark.sum() <= 820
    # word crops still go 6 to a row
    Image.new("RGB", (90, 30), (30, 30, 30)).save(tmp_path / "word.png")
    word = [{**rows[0], "path": str(tmp_path / "word.png")}] * 7
    contact_sheet.write(word, str(out))
    with Image.open(out) as im:
        assert im.width == 6 * 180
