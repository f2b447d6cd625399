"""The synthetic word generator: determinism, charset, decodable variable-size images, font
split, and a set that create_tfrecord reads as is."""

import dataclasses
import json
import os
import string

import cv2
import numpy as np
import pytest

from crnn_ctc.data import convert
from crnn_ctc.data.charset import Charset
from crnn_ctc.synth import fonts, render, text
from crnn_ctc.synth import generate as synth_generate

ALNUM = string.ascii_letters + string.digits


@pytest.fixture(scope="module")
def pool():
    found, skipped = fonts.discover()
    return found, skipped


def generate(out, count=24, **kwargs):
    cfg = synth_generate.GenerateConfig(output_dir=str(out), count=count, progress=False,
                                        **{"num_workers": 1, **kwargs})
    return synth_generate.generate(cfg)


def read_list(out):
    with open(os.path.join(out, "image_list.txt"), encoding="utf-8") as f:
        return [line.rstrip("\n").split(" ", 1) for line in f]


def file_bytes(out, rel):
    with open(os.path.join(out, rel), "rb") as f:
        return f.read()


def test_default_pool_families_and_left_out_fonts(pool):
    found, skipped = pool
    families = {f.family for f in found}
    assert families == {
        "Amatic SC", "Caladea", "Computer Modern Roman", "Computer Modern Sans",
        "Computer Modern Typewriter", "DejaVu Sans", "DejaVu Sans Mono", "DejaVu Serif",
        "Fredoka One", "Hanken Grotesk", "Intuitive", "Lato", "Manrope", "Roboto",
        "STIXGeneral", "Source Sans Pro", "Source Serif Pro",
    }  # fmt: skip
    assert fonts.test_families(found) == {"Caladea", "DejaVu Serif", "Intuitive",
                                          "Source Sans Pro"}
    reasons = {os.path.basename(s.split(": ")[0]): s.split(": ", 1)[1] for s in skipped}
    assert reasons["LastResortHE-Regular.ttf"] == "symbol or placeholder font"
    assert reasons["cmsy10.ttf"] == "symbol or placeholder font"
    assert reasons["STIXSizOneSymReg.ttf"] == "covers none of the charset"
    assert reasons["SourceSansPro-Bold.otf"] == "duplicate of Source Sans Pro Bold"
    assert reasons["Manrope-VariableFont_wght.ttf"] == "duplicate of Manrope ExtraLight"
    # Every font draws all 62 letters and digits, except that none is trusted beyond them.
    assert all(f.chars >= set(ALNUM) for f in found)
    cm = [f for f in found if f.family.startswith("Computer Modern")]
    assert len(cm) == 5 and all(f.chars == set(ALNUM) for f in cm)


def test_font_split_is_disjoint_and_covers_every_family(pool):
    found, _ = pool
    train, test = fonts.split(found, "train"), fonts.split(found, "test")
    train_f, test_f = {f.family for f in train}, {f.family for f in test}
    assert not train_f & test_f
    assert train_f | test_f == {f.family for f in found}
    assert len(test_f) == round(0.25 * len(train_f | test_f))
    assert len(train) + len(test) == len(found) and fonts.split(found, "all") == found
    # Two families, any share: one on each side.
    two = [f for f in found if f.family in ("Roboto", "DejaVu Sans")]
    for share in (0.0, 0.5, 1.0):
        assert len({f.family for f in fonts.split(two, "test", share)}) == 1
        assert len({f.family for f in fonts.split(two, "train", share)}) == 1
    with pytest.raises(ValueError, match="font split 'dev'"):
        fonts.split(found, "dev")


def test_same_seed_same_images_for_any_worker_count(tmp_path):
    generate(tmp_path / "a", count=30, seed=5, num_workers=1)
    generate(tmp_path / "b", count=30, seed=5, num_workers=2)
    generate(tmp_path / "c", count=30, seed=6, num_workers=1)
    a, b, c = (read_list(tmp_path / n) for n in "abc")
    assert a == b and len(a) == 30
    assert all(file_bytes(tmp_path / "a", p) == file_bytes(tmp_path / "b", p) for p, _ in a)
    assert sum(x != y for x, y in zip(a, c, strict=True)) >= 25  # another seed, other words
    # A larger --count extends a smaller one.
    generate(tmp_path / "d", count=40, seed=5, num_workers=2)
    assert read_list(tmp_path / "d")[:30] == a


