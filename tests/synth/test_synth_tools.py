"""The synthetic-data tools end to end as a user runs them: fetch_fonts.py against the local
registry stand-in, fetch_backgrounds.py with a stand-in apt-get on PATH, and generate_synthetic.py
with --style scene, the fetched fonts and backgrounds, and --render."""

import json
import os
import stat
import subprocess
import sys

import cv2

from tests.conftest import ROOT
from tests.synth.test_background_fetch import _deb, _png
from tests.synth.test_font_fetch import dejavu, registry  # noqa: F401 (fixtures)


def _tool(name, *args, env=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", name), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def test_fetch_then_generate_with_the_scene_style(registry, tmp_path):  # noqa: F811
    fonts_dir, bg_dir, out = tmp_path / "fonts", tmp_path / "bg", tmp_path / "synth"
    res = _tool("fetch_fonts.py", "--dest", str(fonts_dir), "--registry", registry.url,
                "--families", "good-sans,Good Serif", "--noprogress")
    assert res.returncode == 0, res.stderr
    assert "4 font files of 2 families" in res.stderr
    # apt-get stand-in: "downloads" a .deb the test built into the current folder
    bin_dir, debs = tmp_path / "bin", tmp_path / "debs"
    bin_dir.mkdir()
    debs.mkdir()
    _deb(debs / "walls_1.0_all.deb", {"usr/share/backgrounds/Lake.jpg": _png(300, 500),
                                      "usr/share/doc/walls/copyright": b"License: CC0-1.0\n"})
    fake = bin_dir / "apt-get"
    fake.write_text(f"#!/bin/sh\n[ \"$1\" = download ] && [ -f {debs}/$2_1.0_all.deb ] && "
                    f"cp {debs}/$2_1.0_all.deb . && exit 0\necho 'E: Unable to locate "
                    "package' >&2\nexit 100\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    res = _tool("fetch_backgrounds.py", "--dest", str(bg_dir), "--packages", "walls,gone",
                env={"PATH": path})
    assert res.returncode == 0, res.stderr
    assert "1 images from walls" in res.stderr and "1 left out" in res.stderr
    res = _tool("generate_synthetic.py", "--output_dir", str(out), "--count", "12",
                "--num_workers", "1", "--style", "scene", "--fonts_dir", str(fonts_dir),
                "--backgrounds_dir", str(bg_dir), "--render", "neighbour_prob=1,relief_prob=0",
                "--length_weights", "3:1,4:1", "--progress=false")
    assert res.returncode == 0, res.stderr
    with open(out / "generate.json", encoding="utf-8") as f:
        summary = json.load(f)
    assert summary["images"] == 12 and summary["families"] == ["DejaVu Sans", "DejaVu Serif"]
    assert summary["settings"]["render_overrides"] == [["neighbour_prob", 1.0],
                                                       ["relief_prob", 0.0]]
    assert summary["settings"]["length_weights"] == [[3, 1.0], [4, 1.0]]
    with open(out / "image_list.txt", encoding="utf-8") as f:
        lines = [line.rstrip("\n").split(" ", 1) for line in f]
    rels = [rel for rel, _ in lines]
    assert {len(label) for _, label in lines} <= {3, 4}
    assert len(rels) == 12 and all(cv2.imread(str(out / r)) is not None for r in rels)


def test_bad_render_settings_are_clear_errors(tmp_path):
    res = _tool("generate_synthetic.py", "--output_dir", str(tmp_path), "--count", "2",
                "--render", "neighbor_prob=1")
    assert res.returncode == 1 and "--render neighbor_prob: settable are" in res.stderr
    res = _tool("generate_synthetic.py", "--output_dir", str(tmp_path), "--count", "2",
                "--render", "edge_prob")
    assert res.returncode == 1 and "write name=number" in res.stderr
    res = _tool("generate_synthetic.py", "--output_dir", str(tmp_path), "--count", "2",
                "--length_weights", "short")
    assert res.returncode == 1
    assert "length weights 'short': words, a table name (scene, line)" in res.stderr
    # checked before the workers start: one clear line, not a broken process pool
    res = _tool("generate_synthetic.py", "--output_dir", str(tmp_path), "--count", "2",
                "--num_workers", "2", "--max_length", "8", "--length_weights", "10:1")
    assert res.returncode == 1 and "some length in 1..8 must have weight" in res.stderr
    assert "Traceback" not in res.stderr


def test_fetch_backgrounds_without_apt_get_says_what_to_do(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _tool("fetch_backgrounds.py", "--dest", str(tmp_path / "bg"), env={"PATH": str(empty)})
    assert res.returncode == 1
    assert "apt-get not found" in res.stderr and "your own photos" in res.stderr
