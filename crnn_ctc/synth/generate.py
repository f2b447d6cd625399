"""Writes a synthetic word-image set (--style line: text lines): images/ + image_list.txt
(create_tfrecord.py reads it as is)
+ image_fonts.tsv (path, font file) + generate.json (settings, fonts, counts).

    summary = generate.generate(GenerateConfig(output_dir="synth/train", count=50_000,
                                                     font_split="train"))

Image i is drawn from numpy's generator seeded with (seed, i) alone, so a set is the same for
any --num_workers, and a larger --count extends a smaller one.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import time

import cv2
import numpy as np
from absl import logging

from crnn_ctc.data import charset as charset_lib
from crnn_ctc.synth import backgrounds as backgrounds_lib
from crnn_ctc.synth import fonts as fonts_lib
from crnn_ctc.synth import render
from crnn_ctc.synth import text as text_lib

CHUNK = 200  # images per task
WORD_MAX_LENGTH = 16  # 25 CTC steps at width 100
LINE_MAX_LENGTH = 64  # 256 steps at the line preset's 1024 px
WORD_CASES = (0.15, 0.55, 0.25, 0.05)  # lower / UPPER / Title / as listed, per word
LINE_CASES = (0.5, 0.1, 0.35, 0.05)  # ... of the words of a line not all in capitals
FONT_SAMPLING = ("font", "family")
MAX_TRIES = 20  # draws of text + font per image before it is skipped (scene redraws 40%)
PICK_TRIES = 32  # random fonts (or families) tried for a text before the whole pool is scanned


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    output_dir: str
    count: int
    seed: int = 0
    num_workers: int = 0  # 0 = one per CPU core
    # a charset spec (alnum, alnum_lower, printable) or a file; "" = the style's: alnum for
    # words, printable for lines
    charset: str = ""
    words: str = ""  # a word list file (default: crnn_ctc/synth/words_en.txt)
    random_share: float = 0.2
    digit_share: float = 0.5
    token_share: float = 0.0  # words: share of punctuated words, numbers, prices, dates, codes
    max_length: int = 0  # 0 = the style's: 16 for words, 64 for lines
    # lower / UPPER / Title / as listed, and label lengths, as real scene-text crops have them
    # (BENCHMARKS.md: +3.7 points on real validation crops over the crnn_en recipe's cases
    # 0.35/0.35/0.25/0.05 with the word list's own lengths); () = the word list's lengths
    # (None = the style's: these for words, LINE_CASES for lines, where a share of whole lines
    # is also in capitals: text.LINE_UPPER)
    case_weights: tuple[float, float, float, float] | None = None
    # None = the style's: text.SCENE_LENGTHS for words, text.LINE_LENGTHS (real text-line
    # crops) for lines
    length_weights: tuple[tuple[int, float], ...] | None = None
    fonts_dirs: tuple[str, ...] = ()  # default: the pip-installed pool (fonts.default_dirs())
    font_split: str = "all"  # all | train | test (held-out families)
    font_sampling: str = "font"  # font: every file alike | family: every family alike, then a style
    test_font_share: float = fonts_lib.DEFAULT_TEST_SHARE
    style: str = "scene"  # a render.STYLES name
    backgrounds_dir: str = ""  # photos to crop backgrounds from (style's photo_prob of images)
    # style fields replaced, e.g. (("edge_prob", 0.0),): one effect off
    render_overrides: tuple[tuple[str, float], ...] = ()
    progress: bool = True

    def __post_init__(self):
        lines = self.style in render.LINE_STYLES
        defaults = {"charset": "printable" if lines else "alnum",
                    "max_length": LINE_MAX_LENGTH if lines else WORD_MAX_LENGTH,
                    "case_weights": LINE_CASES if lines else WORD_CASES,
                    "length_weights": text_lib.parse_length_weights("line" if lines else "scene")}
        for name, value in defaults.items():
            if getattr(self, name) in ("", 0, None):
                object.__setattr__(self, name, value)  # frozen: resolved once, here
        if self.count < 1:
            raise ValueError(f"--count {self.count}: must be >= 1")
        render.style(self.style, dict(self.render_overrides))  # raises on a bad name
        if self.font_sampling not in FONT_SAMPLING:
            raise ValueError(f"--font_sampling {self.font_sampling!r}: choose one of "
                             f"{', '.join(FONT_SAMPLING)}")
        if self.font_split not in fonts_lib.FONT_SPLITS:
            raise ValueError(f"--font_split {self.font_split!r}: choose one of "
                             f"{', '.join(fonts_lib.FONT_SPLITS)}")


def image_name(index: int) -> str:
    """images/<index // 10000>/<index>.jpg: at most 10,000 files per folder."""
    return f"images/{index // 10_000:04d}/{index:08d}.jpg"