def test_images_decode_with_varied_sizes_and_the_list_names_them(tmp_path):
    summary = generate(tmp_path, count=40, seed=1)
    rows = read_list(tmp_path)
    assert summary["images"] == 40 and not summary["skipped"]
    assert rows[0][0] == "images/0000/00000000.jpg" and rows[39][0] == "images/0000/00000039.jpg"
    shapes = []
    for rel, label in rows:
        img = cv2.imdecode(np.frombuffer(file_bytes(tmp_path, rel), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.ndim == 3 and img.shape[2] == 3, rel
        assert img.shape[0] >= 12 and img.shape[1] >= img.shape[0] * 0.3, (rel, label)
        shapes.append(img.shape[:2])
    assert len(set(shapes)) >= 30  # variable-size crops
    saved = json.loads((tmp_path / "generate.json").read_text())
    assert saved["images"] == 40 and saved["settings"]["seed"] == 1


@pytest.mark.parametrize(
    "charset, kwargs, allowed",
    [
        ("alnum", {}, set(ALNUM)),
        ("alnum_lower", {}, set(string.ascii_lowercase + string.digits)),
        ("digits.txt", {"random_share": 1.0}, set(string.digits)),
        ("printable", {"random_share": 1.0, "digit_share": 0.0}, set(string.printable[:94])),
    ],
)
def test_labels_use_only_the_charset(tmp_path, charset, kwargs, allowed):
    if charset == "digits.txt":
        Charset(list(string.digits)).save(str(tmp_path / charset))
        charset = str(tmp_path / charset)
    generate(tmp_path / "out", count=60, charset=charset, **kwargs)
    labels = [label for _, label in read_list(tmp_path / "out")]
    assert len(labels) == 60
    used = set("".join(labels))
    assert used <= allowed and len(used) >= min(10, len(allowed)), used
    if charset == "alnum":  # the case mix shows up
        assert any(w.isupper() for w in labels) and any(w.islower() for w in labels)


def test_a_charset_no_word_fits_is_a_clear_error(tmp_path):
    Charset(list(string.digits)).save(str(tmp_path / "digits.txt"))
    with pytest.raises(ValueError, match="no word of the list fits the charset"):
        generate(tmp_path / "out", charset=str(tmp_path / "digits.txt"))


def test_case_mix_follows_the_weights_and_the_charset():
    words = ["hello", "World"]
    rng = np.random.default_rng(0)
    only_upper = text.TextSampler(
        text.TextConfig(charset=ALNUM, random_share=0.0, case_weights=(0, 1, 0, 0)), words)
    assert {only_upper.sample(rng) for _ in range(20)} == {"HELLO", "WORLD"}
    title = text.TextSampler(
        text.TextConfig(charset=ALNUM, random_share=0.0, case_weights=(0, 0, 1, 0)), words)
    assert {title.sample(rng) for _ in range(20)} == {"Hello", "World"}
    # A lowercase charset never draws UPPER or as-is "World", whatever the weights.
    lower = text.TextSampler(
        text.TextConfig(charset=string.ascii_lowercase, random_share=0.0,
                              case_weights=(0.1, 1, 1, 1)), words)
    assert {lower.sample(rng) for _ in range(20)} == {"hello", "world"}
    digits = text.TextSampler(
        text.TextConfig(charset=ALNUM, random_share=1.0, digit_share=1.0,
                              random_max_length=4), words)
    drawn = [digits.sample(rng) for _ in range(50)]
    assert all(s.isdigit() and 1 <= len(s) <= 4 for s in drawn)


def test_length_weights_set_how_long_words_and_random_strings_are():
    words = ["ab", "cat", "dogs", "horse", "giraffe"]
    rng = np.random.default_rng(0)
    # Uniform over the list without weights: every word shows up.
    plain = text.TextSampler(text.TextConfig(charset=ALNUM, random_share=0.0,
                                             case_weights=(1, 0, 0, 0)), words)
    assert {plain.sample(rng) for _ in range(200)} == set(words)
    # 3 letters three times as often as 4; 7 (giraffe) never; 2 letters never.
    cfg = text.TextConfig(charset=ALNUM, random_share=0.0, case_weights=(1, 0, 0, 0),
                          length_weights=((3, 3.0), (4, 1.0)))
    drawn = [text.TextSampler(cfg, words).sample(rng) for _ in range(2000)]
    assert set(drawn) == {"cat", "dogs"}
    assert 0.70 < drawn.count("cat") / len(drawn) < 0.80
    # Random strings follow the same table.
    strings = text.TextSampler(dataclasses.replace(cfg, random_share=1.0), words)
    lengths = [len(strings.sample(rng)) for _ in range(2000)]
    assert set(lengths) == {3, 4} and 0.70 < lengths.count(3) / len(lengths) < 0.80
    # A length the list has no word of is left out for words, not an error.
    only_five = text.TextSampler(
        text.TextConfig(charset=ALNUM, random_share=0.0, case_weights=(1, 0, 0, 0),
                        length_weights=((5, 1.0), (6, 5.0))), words)
    assert {only_five.sample(rng) for _ in range(50)} == {"horse"}
    with pytest.raises(ValueError, match="no word of the list has a length"):
        text.TextSampler(text.TextConfig(charset=ALNUM, random_share=0.0,
                                         length_weights=((6, 1.0),)), words)
    with pytest.raises(ValueError, match="some length in 1..16 must have weight"):
        text.TextConfig(charset=ALNUM, length_weights=((20, 1.0),))


def test_scene_lengths_match_real_crops_median_and_specs_parse():
    table = dict(text.parse_length_weights("scene"))
    assert table == {n: float(w) for n, w in text.SCENE_LENGTHS.items()}
    sampler = text.TextSampler(text.TextConfig(charset=ALNUM, random_share=0.15,
                                               length_weights=tuple(table.items())),
                               text.load_words())
    rng = np.random.default_rng(1)
    lengths = [len(sampler.sample(rng)) for _ in range(3000)]
    assert np.median(lengths) == 5  # the real crops' median; the list's own is 8
    assert text.parse_length_weights("") == text.parse_length_weights("words") == ()
    assert text.parse_length_weights("0,0,3,5") == ((1, 0.0), (2, 0.0), (3, 3.0), (4, 5.0))
    assert text.parse_length_weights("4:2, 3:1") == ((3, 1.0), (4, 2.0))
    for bad in ("long", "3:x", "0:1", "1,-2", "3:nan", "1,inf", "3:1,3:2"):
        with pytest.raises(ValueError, match="length weights"):
            text.parse_length_weights(bad)


def test_words_longer_than_max_length_or_outside_the_charset_are_dropped():
    sampler = text.TextSampler(
        text.TextConfig(charset=string.ascii_lowercase, max_length=5),
        ["short", "toolong", "caf\u00e9", "ok"])
    assert sampler.words == ["short", "ok"] and sampler.dropped == 2


def test_fonts_dir_and_its_errors(tmp_path, pool):
    found, _ = pool
    one = next(f for f in found if f.family == "Roboto")
    (tmp_path / "fonts").mkdir()
    os.symlink(one.path, tmp_path / "fonts" / "Roboto.ttf")
    (tmp_path / "fonts" / "broken.ttf").write_bytes(b"not a font")
    summary = generate(tmp_path / "out", count=5, fonts_dirs=(str(tmp_path / "fonts"),))
    assert summary["families"] == ["Roboto"]
    assert summary["left_out"][0].startswith(str(tmp_path / "fonts" / "broken.ttf"))
    assert "cannot read" in summary["left_out"][0]
    with pytest.raises(FileNotFoundError, match="--fonts_dir .*nope: no such folder"):
        generate(tmp_path / "x", fonts_dirs=(str(tmp_path / "nope"),))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no usable font in .*empty"):
        generate(tmp_path / "y", fonts_dirs=(str(tmp_path / "empty"),))


def test_render_styles_differ_and_stay_readable(pool):
    found, _ = pool
    font = next(f for f in found if f.family == "DejaVu Sans" and f.style == "Book")
    for name, style in render.STYLES.items():
        drawn = []
        for seed in range(20):  # styles with min_visible refuse washed-out draws; the generator
            try:                # redraws
                drawn.append(render.render("Hello", font, np.random.default_rng(seed), style))
            except ValueError as err:
                assert style.min_visible > 0 and "not visible" in str(err)
        assert len(drawn) >= 10, name
        for img in drawn:
            assert img.dtype == np.uint8 and img.ndim == 3
            assert img.std() > 10  # text and ground differ
    clean = render.render("Hello", font, np.random.default_rng(0),
                                render.STYLES["clean"])
    grey = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY).astype(float)
    # clean: a flat ground (the border rows barely vary) behind high-contrast text
    assert np.median(np.abs(np.diff(grey[0]))) < 3 and grey.max() - grey.min() > 80


def test_create_tfrecord_reads_the_set_as_is(tmp_path):
    generate(tmp_path / "synth", count=50, seed=2)
    report = convert.convert(convert.ConvertConfig(
        image_dir=str(tmp_path / "synth"), anno_file=str(tmp_path / "synth" / "image_list.txt"),
        data_dir=str(tmp_path / "tfrecords"), validation_split_fraction=0.0, num_workers=1,
        num_shards=1, progress=False))
    assert report["records"] == 50 and report["skipped_total"] == 0, report
    assert report["splits"]["train"]["records"] == 50


def test_texts_no_font_can_draw_are_skipped_with_the_reason(tmp_path, pool):
    found, _ = pool
    cm = next(f for f in found if f.path.endswith("cmr10.ttf"))  # letters and digits only
    (tmp_path / "fonts").mkdir()
    os.symlink(cm.path, tmp_path / "fonts" / "cmr10.ttf")
    summary = generate(tmp_path / "out", count=30, charset="printable", random_share=1.0,
                       digit_share=0.0, fonts_dirs=(str(tmp_path / "fonts"),),
                       style="mjsynth")
    rows = read_list(tmp_path / "out")
    assert summary["images"] == len(rows) and len(rows) + len(summary["skipped"]) == 30
    assert summary["skipped"] and rows  # both happen with this seed
    assert all("no font draws every character of" in s for s in summary["skipped"])
    assert all(set(label) <= set(ALNUM) for _, label in rows)
    skipped = {int(s.split(":")[0]) for s in summary["skipped"]}
    assert {int(p.rsplit("/", 1)[1][:-4]) for p, _ in rows} == set(range(30)) - skipped


def test_backgrounds_dir_photos_show_behind_the_text(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    blue = np.zeros((120, 300, 3), np.uint8)
    blue[..., 0] = rng.integers(200, 256, (120, 300))  # BGR: strongly blue, textured
    cv2.imwrite(str(photos / "blue.png"), blue)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    cv2.imwrite(str(photos / "tiny.png"), blue[:8, :8])

    def blue_grounds(out):
        count = 0
        for rel, _ in read_list(out):
            img = cv2.imdecode(np.frombuffer(file_bytes(out, rel), np.uint8), cv2.IMREAD_COLOR)
            corners = np.concatenate([img[:2, :2].reshape(-1, 3), img[-2:, -2:].reshape(-1, 3)])
            b, g, r = corners.mean(axis=0)
            count += b > 150 and b > g + 80 and b > r + 80
        return count

    summary = generate(tmp_path / "with", count=60, backgrounds_dir=str(photos))
    generate(tmp_path / "without", count=60)
    assert sorted(os.path.basename(s.split(": ")[0]) for s in summary["left_out"]
                  if "photos" in s) == ["broken.jpg", "tiny.png"]
    # mjsynth style: about half the images on a photo crop
    assert blue_grounds(tmp_path / "with") >= blue_grounds(tmp_path / "without") + 15
    (photos / "none").mkdir()
    (photos / "none" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"--backgrounds_dir .*none: no usable image"):
        generate(tmp_path / "x", backgrounds_dir=str(photos / "none"))
    with pytest.raises(FileNotFoundError, match="nothing: no such folder"):
        generate(tmp_path / "y", backgrounds_dir=str(photos / "nothing"))


def test_a_character_drawn_as_the_missing_glyph_box_is_not_covered(tmp_path, pool):
    from fontTools.ttLib import TTFont

    found, _ = pool
    src = next(f for f in found if f.family == "DejaVu Sans" and f.style == "Book").path
    tt = TTFont(src)
    for table in tt["cmap"].tables:
        if table.isUnicode():
            table.cmap[ord("7")] = ".notdef"  # mapped, but to the "no glyph" box
    tt.save(tmp_path / "boxed.ttf")
    font = fonts.load_font(str(tmp_path / "boxed.ttf"), ALNUM)
    assert "7" not in font.chars and set(ALNUM) - {"7"} <= font.chars
    assert "7" in fonts.load_font(src, ALNUM).chars


def test_symbol_fonts_are_left_out_by_name(tmp_path, pool):
    found, _ = pool
    src = next(f for f in found if f.family == "Roboto").path
    (tmp_path / "fonts").mkdir()
    for stem in ("D050000L", "StandardSymbolsPS", "Ubuntu-Title", "Roboto"):
        os.symlink(src, tmp_path / "fonts" / f"{stem}.ttf")
    kept, skipped = fonts.discover([str(tmp_path / "fonts")])
    assert [os.path.basename(f.path) for f in kept] == ["Roboto.ttf"]
    assert sum("symbol or placeholder font" in s for s in skipped) == 3


@pytest.mark.parametrize("sampling,low,high", [("family", 0.35, 0.65), ("font", 0.0, 0.3)])
def test_font_sampling_family_gives_every_family_the_same_share(tmp_path, pool, sampling,
                                                                low, high):
    found, _ = pool
    (tmp_path / "fonts").mkdir()
    many = [f for f in found if f.family == "Source Sans Pro"]  # 12 styles
    one = next(f for f in found if f.family == "Fredoka One")  # 1 style
    assert len(many) >= 6
    for f in [*many, one]:
        os.symlink(f.path, tmp_path / "fonts" / os.path.basename(f.path))
    summary = generate(tmp_path / "out", count=200, fonts_dirs=(str(tmp_path / "fonts"),),
                       font_sampling=sampling, style="clean")
    with open(tmp_path / "out" / "image_fonts.tsv", encoding="utf-8") as f:
        used = [line.rstrip("\n").split("\t")[1] for line in f]
    assert summary["images"] == len(used) == 200
    share = sum(u == os.path.basename(one.path) for u in used) / len(used)
    assert low <= share <= high, share
    with pytest.raises(ValueError, match="--font_sampling 'style'"):
        synth_generate.GenerateConfig(output_dir=str(tmp_path), count=1, font_sampling="style")


def test_fonts_dir_default_entry_adds_the_pip_pool(tmp_path, pool):
    found, _ = pool
    (tmp_path / "fonts").mkdir()
    extra = next(f for f in found if f.family == "Roboto")
    import shutil

    shutil.copy(extra.path, tmp_path / "fonts" / "Copy.ttf")  # the same face: a duplicate
    both, skipped = fonts.discover(["default", str(tmp_path / "fonts")])
    faces = {(f.family, f.style) for f in found}
    assert len(both) == len(found) and {(f.family, f.style) for f in both} == faces
    assert sum(f"duplicate of Roboto {extra.style}" in s for s in skipped) == 1


@pytest.mark.parametrize("sampling", ["font", "family"])
def test_font_picks_follow_the_sampling_rule_without_scanning(sampling):
    """pick_font's rejection sampling gives the distribution of filtering first: uniform over
    the fonts (or families) that draw the text; none when no font does."""
    def font(family, i, chars):
        return fonts.Font(path=f"{family}{i}.ttf", family=family, style=str(i),
                          chars=frozenset(chars))
    pool = ([font("Big", i, ALNUM) for i in range(8)] + [font("One", 0, ALNUM)]
            + [font("Digits", i, string.digits) for i in range(5)])
    cfg = synth_generate.GenerateConfig(output_dir="unused", count=1, font_sampling=sampling)
    renderer = synth_generate._Renderer(cfg, pool, ALNUM, [])
    rng = np.random.default_rng(0)
    picks = [renderer.pick_font("word", rng) for _ in range(3000)]
    assert all(p.family != "Digits" for p in picks)
    share_one = sum(p.family == "One" for p in picks) / len(picks)
    # family: Big and One alike (1/2); font: 1 file of 9 (1/9)
    assert share_one == pytest.approx(0.5 if sampling == "family" else 1 / 9, abs=0.03)
    assert renderer.pick_font("word" + chr(0x416), rng) is None
