"""The scene style (synthetic data v2): each effect, the colour palette, style overrides, the
visibility check, and that the older styles make the same pixels as before the effects."""

import os
import string

import cv2
import numpy as np
import pytest
from PIL import ImageFont

from crnn_ctc.cli.generate_synthetic import _overrides
from crnn_ctc.synth import fonts, palette, render, scene
from crnn_ctc.synth import generate as synth_generate

ALNUM = string.ascii_letters + string.digits
EFFECTS = ("neighbour_prob", "lines_prob", "edge_prob", "distractor_prob", "palette_prob",
           "relief_prob", "elastic_prob", "motion_blur_prob", "exposure_prob")


@pytest.fixture(scope="module")
def font():
    return next(f for f in fonts.discover()[0] if f.family == "DejaVu Sans"
                and f.style == "Book")


def _image(seed=0, h=40, w=120):
    rng = np.random.default_rng(seed)
    image = np.full((h, w, 3), 200, np.uint8)
    cv2.putText(image, "Ab1", (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (30, 30, 30), 2)
    return image.astype(np.float32) + rng.normal(0, 2, image.shape).astype(np.float32)


@pytest.mark.parametrize("effect", [
    lambda im, rng: scene.edges(im, rng, np.float32([0, 0, 255])),
    lambda im, rng: scene.elastic(im, rng),
    lambda im, rng: scene.motion_blur(im, rng),
    lambda im, rng: scene.exposure(im, rng),
])
def test_image_effects_keep_the_shape_change_pixels_and_repeat(effect):
    image = _image()
    a = effect(image.copy(), np.random.default_rng(3))
    b = effect(image.copy(), np.random.default_rng(3))
    assert a.shape == image.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert float(np.abs(a - image).mean()) > 0.5


def test_relief_draws_letters_by_shading_not_colour():
    ink = np.zeros((40, 120), np.uint8)
    cv2.putText(ink, "Ab", (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 3)
    alpha = ink.astype(np.float32) / 255.0
    ground = np.float32([120, 120, 120])
    image = np.broadcast_to(ground, (40, 120, 3)).astype(np.float32)
    for seed in range(6):
        out = scene.relief(image.copy(), alpha, ground, np.random.default_rng(seed))
        assert out.shape == image.shape
        edge = cv2.dilate(alpha, np.ones((5, 5))) > 0
        assert float(np.abs(out - image)[edge].mean()) > 5.0  # something is visible
        assert float(np.abs(out - image)[~cv2.dilate(edge.astype(np.uint8),
                                                     np.ones((15, 15))).astype(bool)].max()) < 1


def test_neighbours_sit_beside_the_word_and_lines_above_or_below(font):
    pil = ImageFont.truetype(font.path, 32)
    shape, box = (160, 400), (120, 60, 260, 98)  # the word's text box on its canvas
    x0, y0, x1, y1 = box
    side = above = 0
    for seed in range(20):
        layer = scene.neighbours(shape, pil, box, "abcdef", np.random.default_rng(seed), True)
        assert layer.shape == shape and layer.max() <= 1.0
        assert not layer[y0 + 4:y1 - 4, x0 + 2:x1 - 2].any()  # never over the word itself
        side += bool(layer[y0:y1, :x0].any() or layer[y0:y1, x1:].any())
        above += bool(layer[:y0 - 2].any() or layer[y1 + 2:].any())
    assert side >= 15 and above >= 5


@pytest.mark.parametrize("start,step,most,want", [
    (10, -1, 2, 7),  # ink at columns 4-5 left of 10: reach 10 - 5 + 2 = 7 -> crop from col 3
    (20, 1, 2, 7),  # ink from column 25 right of 20
    (10, -1, 0, 5),
    (26, 1, 1, None),  # nothing right of 26
])
def test_sliver_pad_reaches_at_most_most_pixels_into_a_neighbour(start, step, most, want):
    ink = np.zeros((3, 30), bool)
    ink[1, 4:6] = True
    ink[0, 25] = True
    assert scene.sliver_pad(ink, start, step, most) == want


def test_edges_stay_in_the_margin():
    image = np.full((40, 120, 3), 200, np.float32)
    box = (30, 10, 90, 30)  # the word's ink
    for seed in range(30):
        out = scene.edges(image, np.random.default_rng(seed), np.float32([0, 0, 0]), box)
        changed = np.abs(out - image).max(axis=2) > 1
        assert not changed[box[1]:box[3], box[0]:box[2]].any()
    tight = scene.edges(image, np.random.default_rng(0), np.float32([0, 0, 0]), (0, 0, 120, 40))
    np.testing.assert_array_equal(tight, image)  # no margin: no stroke


def test_chance_draws_nothing_at_zero():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert not render._chance(rng, 0.0)
    assert rng.bit_generator.state == state
    assert render._chance(np.random.default_rng(0), 1.0)


def test_the_older_styles_draw_no_effect(font):
    """mjsynth and clean set every effect to 0, so they take no draw for one: their pixels
    are those of the generator before the scene style."""
    for name in ("mjsynth", "clean"):
        assert all(getattr(render.STYLES[name], e) == 0 for e in EFFECTS)
        for setting in ("min_visible", "log_size_prob", "lowres_min_height", "tilt_prob"):
            assert getattr(render.STYLES[name], setting) == 0, (name, setting)
    assert all(getattr(render.STYLES["scene"], e) > 0 for e in EFFECTS)


@pytest.mark.parametrize("effect", EFFECTS)
def test_scene_renders_with_each_effect_always_on(font, effect):
    cfg = render.style("scene", {e: (1.0 if e == effect else 0.0) for e in EFFECTS})
    for seed in range(6):
        rng = np.random.default_rng(seed)
        try:
            image = render.render("Hello42", font, rng, cfg, None, ALNUM)
        except ValueError as err:  # a washed-out draw is refused, never returned
            assert "not visible" in str(err)
            continue
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[0] >= 8
        again = render.render("Hello42", font, np.random.default_rng(seed), cfg, None, ALNUM)
        np.testing.assert_array_equal(image, again)


def test_neighbours_put_ink_at_the_crop_borders(font):
    """On a flat background, ink in the outermost columns means the crop cut into a character
    beside the word (or the word touches the side): far more often with neighbours."""
    flat = {e: 0.0 for e in EFFECTS} | {"texture_prob": 0, "blur_prob": 0, "lowres_prob": 0,
                                          "border_prob": 0, "shadow_prob": 0, "min_contrast": 120}
    shares = []
    for near in (0.0, 1.0):
        cfg = render.style("scene", flat | {"neighbour_prob": near})
        hits = 0
        for seed in range(40):
            image = render.render("word", font, np.random.default_rng(seed), cfg, None, ALNUM)
            luma = image.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
            ground = np.median(luma[[0, -1]][:, [0, -1]])
            sides = np.concatenate([luma[:, :2], luma[:, -2:]], axis=1)
            hits += bool((np.abs(sides - ground) > 60).any())
        shares.append(hits / 40)
    assert shares[1] >= shares[0] + 0.15, shares


def test_log_font_sizes_make_small_crops_and_lowres_keeps_a_floor(font, monkeypatch):
    flat = {e: 0.0 for e in EFFECTS} | {"min_visible": 0}
    heights = {}
    for log in (0.0, 1.0):
        cfg = render.style("scene", flat | {"log_size_prob": log, "lowres_prob": 0})
        heights[log] = [render.render("word", font, np.random.default_rng(s), cfg).shape[0]
                        for s in range(60)]
    # uniform 20-64 px against log-uniform 12-64 px (medians about 42 and 28)
    assert np.median(heights[1.0]) < 0.8 * np.median(heights[0.0]), heights
    assert min(heights[1.0]) < min(heights[0.0])
    downscaled = []
    real_resize = cv2.resize

    def spy(image, size, *args, **kwargs):
        if kwargs.get("interpolation") == cv2.INTER_AREA:
            downscaled.append(size[1] - min(14, image.shape[0]))  # < 0: under the floor
        return real_resize(image, size, *args, **kwargs)

    monkeypatch.setattr(render.cv2, "resize", spy)
    lowest = {}
    for floor in (0.0, 14.0):
        downscaled.clear()
        cfg = render.style("scene", flat | {"log_size_prob": 1, "lowres_prob": 1,
                                            "lowres_min_height": floor})
        for seed in range(60):
            render.render("word", font, np.random.default_rng(seed), cfg)
        lowest[floor] = min(downscaled)
    assert lowest[0.0] < 0 <= lowest[14.0], lowest  # (or the crop's own height, if less)


def test_tilted_words_stay_whole_on_a_taller_crop(font):
    flat = {e: 0.0 for e in EFFECTS} | {"min_visible": 0, "lowres_prob": 0, "curve_prob": 0}
    aspects = {}
    for tilt in (0.0, 1.0):
        cfg = render.style("scene", flat | {"tilt_prob": tilt, "tilt_deg": 30})
        images = [render.render("tilted", font, np.random.default_rng(s), cfg) for s in range(30)]
        aspects[tilt] = np.median([im.shape[1] / im.shape[0] for im in images])
    assert aspects[1.0] < 0.8 * aspects[0.0], aspects  # an upright box around a turned word


def test_a_turned_word_gets_no_neighbours(font, monkeypatch):
    """The sliver limit works on the word's upright box: in its empty corners a neighbour's
    whole letters would show, so neighbours are drawn only beside level words."""
    calls = []
    real = scene.neighbour_image
    monkeypatch.setattr(scene, "neighbour_image",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    flat = {e: 0.0 for e in EFFECTS} | {"min_visible": 0, "neighbour_prob": 1, "lines_prob": 1}
    for tilt, want in ((0.0, 10), (1.0, 0)):
        calls.clear()
        cfg = render.style("scene", flat | {"tilt_prob": tilt})
        for seed in range(10):
            render.render("house", font, np.random.default_rng(seed), cfg)
        assert len(calls) == want, (tilt, len(calls))


def test_a_word_warped_off_the_canvas_is_refused(font, monkeypatch):
    # a warp that moves the word left by half its width: its first half leaves the canvas
    monkeypatch.setattr(render, "_homography", lambda box, rng, cfg, tilt=0.0: np.float32(
        [[1, 0, -(box[0] + box[2]) / 2], [0, 1, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="warped off the canvas"):
        render.render("offside", font, np.random.default_rng(0), render.style("clean"))


def test_an_invisible_word_is_refused():
    image = np.full((30, 80, 3), 128, np.float32)
    alpha = np.zeros((30, 80), np.float32)
    alpha[5:25, 10:70] = 1.0
    with pytest.raises(ValueError, match="not visible"):
        render._check_visible(image, alpha, 12.0)
    image[alpha > 0] = 20
    render._check_visible(image, alpha, 12.0)


def test_style_overrides_and_their_errors():
    assert render.style("scene", {"edge_prob": 0}).edge_prob == 0.0
    assert render.style("scene").edge_prob == render.STYLES["scene"].edge_prob
    with pytest.raises(ValueError, match="--render font_size: settable are"):
        render.style("scene", {"font_size": 3})
    with pytest.raises(ValueError, match="--style 'nope': choose one of"):
        render.style("nope")
    assert _overrides(["edge_prob=0", " relief_prob = 0.5"]) == (("edge_prob", 0.0),
                                                                   ("relief_prob", 0.5))
    for bad in ("edge_prob", "edge_prob=x"):
        with pytest.raises(ValueError, match="write name=number"):
            _overrides([bad])
    with pytest.raises(ValueError, match="settable are"):
        synth_generate.GenerateConfig(output_dir="x", count=1,
                                      render_overrides=(("nope", 1.0),))


def _crop(bg, fg, seed):
    rng = np.random.default_rng(seed)
    image = np.full((32, 100, 3), bg, np.uint8)
    cv2.putText(image, "text", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, tuple(map(int, fg)), 2)
    return np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)


def test_crop_pair_tells_background_from_text():
    pair = palette.crop_pair(_crop((230, 220, 200), (20, 30, 120), 0))
    np.testing.assert_allclose(pair[:3], (230, 220, 200), atol=12)
    np.testing.assert_allclose(pair[3:], (20, 30, 120), atol=40)  # antialiased edges mix in
    assert palette.crop_pair(np.full((32, 100, 3), 90, np.uint8)) is None  # flat: no text


def test_palette_measure_save_load_and_sample(tmp_path):
    pairs = [((230, 230, 230), (10, 10, 10)), ((20, 40, 160), (250, 250, 90))]
    paths = []
    for k in range(40):
        bg, fg = pairs[k % 2]
        path = str(tmp_path / f"{k}.png")
        cv2.imwrite(path, _crop(bg, fg, k)[..., ::-1])
        paths.append(path)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    table = palette.measure(paths + [str(tmp_path / "broken.png")], clusters=2)
    np.testing.assert_allclose(sorted(table.weights), [0.5, 0.5])
    for bg, fg in pairs:  # one centre per kind of crop
        assert min(np.abs(c[:3] - bg).max() for c in table.centres) < 15
        assert min(np.abs(c[3:] - fg).max() for c in table.centres) < 60
    palette.save(table, str(tmp_path / "p.json"), "test")
    loaded = palette.load(str(tmp_path / "p.json"))
    np.testing.assert_allclose(loaded.centres, table.centres, atol=0.06)
    bg, fg = loaded.sample(np.random.default_rng(0))
    assert bg.shape == fg.shape == (3,) and 0 <= bg.min() and fg.max() <= 255
    with pytest.raises(ValueError, match="need at least 3"):
        palette.measure(paths[:2], clusters=3)


def test_the_shipped_palette_is_measured_on_training_crops():
    table = palette.load()
    assert len(table.weights) == 48 and abs(table.weights.sum() - 1) < 1e-9
    with open(palette.DEFAULT_TABLE, encoding="utf-8") as f:
        assert "train_list_photo_disjoint.txt" in f.readline()


def test_the_generator_writes_scene_images(tmp_path):
    cfg = synth_generate.GenerateConfig(output_dir=str(tmp_path), count=16, num_workers=1,
                                        progress=False, style="scene")
    summary = synth_generate.generate(cfg)
    assert summary["images"] == 16 and summary["render_images_per_second"] > 0
    with open(os.path.join(tmp_path, "image_list.txt"), encoding="utf-8") as f:
        rels = [line.split(" ", 1)[0] for line in f]
    for rel in rels:
        assert cv2.imread(os.path.join(tmp_path, rel)) is not None
