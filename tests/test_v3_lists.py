"""models/crnn_en/v3_lists.py on a made-up real_train / real_lines tree."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "models" / "crnn_en" / "v3_lists.py"


def _load():
    spec = importlib.util.spec_from_file_location("v3_lists", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    train, lines = tmp_path / "real_train", tmp_path / "real_lines"
    _write(train / "train_list_all_photo_disjoint.txt", [
        "IIIT5K_train/images/1_1.png OF", "SVT_train/images/0001.jpg LIVING",
        "IC15_train/images/w1.png Caf\u00e9", "IC13BD_train/images/b1.png don\u00b4t",
        "IC13BD_train/images/b2.png 5\u20ac"])  # fmt: skip
    _write(train / "val_list_photo_disjoint.txt", [
        "IIIT5K_train/images/2_1.png HOARDING", "SVT_train/images/0002.jpg ROOM",
        "IC15_train/images/w2.png exit", "IC15_train/images/w3.png \u2018Joe\u2019s\u2019"])
    _write(train / "IIIT5K_train" / "labels_case_sensitive_punct.txt",
           ["images/1_1.png Of", "images/2_1.png Hoarding"])
    _write(train / "SVT_train" / "labels_case_sensitive_punct.txt",
           ["images/0001.jpg Living", "images/0002.jpg ROOM"])
    sroie = [f"images/X{r:03d}_{k:03d}.png TOTAL {r}.{k}" for r in range(40) for k in range(3)]
    funsd = [f"images/train_{f:04d}_e{k:03d}_l0.png Date: {f}" for f in range(30) for k in range(2)]
    _write(lines / "SROIE2019_lines" / "train.txt", sroie)
    _write(lines / "FUNSD_lines" / "train.txt", funsd)
    _write(lines / "SROIE2019_lines" / "test.txt", ["images/T_000.png NEVER READ"])
    return train, lines


def _rows(path: Path) -> list[tuple[str, str]]:
    return [tuple(r.split(" ", 1)) for r in path.read_text(encoding="utf-8").splitlines()]


def test_word_lists_take_the_case_labels_and_fold_accents(tmp_path):
    v3 = _load()
    train, lines = _tree(tmp_path)
    out = tmp_path / "lists"
    summary = v3.build(train, lines, out)
    assert _rows(out / "words_train.txt") == [
        ("IIIT5K_train/images/1_1.png", "Of"), ("SVT_train/images/0001.jpg", "Living"),
        ("IC15_train/images/w1.png", "Cafe"), ("IC13BD_train/images/b1.png", "don't"),
        ("IC13BD_train/images/b2.png", "5\u20ac")]  # the euro is left for the converter to skip
    assert summary["words_train"] == {"crops": 5, "relabelled": 2}
    assert _rows(out / "words_val_IIIT5K.txt") == [("IIIT5K_train/images/2_1.png", "Hoarding")]
    assert _rows(out / "words_val_SVT.txt") == [("SVT_train/images/0002.jpg", "ROOM")]
    assert [r[1] for r in _rows(out / "words_val_IC15.txt")] == ["exit", "'Joe's'"]
    assert json.loads((out / "lists.json").read_text()) == summary


def test_line_lists_split_by_receipt_and_form(tmp_path):
    v3 = _load()
    train, lines = _tree(tmp_path)
    out = tmp_path / "lists"
    summary = v3.build(train, lines, out)
    for key, per_group in (("sroie", 3), ("funsd", 2)):
        kept, held = _rows(out / f"{key}_train.txt"), _rows(out / f"{key}_val.txt")
        assert len(kept) + len(held) == (120 if key == "sroie" else 60)
        groups = [{v3.group_of(key, p) for p, _ in rows} for rows in (kept, held)]
        assert groups[0] and groups[1] and not groups[0] & groups[1]  # no receipt/form in both
        assert len(held) == per_group * len(groups[1]) == per_group * summary[key]["val_groups"]
        assert all(p.startswith(("SROIE2019_lines/", "FUNSD_lines/")) for p, _ in kept + held)
    assert v3.group_of("sroie", "images/X00016469612_012.png") == "X00016469612"
    assert v3.group_of("funsd", "images/train_0000971160_e002_l0.png") == "0000971160"
    assert v3.group_of("funsd", "images/train_00851772_1780_e018_l0.png") == "00851772_1780"
    assert not any("NEVER" in p.read_text() for p in out.glob("*.txt"))
