"""Renders one word image the way MJSynth (Jaderberg et al., arXiv 1406.2227) was made:
font rendering -> border / shadow -> colouring -> projective distortion -> background texture
-> noise, blur and compression (JPEG quality is applied when the file is written).

    image = render.render("Hello", font, np.random.default_rng(7), STYLES["mjsynth"])
    # (H, W, 3) uint8 RGB; H ~ 1.2-2x the font size, W as long as the word needs

Every random choice comes from ``rng``, so the same generator state gives the same pixels.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from crnn_ctc.synth import fonts as fonts_lib
from crnn_ctc.synth import palette, pieces, scene
from crnn_ctc.synth.backgrounds import Backgrounds
from crnn_ctc.synth.fonts import Font
from crnn_ctc.synth.line_style import LINE_SETTINGS
from crnn_ctc.synth.pieces import GROW, Piece, crop_piece, cut, grown, ink_box


@dataclasses.dataclass(frozen=True)
class RenderConfig:
    font_size: tuple[int, int] = (20, 64)  # pixels, uniform
    # ... or, with this probability, log-uniform in log_font_size (small crops as common as
    # large ones: real detector crops are a median 33 px high, a tenth under 18)
    log_size_prob: float = 0.0
    log_font_size: tuple[int, int] = (12, 64)
    tracking_prob: float = 0.25  # extra letter spacing (chars drawn one by one)
    tracking: float = 0.08  # its std, as a fraction of the font size
    border_prob: float = 0.1  # an outline in a third colour
    shadow_prob: float = 0.1  # a blurred drop shadow
    rotation_deg: float = 2.5  # std of the rotation (clipped at 3 std)
    shear: float = 0.08  # std of the horizontal shear (slant)
    perspective: float = 0.05  # std of each corner's jitter, as a fraction of the text height
    curve_prob: float = 0.05  # a bent baseline
    # ... or, with this probability, a word turned up to tilt_deg either way (incidental
    # text: an upright box around a tilted word, as scene-text datasets crop quadrilaterals)
    tilt_prob: float = 0.0
    tilt_deg: float = 30.0
    padding: tuple[float, float] = (0.0, 0.3)  # per side, fraction of the text height
    min_contrast: float = 40.0  # |luma(text) - luma(background)| at least this (0-255)
    paper_prob: float = 0.4  # of the drawn colour pairs: dark or light print on a paper ground
    texture_prob: float = 0.6  # smooth noise, gradients and lines in the background
    photo_prob: float = 0.5  # a crop of a --backgrounds_dir photo instead (when given)
    blur_prob: float = 0.5
    blur_sigma: tuple[float, float] = (0.3, 1.3)
    lowres_prob: float = 0.2  # downscale then upscale (a small crop enlarged)
    lowres_min_height: float = 0.0  # ... never below this many pixels high (0: no limit)
    noise_std: tuple[float, float] = (0.0, 8.0)
    jpeg_quality: tuple[int, int] = (40, 95)
    # the scene style's effects (crnn_ctc/synth/scene.py); all off in the MJSynth-like style
    neighbour_prob: float = 0.0  # slivers of neighbouring characters at the left/right border
    lines_prob: float = 0.0  # ... and of the text lines above/below (with neighbours)
    beside_prob: float = 0.8  # with neighbours: of characters at each side (0: lines only)
    edge_prob: float = 0.0  # a sign border or object edge near a side
    distractor_prob: float = 0.0  # faint midground text / strokes behind the word
    palette_prob: float = 0.0  # colours from clusters measured on real crops (palette.json)
    relief_prob: float = 0.0  # embossed / engraved / extruded letters
    elastic_prob: float = 0.0
    motion_blur_prob: float = 0.0
    exposure_prob: float = 0.0  # gamma, gain, vignette
    min_visible: float = 0.0  # |mean luma of the letters - of the rest| at least this, or redraw


STYLES = {
    # MJSynth-like: the default for training data
    "mjsynth": RenderConfig(),
    # Nearly clean print: upright, plain backgrounds, light blur and noise
    "clean": RenderConfig(tracking_prob=0.0, border_prob=0.0, shadow_prob=0.0, rotation_deg=0.5,
                          shear=0.0, perspective=0.0, curve_prob=0.0, min_contrast=80.0,
                          texture_prob=0.0, photo_prob=0.0, blur_prob=0.2, blur_sigma=(0.3, 0.7),
                          lowres_prob=0.0, noise_std=(0.0, 3.0), jpeg_quality=(80, 95)),
    # Crops as a detector cuts them from scene photos (synthetic data v2): neighbours at the
    # borders, real colour pairs, relief, camera effects (SynthTIGER-like probabilities).
    "scene": RenderConfig(neighbour_prob=0.5, lines_prob=0.3, edge_prob=0.25,
                          distractor_prob=0.25, palette_prob=0.7, relief_prob=0.1,
                          elastic_prob=0.2, motion_blur_prob=0.15, exposure_prob=0.25,
                          curve_prob=0.2, perspective=0.08, min_contrast=25.0,
                          lowres_prob=0.3, blur_sigma=(0.3, 2.0), jpeg_quality=(50, 95),
                          min_visible=40.0),
    "line": RenderConfig(**LINE_SETTINGS),  # text lines: synth/line_style.py
}
LINE_STYLES = ("line",)  # styles whose texts are whole lines (text.LineSampler)
ABLATABLE = ("neighbour_prob", "lines_prob", "edge_prob", "distractor_prob", "palette_prob",
             "log_size_prob", "lowres_min_height", "tilt_prob", "tilt_deg", "relief_prob",
             "elastic_prob", "motion_blur_prob", "exposure_prob", "texture_prob",
             "photo_prob", "curve_prob", "lowres_prob", "blur_prob", "tracking_prob",
             "border_prob", "shadow_prob", "perspective", "rotation_deg", "shear",
             "min_contrast", "min_visible", "paper_prob", "beside_prob")


def style(name: str, overrides: dict[str, float] | None = None) -> RenderConfig:
    """STYLES[name] with numeric fields replaced (``{"neighbour_prob": 0}``: one effect off)."""
    if name not in STYLES:
        raise ValueError(f"--style {name!r}: choose one of {', '.join(STYLES)}")
    bad = sorted(set(overrides or {}) - set(ABLATABLE))
    if bad:
        raise ValueError(f"--render {','.join(bad)}: settable are {', '.join(ABLATABLE)}")
    return dataclasses.replace(STYLES[name], **{k: float(v) for k, v in (overrides or {}).items()})


SLIVER = 0.15  # of the text height: the most of a neighbouring character a crop shows


def _chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability ``p``; draws nothing when ``p`` is 0, so a style without an
    effect makes the same pixels as before the effect existed."""
    return p > 0 and rng.random() < p


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.299, 0.587, 0.114]))