class _Renderer:
    """Everything a worker needs to make image i (built once per process)."""

    def __init__(self, cfg: GenerateConfig, pool: list[fonts_lib.Font], symbols: str,
                 backgrounds: list[str]):
        self.cfg = cfg
        self.fonts = pool
        self.symbols = frozenset(symbols)
        self.by_family: dict[str, list[fonts_lib.Font]] = {}
        for font in pool:
            self.by_family.setdefault(font.family, []).append(font)
        self.families = sorted(self.by_family)
        self.backgrounds = backgrounds_lib.Backgrounds(backgrounds) if backgrounds else None
        self.sampler = text_sampler(cfg, symbols)
        self.style = render.style(cfg.style, dict(cfg.render_overrides))
        self.symbol_text = symbols

    def _usable(self, font: fonts_lib.Font, text: str) -> bool:
        return font.covers(text) and font.label(text, self.symbols) is not None

    def pick_font(self, text: str, rng: np.random.Generator) -> fonts_lib.Font | None:
        """A font that draws ``text``: uniform over such fonts (--font_sampling font), or
        uniform over such families, then over the family's such fonts (family; a pool of 40
        weights of one face and 1 of another: both alike). Rejection sampling gives exactly
        that distribution without scanning a pool of thousands per image; a text that few
        fonts draw falls back to the scan."""
        family_mode = self.cfg.font_sampling == "family"
        for _ in range(PICK_TRIES):
            if family_mode:
                members = self.by_family[self.families[int(rng.integers(len(self.families)))]]
                usable = [f for f in members if self._usable(f, text)]
                if usable:
                    return usable[int(rng.integers(len(usable)))]
            else:
                font = self.fonts[int(rng.integers(len(self.fonts)))]
                if self._usable(font, text):
                    return font
        usable = [f for f in self.fonts if self._usable(f, text)]
        if not usable:
            return None
        if family_mode:
            families = sorted({f.family for f in usable})
            family = families[int(rng.integers(len(families)))]
            usable = [f for f in usable if f.family == family]
        return usable[int(rng.integers(len(usable)))]

    def make(self, index: int) -> tuple[str, str, bytes] | str:
        """-> (label, font file name, JPEG bytes), or why image ``index`` was skipped."""
        rng = np.random.default_rng((self.cfg.seed, index))
        reason = ""
        for _ in range(MAX_TRIES):
            text = self.sampler.sample(rng)
            font = self.pick_font(text, rng)
            if font is None:
                reason = f"no font draws every character of {text!r}"
                continue
            try:
                image = render.render(text, font, rng, self.style, self.backgrounds,
                                      self.symbol_text)
                jpeg = render.encode_jpeg(image, rng, self.style)
                # a caps-only face draws "Paris" as PARIS: the label says what is drawn
                return font.label(text, self.symbols), os.path.basename(font.path), jpeg
            except (ValueError, OSError, MemoryError, cv2.error) as err:
                reason = f"{text!r} with {os.path.basename(font.path)}: {err}"
        return reason


_WORKER: _Renderer | None = None


def _init_worker(cfg, pool, symbols, backgrounds):
    global _WORKER
    _WORKER = _Renderer(cfg, pool, symbols, backgrounds)


def _run_chunk(indices: range) -> list[tuple[int, str, str, str]]:
    """Renders and writes ``indices`` -> [(index, label, font, skip reason or "")]."""
    out = []
    for i in indices:
        made = _WORKER.make(i)
        if isinstance(made, str):
            out.append((i, "", "", made))
            continue
        label, font, data = made
        path = os.path.join(_WORKER.cfg.output_dir, image_name(i))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        out.append((i, label, font, ""))
    return out


def _chunks(count: int) -> list[range]:
    return [range(s, min(s + CHUNK, count)) for s in range(0, count, CHUNK)]


def font_pool(cfg: GenerateConfig, symbols: str) -> tuple[list[fonts_lib.Font], list[str]]:
    """The fonts of cfg.font_split -> (fonts, skipped files with reasons)."""
    pool, skipped = fonts_lib.discover(list(cfg.fonts_dirs) or None, symbols)
    if not pool:
        where = ", ".join(cfg.fonts_dirs) or "the default pool (pip install -r requirements.txt)"
        raise ValueError(f"no usable font in {where}")
    chosen = fonts_lib.split(pool, cfg.font_split, cfg.test_font_share)
    if not chosen:
        raise ValueError(f"--font_split {cfg.font_split}: no fonts (one family only?)")
    return chosen, skipped


