"""benchmarks/peers_read.py and bench_peers.py: a stand-in peer reads a tiny word and line
folder as the real peers would (their packages are not our dependencies), and the scorer gives
every rule its own numbers; ours read through models/crnn_en at tiny sizes. Timings are never
asserted."""

import json
import os
import sys

from tests.conftest import ROOT, word_image, write_file

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import bench_peers  # noqa: E402
import peers_read  # noqa: E402


def _folders(tmp_path):
    real, lines = tmp_path / "real_eval", tmp_path / "real_lines"
    words = {"IIIT5K/labels.txt": ["Hello", "World"], "SVTP/labels.txt": ["Shop"],
             "IIIT5K/subset_photos_not_in_train.txt": ["World"]}
    for rel, texts in words.items():
        rows = []
        for text in texts:
            write_file(real / os.path.dirname(rel) / "images" / f"{text}.png",
                       word_image(text.lower(), fmt="PNG"))
            rows.append(f"images/{text}.png {text}\n")
        write_file(real / rel, "".join(rows).encode())
    folder = lines / "SROIE2019_lines"
    write_file(folder / "images" / "0.png", word_image("total", fmt="PNG"))
    write_file(folder / "images" / "1.png", word_image("cash", fmt="PNG"))
    write_file(folder / "test.txt", b"images/0.png TOTAL 1\nimages/1.png CASH\n")
    write_file(folder / "test_unseen_text.txt", b"images/1.png CASH\n")
    return real, lines


def test_a_peer_is_read_one_crop_per_call_and_scored_by_each_rule(tmp_path, monkeypatch):
    real, lines = _folders(tmp_path)
    answers = {"hello": "HELLO", "world": "w0rld", "shop": "Shop", "total": "total 1",
               "cash": "CASH"}
    calls = []

    def fake_peer():
        def read(img):  # the lists are read in order, one decoded BGR crop per call
            calls.append(img.shape)
            return answers[order[len(calls) - 1]]
        return read

    order = ["hello", "world", "shop", "total", "cash"]
    monkeypatch.setitem(peers_read.PEERS, "stand_in", fake_peer)
    out = tmp_path / "peer.json"
    peers_read.main(["--peer", "stand_in", "--real_eval_dir", str(real), "--lines_dir", str(lines),
                     "--lists", "IIIT5K/labels.txt,SVTP/labels.txt,SROIE2019_lines/test.txt,"
                     "NOPE/labels.txt", "--out", str(out)])
    assert len(calls) == 5 and all(len(shape) == 3 and shape[2] == 3 for shape in calls)
    result = bench_peers.main(["--real_eval_dir", str(real), "--lines_dir", str(lines),
                               "--predictions", str(out), "--lists",
                               "IIIT5K/labels.txt,SVTP/labels.txt,SROIE2019_lines/test.txt"])
    scored = result["readers"]["stand_in"]
    assert scored["words"]["IIIT5K/labels.txt"]["accuracy"] == 50.0  # case folded, w0rld wrong
    assert scored["words"]["IIIT5K_photos_not_in_train"]["accuracy"] == 0.0
    assert "micro" not in scored["words"]  # only with every set of the micro-average
    assert scored["case_sensitive"]["SVTP/labels.txt"]["accuracy"] == 100.0
    sroie = scored["lines"]["SROIE"]
    assert sroie["all"]["line_accuracy"] == 100.0  # upper-cased: "TOTAL 1"
    assert sroie["unseen_text"]["lines"] == 1
    assert set(scored["ms_per_crop"]) == {"word", "line"}


def test_ours_are_read_and_scored_beside_them(tmp_path):
    real, lines = _folders(tmp_path)
    result = bench_peers.main(["--real_eval_dir", str(real), "--lines_dir", str(lines),
                               "--model", os.path.join(ROOT, "models", "crnn_en"),
                               "--lists", "IIIT5K/labels.txt,SROIE2019_lines/test.txt",
                               "--out", str(tmp_path / "peers.json"),
                               "--save_predictions", str(tmp_path / "ours")])
    (name, scored), = result["readers"].items()
    assert name.startswith("crnn_ctc") and scored["errors"] == 0
    assert scored["words"]["IIIT5K/labels.txt"]["count"] == 2
    assert scored["lines"]["SROIE"]["all"]["lines"] == 2
    assert json.loads((tmp_path / "peers.json").read_text())["benchmark"] == "peers"
    # the saved texts score the same again, without reading
    (saved,) = (tmp_path / "ours").iterdir()
    again = bench_peers.main(["--real_eval_dir", str(real), "--lines_dir", str(lines),
                              "--predictions", str(saved),
                              "--lists", "IIIT5K/labels.txt,SROIE2019_lines/test.txt"])
    assert again["readers"] == result["readers"]
