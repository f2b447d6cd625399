"""crop_stats: the contrast / sharpness / aspect measures and the distribution distance, and the
variant names of the synthetic-data benchmarks that use them."""

import importlib
import os
import sys

import cv2
import numpy as np
import pytest

from crnn_ctc.synth import crop_stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _word(ink: int, paper: int, blur: float = 0.0, size=(40, 160)) -> np.ndarray:
    image = np.full((*size, 3), paper, np.uint8)
    cv2.putText(image, "Word", (8, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (ink, ink, ink), 3)
    return cv2.GaussianBlur(image, (0, 0), blur) if blur else image


def test_contrast_sharpness_and_aspect_follow_the_image():
    sharp = crop_stats.measure(_word(20, 230))
    faint = crop_stats.measure(_word(120, 150))
    blurred = crop_stats.measure(_word(20, 230, blur=2.5))
    assert sharp["contrast"] > 150 and faint["contrast"] < 35
    assert blurred["sharpness"] < 0.5 * sharp["sharpness"]
    assert sharp["aspect"] == pytest.approx(4.0)
    assert sharp["tilt"] < 3
    turned = cv2.warpAffine(cv2.copyMakeBorder(_word(20, 230), 60, 60, 20, 20,
                                               cv2.BORDER_CONSTANT, value=(230, 230, 230)),
                            cv2.getRotationMatrix2D((100, 80), 20, 1), (200, 160),
                            borderValue=(230, 230, 230))
    assert crop_stats.measure(turned)["tilt"] == pytest.approx(20, abs=3)
    assert crop_stats.measure(np.ascontiguousarray(np.rot90(_word(20, 230))))["tilt"] > 80
    assert crop_stats.measure(_word(20, 230)[..., 0])["contrast"] == \
        pytest.approx(sharp["contrast"], abs=1.0)  # grey in, the same measure
    assert crop_stats.measure(np.full((32, 100, 3), 128, np.uint8))["contrast"] == 0.0
    for bad in (np.zeros((0, 10, 3), np.uint8), np.zeros((4, 4, 2), np.uint8)):
        with pytest.raises(ValueError):
            crop_stats.measure(bad)


def test_unreadable_files_are_skipped_with_the_reason(tmp_path):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), _word(20, 230))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    values, skipped = crop_stats.measure_files([str(good), str(tmp_path / "bad.png")])
    assert len(values["contrast"]) == 1 and skipped == [(str(tmp_path / "bad.png"),
                                                         "not a readable image")]


def test_ks_distance_and_quantiles():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 4000), rng.normal(0, 1, 4000)
    assert crop_stats.ks_distance(a, b) < 0.05
    assert crop_stats.ks_distance(a, a + 1.0) == pytest.approx(0.38, abs=0.04)  # 2*Phi(0.5)-1
    assert crop_stats.ks_distance(np.zeros(5), np.ones(5)) == 1.0
    table = crop_stats.summary(np.arange(101, dtype=float))
    assert table["p5"] == 5.0 and table["p50"] == 50.0 and table["p95"] == 95.0
    with pytest.raises(ValueError):
        crop_stats.ks_distance(np.zeros(0), a)


@pytest.fixture
def benchmarks():
    sys.path.insert(0, ROOT)
    try:
        yield (importlib.import_module("benchmarks.bench_synth_ablation"),
               importlib.import_module("benchmarks.bench_synth_stats"))
    finally:
        sys.path.remove(ROOT)


def test_benchmark_variant_names(benchmarks):
    ablation, stats = benchmarks
    v = ablation.variant_settings("v2-no_camera+min_visible=40+lengths=scene+cases=0:1:0:0",
                                  "fonts/")
    assert v["style"] == "scene" and v["fonts"].endswith(",fonts/")
    assert v["render"] == {"motion_blur_prob": 0, "exposure_prob": 0, "min_visible": 40.0}
    assert ablation.text_flags(v) == ["--case_weights=0,1,0,0", "--random_share=0.15",
                                      "--length_weights=scene"]
    assert ablation.variant_settings("v1", "fonts/") == {
        "style": "mjsynth", "fonts": "default,/usr/share/fonts", "render": {}}
    assert "backgrounds" in ablation.variant_settings("v2+textures", "f")
    # a part off relative to the generator's defaults (v1's fonts), as v2-v1_fonts is
    assert ablation.variant_settings("v2-no_edges+v1_fonts", "f") == {
        **ablation.variant_settings("v2-v1_fonts", "f"), "render": {"edge_prob": 0}}
    for bad in ("v3", "v2+colour=1", "v1+v1_fonts", "v2+neighbour_prob", "v2-no_fonts"):
        with pytest.raises(ValueError, match="variant"):
            ablation.variant_settings(bad, "f")
    assert stats.parse_variant("scene+min_visible=40") == ("scene", {"min_visible": 40.0})
    for bad in ("photo", "scene+min_visible", "scene+glow=1"):
        with pytest.raises(ValueError, match="variant"):
            stats.parse_variant(bad)


def test_benchmark_lengths_follow_the_images_that_were_read(benchmarks, tmp_path):
    _, stats = benchmarks
    cv2.imwrite(str(tmp_path / "a.png"), _word(20, 230))
    cv2.imwrite(str(tmp_path / "c.png"), _word(20, 230, size=(40, 80)))
    (tmp_path / "list.txt").write_text("a.png Word\nmissing.png Gone\nc.png Hi there\n",
                                       encoding="utf-8")
    rows = stats.read_list(str(tmp_path / "list.txt"))
    assert rows[1] == (str(tmp_path / "missing.png"), "Gone")
    values, skipped = stats.measure_list(rows)
    assert values["length"].tolist() == [4.0, 8.0] and values["aspect"].tolist() == [4.0, 2.0]
    assert skipped == [(str(tmp_path / "missing.png"), "not a readable image")]