def text_sampler(cfg: GenerateConfig, symbols: str
                 ) -> text_lib.TextSampler | text_lib.LineSampler:
    """What image texts are drawn from (ValueError if no text can be: e.g. no word fits)."""
    words = text_lib.load_words(cfg.words or text_lib.DEFAULT_WORDS)
    sampler = text_lib.LineSampler if cfg.style in render.LINE_STYLES else text_lib.TextSampler
    return sampler(
        text_lib.TextConfig(charset=symbols, random_share=cfg.random_share,
                            digit_share=cfg.digit_share, max_length=cfg.max_length,
                            token_share=0.0 if cfg.style in render.LINE_STYLES
                            else cfg.token_share,
                            case_weights=cfg.case_weights, length_weights=cfg.length_weights),
        words)


def generate(cfg: GenerateConfig) -> dict:
    """Renders cfg.count images -> summary dict (also written to generate.json)."""
    start = time.perf_counter()
    symbols = "".join(charset_lib.Charset.from_spec(cfg.charset).symbols)
    text_sampler(cfg, symbols)  # a bad text setting is one clear error, before any worker starts
    pool, font_skips = font_pool(cfg, symbols)
    if font_skips:
        logging.info("%d font files left out (reasons in generate.json)", len(font_skips))
    backgrounds, background_skips = [], []
    if cfg.backgrounds_dir:
        found, background_skips = backgrounds_lib.Backgrounds.from_dir(cfg.backgrounds_dir)
        backgrounds = found.paths
        logging.info("%d background photos (%d left out)", len(backgrounds),
                     len(background_skips))
    families = sorted({f.family for f in pool})
    logging.info("%d fonts of %d families (%s split): %s", len(pool), len(families),
                 cfg.font_split, ", ".join(families))
    os.makedirs(cfg.output_dir, exist_ok=True)
    workers = cfg.num_workers or len(os.sched_getaffinity(0))
    render_start = time.perf_counter()
    chunks = _chunks(cfg.count)
    results: list[tuple[int, str, str, str]] = []
    bar = _progress(cfg)
    if workers == 1:
        _init_worker(cfg, pool, symbols, backgrounds)
        for chunk in chunks:
            results += _run_chunk(chunk)
            bar.update(len(chunk))
    else:
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_init_worker,
                initargs=(cfg, pool, symbols, backgrounds)) as executor:
            for chunk, done in zip(chunks, executor.map(_run_chunk, chunks), strict=True):
                results += done
                bar.update(len(chunk))
    bar.close()
    return _write_outputs(cfg, symbols, pool, font_skips + background_skips, results,
                          time.perf_counter() - start, time.perf_counter() - render_start)


def _progress(cfg: GenerateConfig):
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=cfg.count, unit="img", desc="render", disable=not cfg.progress,
                mininterval=1.0)


def _write_outputs(cfg: GenerateConfig, symbols: str, pool, left_out, results,
                   seconds: float, render_seconds: float) -> dict:
    results.sort()
    written = [(i, label, font) for i, label, font, reason in results if not reason]
    skipped = [(i, reason) for i, _, _, reason in results if reason]
    with open(os.path.join(cfg.output_dir, "image_list.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{image_name(i)} {label}\n" for i, label, _ in written)
    with open(os.path.join(cfg.output_dir, "image_fonts.tsv"), "w", encoding="utf-8") as f:
        f.writelines(f"{image_name(i)}\t{font}\n" for i, _, font in written)
    for i, reason in skipped:
        logging.warning("image %d skipped: %s", i, reason)
    summary = {
        "settings": {**dataclasses.asdict(cfg), "charset_symbols": symbols},
        "images": len(written),
        "skipped": [f"{i}: {reason}" for i, reason in skipped],
        "fonts": [{"file": os.path.basename(f.path), "family": f.family, "style": f.style}
                  for f in pool],
        "families": sorted({f.family for f in pool}),
        "left_out": left_out,  # font files and background photos, with reasons
        "seconds": round(seconds, 2),
        "images_per_second": round(len(written) / max(seconds, 1e-9), 1),
        # rendering and writing alone, without reading the font pool
        "render_seconds": round(render_seconds, 2),
        "render_images_per_second": round(len(written) / max(render_seconds, 1e-9), 1),
    }
    with open(os.path.join(cfg.output_dir, "generate.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    return summary
