"""Layers of the word renderer (render.py) kept as the windows around their ink.

A word's layers (text, border, shadow, neighbouring characters) are drawn on a canvas several
times the crop's size (room for warps and neighbours), but their ink covers a small part of it.
Each is kept as a Piece, the window around its ink, and warped into the window its ink can
reach. Outside its window a layer is exactly zero, so the pixels are those of warping whole
canvases (up to float rounding), at a fraction of the cost.

    piece = crop_piece(canvas, grown(ink_box([canvas]), GROW, shape))
    moved = warp(piece, inverse, reach(piece, matrix, shape))
    alpha = cut(moved, (y0, y1, x0, x1))          # that part of the canvas, zeros elsewhere
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
from PIL import Image

GROW = 2  # pixels of zeros kept around a piece's ink (bilinear sampling reads one)


@dataclasses.dataclass
class Piece:
    """The part of a canvas-sized alpha layer that holds its ink: ``a`` (float32, 0-1) with
    its top-left corner at canvas row ``y``, column ``x``; the layer is 0 everywhere else."""
    a: np.ndarray
    y: int
    x: int

    @property
    def box(self) -> tuple[int, int, int, int]:  # (y0, y1, x0, x1) on the canvas
        return self.y, self.y + self.a.shape[0], self.x, self.x + self.a.shape[1]


def grown(box, grow: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` (y0, y1, x0, x1) grown by ``grow`` pixels per side, inside a canvas of
    ``shape`` (h, w)."""
    y0, y1, x0, x1 = box
    return max(0, y0 - grow), min(shape[0], y1 + grow), max(0, x0 - grow), min(shape[1], x1 + grow)


def ink_box(images: list[Image.Image]) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) around the nonzero pixels of all of ``images``, or None."""
    boxes = [b for b in (im.getbbox() for im in images) if b is not None]
    if not boxes:
        return None
    return (min(b[1] for b in boxes), max(b[3] for b in boxes), min(b[0] for b in boxes),
            max(b[2] for b in boxes))


def crop_piece(image: Image.Image, box) -> Piece:
    y0, y1, x0, x1 = box
    return Piece(np.asarray(image.crop((x0, y0, x1, y1)), np.float32) / 255.0, y0, x0)


def cut(piece: Piece, box) -> np.ndarray:
    """The layer over canvas ``box`` (y0, y1, x0, x1): the piece's pixels, zeros elsewhere."""
    y0, y1, x0, x1 = box
    out = np.zeros((y1 - y0, x1 - x0), np.float32)
    py0, py1, px0, px1 = piece.box
    iy0, iy1, ix0, ix1 = max(y0, py0), min(y1, py1), max(x0, px0), min(x1, px1)
    if iy0 < iy1 and ix0 < ix1:
        out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = \
            piece.a[iy0 - py0:iy1 - py0, ix0 - px0:ix1 - px0]
    return out


def _translation(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


def reach(piece: Piece, matrix: np.ndarray, shape: tuple[int, int]
           ) -> tuple[int, int, int, int]:
    """Where ``matrix`` (canvas to canvas) can put the piece's pixels: the box around its
    corners' images (a projective map sends the rectangle to the quadrilateral they span),
    grown by GROW, inside the canvas."""
    y0, y1, x0, x1 = piece.box
    corners = np.float64([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])[:, None, :]
    moved = cv2.perspectiveTransform(corners, matrix)[:, 0]
    lo, hi = np.floor(moved.min(axis=0)), np.ceil(moved.max(axis=0))
    box = (int(lo[1]), int(hi[1]) + 1, int(lo[0]), int(hi[0]) + 1)
    return grown(box, GROW, shape)


def warp(piece: Piece, inverse: np.ndarray, box) -> Piece:
    """The piece warped onto canvas ``box`` (y0, y1, x0, x1); ``inverse`` maps canvas
    destination points to canvas source points (the warp's inverse)."""
    y0, y1, x0, x1 = box
    local = _translation(-piece.x, -piece.y) @ inverse @ _translation(x0, y0)
    return Piece(cv2.warpPerspective(piece.a, local, (x1 - x0, y1 - y0),
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP), y0, x0)


def bend(pieces: list[Piece], box, rng: np.random.Generator, shape: tuple[int, int]
          ) -> list[Piece]:
    """Moves columns up or down along a parabola (a curved baseline); ``shape`` is the
    canvas's (h, w)."""
    h, w = shape
    x0, _, x1, y1 = box
    depth = rng.uniform(-0.35, 0.35) * (y1 - box[1])
    xs = np.arange(w, dtype=np.float32)
    t = np.clip((xs - (x0 + x1) / 2) / max((x1 - x0) / 2, 1), -1.5, 1.5)
    dy = depth * (t * t - 0.5)
    bent = []
    for piece in pieces:
        py0, py1, px0, px1 = piece.box
        shift = dy[px0:px1]
        reach = int(np.ceil(np.abs(shift).max(initial=0.0))) + GROW
        oy0, oy1, _, _ = grown(piece.box, reach, shape)
        rows = np.arange(oy0, oy1, dtype=np.float32)[:, None] + shift[None, :]
        map_y = (rows - np.float32(py0)).astype(np.float32)
        map_x = np.broadcast_to(np.arange(px1 - px0, dtype=np.float32), map_y.shape)
        bent.append(Piece(cv2.remap(piece.a, np.ascontiguousarray(map_x), map_y,
                                     cv2.INTER_LINEAR, borderValue=0), oy0, px0))
    return bent
