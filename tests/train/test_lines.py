"""A tiny keep_aspect model learns a handful of rendered text lines (spaces, punctuation, mixed
case, different widths) on CPU: the converter, the width-bucketed pipeline, the masked model,
the loss over each line's own steps and the decoding over them, end to end."""

import os

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


def test_a_tiny_keep_aspect_model_learns_text_lines(tmp_path):
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
    loop.train(cfg, data, run)
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
    assert listed["protocol"]["tall_ratio"] == 0.0 and listed["resize"] == "keep_aspect"
    (sheet,) = report.write_contact_sheets(listed, str(tmp_path / "sheet.png"))
    from PIL import Image

    with Image.open(sheet) as im:  # one line per row
        assert im.width == contact_sheet.LINE_CELL_WIDTH
    by_path = {os.path.basename(r["path"]): r["prediction"]
               for r in listed["sets"][name]["predictions"]}
    base = str(tmp_path / "exported")
    version = export.export(export.ExportConfig(run, base, checkpoint="latest",
                                                warmup_batch_sizes=()))  # fmt: skip
    assert export.read_metadata(version)["decoder"]["tall_ratio"] == 0.0
    files = [str(tmp_path / f"{i}.png") for i in range(len(LINES))]
    served = [p.text for p in Recognizer.load(base).recognize(files)]
    assert sum(t == want for t, want in zip(served, LINES, strict=True)) >= 9, served
    assert any(" " in t for t in served)
    # greedy, as the eval tool reads: the same texts as the eval tool's
    greedy = Recognizer.load(run, "latest", decoder=Decoder("greedy")).recognize(files)
    assert [p.text for p in greedy] == [by_path[f"{i}.png"] for i in range(len(LINES))]