def _colours(rng: np.random.Generator, min_contrast: float, ground: np.ndarray | None = None,
             paper: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """(background, text) RGB float32 with at least ``min_contrast`` luma difference; the
    background is ``ground`` when given (a photo's mean colour)."""
    for _ in range(50):
        bg, fg = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        if rng.random() < paper:  # dark or light print on a paper-like ground is the common case
            fg = fg * rng.uniform(0.0, 0.35)
            bg = 255 - (255 - bg) * rng.uniform(0.0, 0.4)
            if rng.random() < 0.3:
                bg, fg = fg, bg
        if ground is not None:
            bg = ground
        if abs(_luma(bg) - _luma(fg)) >= min_contrast:
            return bg.astype(np.float32), fg.astype(np.float32)
    if ground is not None:  # the extreme on the far side of the ground's brightness
        return ground.astype(np.float32), np.full(3, 255 if _luma(ground) < 128 else 0,
                                                  np.float32)
    return np.full(3, 235, np.float32), np.full(3, 20, np.float32)


def _palette_colours(rng: np.random.Generator, min_contrast: float
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """A (background, text) pair from the measured palette with at least half of
    ``min_contrast`` (real crops are often low-contrast), or None after 5 tries."""
    table = palette.load()
    for _ in range(5):
        bg, fg = table.sample(rng)
        if abs(_luma(bg) - _luma(fg)) >= 0.5 * min_contrast:
            return bg, fg
    return None


def _draw_text(text: str, font: ImageFont.FreeTypeFont, tracking: float, margin: int,
               stroke: int) -> tuple[list[Image.Image], tuple[int, int, int, int]]:
    """-> ([text alpha, border alpha if ``stroke``] as "L" canvases of one size, text box
    (x0, y0, x1, y1) on them)."""
    ascent, descent = font.getmetrics()
    advances = [font.getlength(c) + tracking for c in text] if tracking else []
    width = sum(advances) - tracking if tracking else font.getlength(text)
    width = max(int(np.ceil(width)), 1)
    size = (width + 2 * margin, ascent + descent + 2 * margin)
    layers = []
    for stroke_width in ([0, stroke] if stroke else [0]):
        canvas = Image.new("L", size, 0)
        draw = ImageDraw.Draw(canvas)
        if tracking:
            x = float(margin)
            for char, advance in zip(text, advances, strict=True):
                draw.text((x, margin), char, font=font, fill=255, stroke_width=stroke_width,
                          stroke_fill=255)
                x += advance
        else:
            draw.text((margin, margin), text, font=font, fill=255, stroke_width=stroke_width,
                      stroke_fill=255)
        layers.append(canvas)
    return layers, (margin, margin, margin + width, margin + ascent + descent)


def _homography(box, rng: np.random.Generator, cfg: RenderConfig, tilt: float = 0.0
                ) -> np.ndarray:
    """Rotation (+ ``tilt`` radians) + shear + corner jitter of the text box, about its
    centre."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    src = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    centre = src.mean(axis=0)
    angle = np.deg2rad(np.clip(rng.normal(0, cfg.rotation_deg), -3 * cfg.rotation_deg,
                               3 * cfg.rotation_deg)) + tilt
    shear = np.clip(rng.normal(0, cfg.shear), -3 * cfg.shear, 3 * cfg.shear)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lin = rot @ np.array([[1.0, shear], [0.0, 1.0]])
    dst = (src - centre) @ lin.T + centre
    dst = dst + rng.normal(0, cfg.perspective * h, (4, 2))
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))


def _background(h: int, w: int, colour: np.ndarray, rng: np.random.Generator,
                cfg: RenderConfig) -> np.ndarray:
    """(h, w, 3) float32: a flat colour, plus (sometimes) gradient, smooth noise and lines."""
    bg = np.broadcast_to(colour, (h, w, 3)).astype(np.float32)
    if rng.random() >= cfg.texture_prob:
        return bg.copy()
    bg = bg.copy()
    if rng.random() < 0.5:  # linear gradient at a random angle
        theta = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ramp = (np.cos(theta) * xx + np.sin(theta) * yy) / max(h, w)
        bg += ramp[..., None] * rng.uniform(-60, 60, 3).astype(np.float32)
    if rng.random() < 0.7:  # smooth multi-scale noise, like paper, stone or wood grain
        for cells in (rng.integers(2, 6), rng.integers(6, 24)):
            small = rng.normal(0, 1, (int(cells), int(cells) * max(1, w // h), 3))
            up = cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
            bg += up * rng.uniform(0, 18)
    if rng.random() < 0.2:  # a few straight lines or edges
        for _ in range(int(rng.integers(1, 4))):
            p = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            q = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            shade = tuple(float(v) for v in colour + rng.uniform(-70, 70, 3))
            cv2.line(bg, p, q, shade, int(rng.integers(1, max(2, h // 10))), cv2.LINE_AA)
    return bg


def _blend(image: np.ndarray, alpha: np.ndarray, colour) -> np.ndarray:
    a = alpha[..., None]
    return image * (1.0 - a) + np.asarray(colour, np.float32) * a


def render(text: str, font: Font, rng: np.random.Generator, cfg: RenderConfig,
           backgrounds: Backgrounds | None = None, symbols: str = "") -> np.ndarray:
    """-> (H, W, 3) uint8 RGB crop of ``text`` drawn with ``font`` (on a crop of one of
    ``backgrounds``' photos with probability cfg.photo_prob). ``symbols``: what neighbouring
    and distractor text is drawn from (default: the word's own characters)."""
    if _chance(rng, cfg.log_size_prob):
        low, high = np.log(cfg.log_font_size[0]), np.log(cfg.log_font_size[1] + 1)
        size = min(int(np.exp(rng.uniform(low, high))), cfg.log_font_size[1])
    else:
        size = int(rng.integers(cfg.font_size[0], cfg.font_size[1] + 1))
    pil = fonts_lib.sized(font.path, size)
    symbols = "".join(c for c in (symbols or text) if c in font.chars and not c.isspace()) \
        or text
    tracking = rng.normal(0, cfg.tracking) * size if rng.random() < cfg.tracking_prob else 0.0
    tracking = float(np.clip(tracking, -0.05 * size, 0.3 * size))
    stroke = int(max(1, round(size * rng.uniform(0.03, 0.08)))) \
        if rng.random() < cfg.border_prob else 0
    near = _chance(rng, cfg.neighbour_prob)
    tilt = np.deg2rad(rng.uniform(-cfg.tilt_deg, cfg.tilt_deg)) \
        if _chance(rng, cfg.tilt_prob) else 0.0
    # The sliver limit trims the margin outside the word's box; a turned word's box has empty
    # corners that whole neighbouring letters would fill, so a turned word has no neighbours.
    near = near and not tilt
    margin = 2 * size if near else size
    if tilt:  # room for the turned word above and below
        length = pil.getlength(text) + tracking * len(text)
        margin += int(np.ceil(0.5 * abs(np.sin(tilt)) * length))
    canvases, box = _draw_text(text, pil, tracking, margin, stroke)
    bordered = len(canvases) == 2
    h, w = shape = canvases[0].height, canvases[0].width
    # (a blank word keeps a window and is refused below, after the same random draws)
    word_box = grown(ink_box(canvases) or (box[1], box[3], box[0], box[2]), GROW, shape)
    layers = [crop_piece(canvas, word_box) for canvas in canvases]
    shadow = rng.random() < cfg.shadow_prob
    if shadow:  # a shifted, blurred copy of the outermost layer
        dx, dy = rng.normal(0, 0.06 * size, 2)
        sigma = max(0.5, rng.uniform(0.5, 0.12 * size))
        spread = int(np.ceil(max(abs(dx), abs(dy)) + 4 * sigma)) + 2 * GROW  # blur radius 4 sigma
        shadow_box = grown(word_box, spread, shape)
        moved = cv2.warpAffine(cut(layers[-1], shadow_box), np.float32([[1, 0, dx], [0, 1, dy]]),
                               (shadow_box[3] - shadow_box[2], shadow_box[1] - shadow_box[0]))
        layers.append(Piece(cv2.GaussianBlur(moved, (0, 0), sigma), shadow_box[0],
                             shadow_box[2]))
    if near:  # warped with the word, taken off the list after
        lines = _chance(rng, cfg.lines_prob)
        drawn = scene.neighbour_image(shape, pil, box, symbols, rng, lines, tracking,
                                      cfg.beside_prob)
        around_box = ink_box([drawn])
        layers.append(crop_piece(drawn, grown(around_box, GROW, shape)) if around_box
                      else Piece(np.zeros((1, 1), np.float32), 0, 0))
    if rng.random() < cfg.curve_prob:
        layers = pieces.bend(layers, box, rng, shape)
    matrix = _homography(box, rng, cfg, tilt)
    inverse = cv2.invert(np.float64(matrix), flags=cv2.DECOMP_LU)[1]
    # layer by layer: OpenCV's multi-channel warp rounds differently (up to 0.02 in alpha)
    neighbour_src = layers.pop() if near else None
    layers = [pieces.warp(p, inverse, pieces.reach(p, matrix, shape)) for p in layers]
    # Crop: the ink's bounding box plus a random margin per side.
    inked = layers[0].box
    if bordered:
        b1 = layers[1].box
        inked = (min(inked[0], b1[0]), max(inked[1], b1[1]), min(inked[2], b1[2]),
                 max(inked[3], b1[3]))
    ink = cut(layers[0], inked)
    if bordered:
        ink = np.maximum(ink, cut(layers[1], inked))
    ink = ink > 0.1
    ys, xs = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(xs) == 0:
        raise ValueError(f"{text!r} drew nothing with {font.path}")
    ys, xs = ys + inked[0], xs + inked[2]  # on the canvas
    if ys[0] == 0 or xs[0] == 0 or ys[-1] == h - 1 or xs[-1] == w - 1:
        raise ValueError(f"{text!r} was warped off the canvas")  # letters would be cut
    top, bottom, left, right = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
    text_h = bottom - top
    pad = rng.uniform(*cfg.padding, 4)
    if near:  # wide enough, often, to take in a sliver of the next character or line
        pad = np.maximum(pad, rng.uniform(0.1, 0.8, 4) * [0.6, 0.6, 1.0, 1.0])
    pad = (pad * text_h).astype(int)
    neighbour_a = None
    if near:  # ... but never a whole character: at most SLIVER of the text height past its edge
        # the neighbours only matter within the widest crop these pads allow
        reach_box = (max(0, top - pad[0]), min(h, bottom + pad[1]),
                     max(0, left - pad[2]), min(w, right + pad[3]))
        neighbour = pieces.warp(neighbour_src, inverse, reach_box)
        ny, nx = neighbour.y, neighbour.x
        most = SLIVER * text_h
        beside = neighbour.a[top - ny:bottom - ny] > 0.1  # characters left and right, on the line
        around = (neighbour.a[:, left - nx:right - nx] > 0.1).T  # the lines above and below
        for k, (ink, start, step) in enumerate([(around, top - ny, -1), (around, bottom - ny, 1),
                                                (beside, left - nx, -1),
                                                (beside, right - nx, 1)]):
            limit = scene.sliver_pad(ink, start, step, most)
            if limit is not None:
                pad[k] = min(pad[k], limit)
    y0, y1 = max(0, top - pad[0]), min(h, bottom + pad[1])
    x0, x1 = max(0, left - pad[2]), min(w, right + pad[3])
    layers = [cut(p, (y0, y1, x0, x1)) for p in layers]
    if near:
        neighbour_a = np.ascontiguousarray(neighbour.a[y0 - ny:y1 - ny, x0 - nx:x1 - nx])
    ch, cw = y1 - y0, x1 - x0

    if backgrounds is not None and rng.random() < cfg.photo_prob:
        image = backgrounds.crop(ch, cw, rng)
        # text contrasts with the photo's mean; the photo's own detail makes it harder to read
        bg_colour, fg_colour = _colours(rng, cfg.min_contrast + 30, image.mean(axis=(0, 1)))
    else:
        colours = _palette_colours(rng, cfg.min_contrast) \
            if _chance(rng, cfg.palette_prob) else None
        bg_colour, fg_colour = colours or _colours(rng, cfg.min_contrast, paper=cfg.paper_prob)
        image = _background(ch, cw, bg_colour, rng, cfg)
    if _chance(rng, cfg.distractor_prob):
        image = scene.distractor(image, pil, symbols, rng)
    if shadow:
        image = _blend(image, layers[-1] * rng.uniform(0.3, 0.8), bg_colour * rng.uniform(0, 0.4))
    if bordered:
        _, border_colour = _colours(rng, cfg.min_contrast)
        image = _blend(image, layers[1], border_colour)
    if neighbour_a is not None:
        image = _blend(image, neighbour_a, fg_colour)
    relief = _chance(rng, cfg.relief_prob)
    if relief:  # shading, not colour, carries the letters: the visibility check does not apply
        image = scene.relief(image, layers[0], bg_colour, rng)
    else:
        image = _blend(image, layers[0], fg_colour)
    if _chance(rng, cfg.edge_prob):
        word_ink = (left - x0, top - y0, right - x0, bottom - y0)
        image = scene.edges(image, rng, fg_colour if rng.random() < 0.5
                            else rng.uniform(0, 255, 3), word_ink)
    if _chance(rng, cfg.elastic_prob):
        image = scene.elastic(image, rng)

    if rng.random() < cfg.blur_prob:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(*cfg.blur_sigma))
    if _chance(rng, cfg.motion_blur_prob):
        image = scene.motion_blur(image, rng)
    if rng.random() < cfg.lowres_prob and ch > 12:
        factor = rng.uniform(0.4, 0.8)
        if cfg.lowres_min_height > 0:
            factor = min(max(factor, np.ceil(cfg.lowres_min_height) / ch), 1.0) + 1e-6
        small = cv2.resize(image, (max(1, int(cw * factor)), max(1, int(ch * factor))),
                           interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (cw, ch), interpolation=cv2.INTER_LINEAR)
    if _chance(rng, cfg.exposure_prob):
        image = scene.exposure(image, rng)
    if cfg.min_visible > 0 and not relief:
        _check_visible(image, layers[0], cfg.min_visible)
    noise = rng.uniform(*cfg.noise_std)
    if noise > 0:
        image = image + rng.normal(0, noise, image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _check_visible(image: np.ndarray, alpha: np.ndarray, least: float) -> None:
    """Raises ValueError when the letters' mean luma is within ``least`` of the rest's: the
    effects (exposure, a dark palette pair, a photo) washed the word out, and an unreadable
    image with a label teaches noise. The generator then draws the image again."""
    luma = np.clip(image, 0, 255) @ np.float32([0.299, 0.587, 0.114])
    inside, outside = alpha > 0.6, alpha < 0.05
    if inside.any() and outside.any():
        gap = abs(float(luma[inside].mean()) - float(luma[outside].mean()))
        if gap < least:
            raise ValueError(f"the letters are not visible (luma gap {gap:.1f} < {least:g})")


def encode_jpeg(image: np.ndarray, rng: np.random.Generator, cfg: RenderConfig) -> bytes:
    """RGB uint8 -> JPEG bytes at a quality drawn from cfg.jpeg_quality."""
    quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()
