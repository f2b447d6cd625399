"""Glyph checks on fonts a test makes from DejaVu Sans: caps-only faces, look-alike glyphs,
barcodes, a space that draws ink, blank characters; and the labels a caps-only face gets."""

import os
import string

import pytest
from fontTools import ttLib
from fontTools.pens.ttGlyphPen import TTGlyphPen

from crnn_ctc.synth import font_checks, fonts
from crnn_ctc.synth import generate as synth_generate

ALNUM = string.ascii_letters + string.digits


@pytest.fixture(scope="module")
def dejavu():
    return next(f.path for f in fonts.discover()[0]
                if f.family == "DejaVu Sans" and f.style == "Book")


def _remap(src, dst, mapping, rename=None):
    """A copy of font ``src`` whose cmap sends each char of ``mapping`` to another char's
    glyph (or to a glyph name), written to ``dst``; ``rename`` sets the family name."""
    font = ttLib.TTFont(src)
    cmap = font.getBestCmap()
    for table in font["cmap"].tables:
        if table.isUnicode():
            for char, target in mapping.items():
                table.cmap[ord(char)] = target if len(target) > 1 else cmap[ord(target)]
    if rename:
        for record in font["name"].names:
            if record.nameID in (1, 16):
                record.string = rename
    font.save(dst)
    return str(dst)


def _bar_font(src, dst):
    """Every letter and digit drawn as its own pattern of full-height bars (a barcode)."""
    font = ttLib.TTFont(src)
    cmap = font.getBestCmap()
    glyf, hmtx = font["glyf"], font["hmtx"]
    for k, char in enumerate(ALNUM):
        pen = TTGlyphPen(None)
        x = 0
        for bit in range(6):
            width = 40 + 40 * ((k >> bit) & 1) + 20 * (bit % 2)
            pen.moveTo((x, 0))
            pen.lineTo((x, 1400))
            pen.lineTo((x + width, 1400))
            pen.lineTo((x + width, 0))
            pen.closePath()
            x += width + 50 + 30 * ((k >> (5 - bit)) & 1)
        glyf[cmap[ord(char)]] = pen.glyph()
        hmtx[cmap[ord(char)]] = (x + 40, 0)
    font.save(dst)
    return str(dst)


def _speck_font(src, dst, chars):
    """``chars`` drawn as a speck (a square of 1/25 em), as a damaged or stub glyph is."""
    font = ttLib.TTFont(src)
    cmap = font.getBestCmap()
    for char in chars:
        pen = TTGlyphPen(None)
        pen.moveTo((500, 500))
        pen.lineTo((500, 580))
        pen.lineTo((580, 580))
        pen.lineTo((580, 500))
        pen.closePath()
        font["glyf"][cmap[ord(char)]] = pen.glyph()
    font.save(dst)
    return str(dst)


def _verdict(path, chars=ALNUM):
    from PIL import ImageFont

    return font_checks.check(ImageFont.truetype(path, font_checks.SIZE), sorted(chars))


def test_an_ordinary_face_passes(dejavu):
    verdict = _verdict(dejavu, ALNUM + " ")
    assert verdict == font_checks.Verdict(caps_only=False, blank=frozenset(), reason="")


def test_lower_case_drawn_as_capitals_is_caps_only(dejavu, tmp_path):
    caps = _remap(dejavu, tmp_path / "caps.ttf", {c: c.upper() for c in string.ascii_lowercase})
    assert _verdict(caps).caps_only and not _verdict(caps).reason
    font = fonts.load_font(caps, ALNUM)
    assert font.caps_only and font.chars == set(ALNUM)
    # Half the lower case swapped is still an ordinary face.
    half = _remap(dejavu, tmp_path / "half.ttf", {c: c.upper() for c in "abdefg"})
    assert not _verdict(half).caps_only


@pytest.mark.parametrize("make,reason", [
    (lambda src, dst: _remap(src, dst, {c: "O" for c in ALNUM if c != "O"}),
     "its glyphs look alike"),
    (lambda src, dst: _remap(src, dst, {" ": "underscore"}), "its space draws ink"),
    (_bar_font, "its glyphs are vertical bars"),
    (lambda src, dst: _remap(src, dst, {}, rename="Yarndings 20"), "Yarndings 20: dingbats"),
    (lambda src, dst: _remap(src, dst, {}, rename="Playwrite US Trad Guides"),
     "handwriting guide lines"),
])
def test_faces_that_draw_no_letters_are_left_out(dejavu, tmp_path, make, reason):
    path = make(dejavu, tmp_path / "odd.ttf")
    got = fonts.load_font(path, ALNUM + " ")
    assert isinstance(got, str) and reason in got
    found, skipped = fonts.discover([str(tmp_path)], ALNUM)
    assert not found and skipped == [f"{path}: {got}"]


def test_a_blank_glyph_is_not_a_character(dejavu, tmp_path):
    path = _speck_font(dejavu, tmp_path / "speck.ttf", "x7")
    assert _verdict(path).blank == {"x", "7"}
    font = fonts.load_font(path, ALNUM)
    assert font.chars == set(ALNUM) - {"x", "7"} and not font.covers("box")


@pytest.mark.parametrize("caps_only,text,charset,want", [
    (False, "Paris", ALNUM, "Paris"),
    (True, "Paris", ALNUM, "PARIS"),
    (True, "PARIS", string.ascii_uppercase, "PARIS"),
    (True, "paris", string.ascii_lowercase, "paris"),  # a case-free charset keeps the text
    (True, "paris", string.ascii_lowercase + "P", None),  # A, R, I, S missing: not drawable
    (True, "42", string.digits, "42"),
])
def test_labels_say_what_a_caps_only_face_draws(caps_only, text, charset, want):
    font = fonts.Font(path="x.ttf", family="X", style="", chars=frozenset(ALNUM),
                      caps_only=caps_only)
    assert font.label(text, frozenset(charset)) == want


def test_the_generator_labels_caps_only_images_in_capitals(dejavu, tmp_path):
    folder = tmp_path / "fonts"
    folder.mkdir()
    _remap(dejavu, folder / "caps.ttf", {c: c.upper() for c in string.ascii_lowercase},
           rename="Caps Test")
    cfg = synth_generate.GenerateConfig(output_dir=str(tmp_path / "out"), count=12,
                                        num_workers=1, progress=False, random_share=0.0,
                                        fonts_dirs=(str(folder),))
    synth_generate.generate(cfg)
    with open(os.path.join(cfg.output_dir, "image_list.txt"), encoding="utf-8") as f:
        labels = [line.rstrip("\n").split(" ", 1)[1] for line in f]
    assert len(labels) == 12 and all(label == label.upper() for label in labels)
    assert any(c.isalpha() for label in labels for c in label)


def test_verdicts_are_cached_and_a_changed_file_is_read_again(dejavu, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "f"
    folder.mkdir()
    path = _remap(dejavu, folder / "a.ttf", {})
    calls = []
    real = fonts.load_font
    monkeypatch.setattr(fonts, "load_font", lambda p, c: calls.append(p) or real(p, c))
    first, _ = fonts.discover([str(folder)], ALNUM)
    again, _ = fonts.discover([str(folder)], ALNUM)
    assert calls == [path] and first == again and os.path.exists(fonts.cache_path())
    _remap(dejavu, path, {c: c.upper() for c in string.ascii_lowercase})  # same path, new file
    os.utime(path, ns=(1, 1))
    changed, _ = fonts.discover([str(folder)], ALNUM)
    assert calls == [path, path] and changed[0].caps_only and not first[0].caps_only
