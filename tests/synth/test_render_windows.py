"""The renderer keeps each layer as the window around its ink (synth/pieces.py) and warps it
into the window its ink can reach. These tests hold that to warping the whole canvas: no ink may
fall outside a window, and the pixels inside must be the whole-canvas ones."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from crnn_ctc.synth import fonts, pieces, render

SHAPE = (150, 360)  # canvas (h, w)
BOX = (110, 55, 250, 95)  # the text box (x0, y0, x1, y1) on it


@pytest.fixture(scope="module")
def canvas():
    font = next(f for f in fonts.discover()[0] if f.family == "DejaVu Sans"
                and f.style == "Book")
    image = Image.new("L", SHAPE[::-1], 0)
    ImageDraw.Draw(image).text((BOX[0], BOX[1]), "Warped", font=fonts.sized(font.path, 36),
                               fill=255)
    return image


def _whole(canvas):
    return np.asarray(canvas, np.float32) / 255.0


def _piece(canvas):
    return pieces.crop_piece(canvas, pieces.grown(pieces.ink_box([canvas]), pieces.GROW, SHAPE))


def test_a_piece_is_the_canvas_around_its_ink(canvas):
    piece, whole = _piece(canvas), _whole(canvas)
    np.testing.assert_array_equal(pieces.cut(piece, (0, SHAPE[0], 0, SHAPE[1])), whole)
    y0, y1, x0, x1 = piece.box
    outside = whole.copy()
    outside[y0:y1, x0:x1] = 0
    assert not outside.any()
    assert y1 - y0 < SHAPE[0] // 2 and x1 - x0 < SHAPE[1] // 2  # and much smaller
    assert pieces.ink_box([Image.new("L", (8, 8), 0)]) is None


@pytest.mark.parametrize("seed", range(12))
def test_warping_a_piece_gives_the_whole_canvas_warp(canvas, seed):
    cfg = render.style("scene", {"perspective": 0.15, "rotation_deg": 6})
    tilt = np.deg2rad(25) if seed % 3 == 0 else 0.0
    matrix = render._homography(BOX, np.random.default_rng(seed), cfg, tilt)
    if seed % 2:  # enlarged 2.5x about the text's centre: a source pixel spans several
        cx, cy = (BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2
        zoom = np.array([[2.5, 0, -1.5 * cx], [0, 2.5, -1.5 * cy], [0, 0, 1]])
        matrix = zoom @ matrix
    piece = _piece(canvas)
    inverse = cv2.invert(np.float64(matrix), flags=cv2.DECOMP_LU)[1]
    warped = pieces.warp(piece, inverse, pieces.reach(piece, matrix, SHAPE))
    want = cv2.warpPerspective(_whole(canvas), matrix, SHAPE[::-1], flags=cv2.INTER_LINEAR)
    got = pieces.cut(warped, (0, SHAPE[0], 0, SHAPE[1]))
    y0, y1, x0, x1 = warped.box
    outside = want.copy()
    outside[y0:y1, x0:x1] = 0
    assert not outside.any(), "ink fell outside the window"
    # the same pixels, up to float rounding (the matrices differ by the windows' offsets)
    diff = np.abs(got - want)
    assert diff.max() < 1e-3, diff.max()


@pytest.mark.parametrize("seed", range(6))
def test_bending_a_piece_gives_the_whole_canvas_bend(canvas, seed):
    piece = _piece(canvas)
    got = pieces.bend([piece], BOX, np.random.default_rng(seed), SHAPE)[0]
    # the whole-canvas bend, written out: column x moves by depth * (t^2 - 0.5)
    rng = np.random.default_rng(seed)
    depth = rng.uniform(-0.35, 0.35) * (BOX[3] - BOX[1])
    xs = np.arange(SHAPE[1], dtype=np.float32)
    t = np.clip((xs - (BOX[0] + BOX[2]) / 2) / ((BOX[2] - BOX[0]) / 2), -1.5, 1.5)
    map_y = np.arange(SHAPE[0], dtype=np.float32)[:, None] + (depth * (t * t - 0.5))[None, :]
    want = cv2.remap(_whole(canvas), np.broadcast_to(xs, SHAPE).copy(), map_y.astype(np.float32),
                     cv2.INTER_LINEAR, borderValue=0)
    np.testing.assert_array_equal(pieces.cut(got, (0, SHAPE[0], 0, SHAPE[1])), want)
