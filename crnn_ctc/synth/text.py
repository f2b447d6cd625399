"""What the synthetic word generator writes: dictionary words and random strings, case-mixed,
only from the charset.

    sampler = text.TextSampler(TextConfig(charset="abc...XYZ0123456789"), load_words())
    text = sampler.sample(np.random.default_rng(0))

The default word list is crnn_ctc/synth/words_en.txt: the 74,585 ASCII letter-only entries of
SCOWL's American English list (Debian package wamerican 2020.12.07; copyright and permission
notice in crnn_ctc/synth/words_en.COPYRIGHT: free to use, copy, modify and distribute with the
notice).

Lengths: by default a word is drawn uniformly from the list (its median length is 8) and a
random string's length uniformly from min_length..random_max_length. ``length_weights`` draws
the length first, then a word (or random string) of that length: "scene" is the table of
SCENE_LENGTHS, measured on real scene-text crops (median 5).
"""

from __future__ import annotations

import dataclasses
import os
import string

import numpy as np

DEFAULT_WORDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "words_en.txt")
CASES = ("lower", "upper", "title", "as_is")
# Label lengths of 4,031 real scene-text TRAINING crops (IIIT5K, SVT and IC15 training splits,
# the photo-disjoint training list; these sets hold few words under 3 characters).
SCENE_LENGTHS = {1: 11, 2: 29, 3: 772, 4: 993, 5: 646, 6: 527, 7: 451, 8: 257, 9: 156, 10: 97,
                 11: 44, 12: 25, 13: 11, 14: 5, 15: 2, 16: 3, 17: 1, 18: 1}
LENGTH_TABLES = {"scene": SCENE_LENGTHS}
_CASE_FNS = {"lower": str.lower, "upper": str.upper, "title": str.capitalize,
             "as_is": lambda s: s}


@dataclasses.dataclass(frozen=True)
class TextConfig:
    charset: str  # every symbol a text may contain
    random_share: float = 0.2  # share of random strings instead of words
    digit_share: float = 0.5  # of the random strings: digits only (else any charset symbol)
    min_length: int = 1
    max_length: int = 16  # words longer than this are not used (25 CTC steps at width 100)
    random_max_length: int = 10
    # weights of lower / UPPER / Title / as in the list; a case that would leave the charset
    # is not drawn (a lowercase-only charset gets lowercase words)
    case_weights: tuple[float, float, float, float] = (0.45, 0.2, 0.25, 0.1)
    # length -> weight (lengths left out: never drawn); empty: uniform over the word list
    length_weights: tuple[tuple[int, float], ...] = ()
    # words only: share of texts drawn as a sign/receipt token instead (a word with punctuation
    # attached, a number, price, date, time or code: WORD_TOKENS), kept to the charset
    token_share: float = 0.0

    def __post_init__(self):
        if not all(0.0 <= v <= 1.0 for v in (self.random_share, self.digit_share,
                                             self.token_share)):
            raise ValueError("random_share, digit_share and token_share must be in [0, 1]")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError(f"length range {self.min_length}..{self.max_length} is empty")
        if len(self.case_weights) != len(CASES) or min(self.case_weights) < 0 \
                or sum(self.case_weights) <= 0:
            raise ValueError(f"case_weights: 4 non-negative weights for {CASES}")
        if self.length_weights and (
                min(w for _, w in self.length_weights) < 0
                or sum(w for n, w in self.length_weights
                       if self.min_length <= n <= self.max_length) <= 0):
            raise ValueError(f"length_weights: non-negative, and some length in "
                             f"{self.min_length}..{self.max_length} must have weight")


def parse_length_weights(spec: str) -> tuple[tuple[int, float], ...]:
    """'words' or '' -> () (uniform over the word list); 'scene' -> SCENE_LENGTHS;
    '0,0,3,5,4' -> the weights of lengths 1, 2, 3, ...; '3:5,4:5' -> length:weight pairs."""
    spec = spec.strip()
    if spec in ("", "words"):
        return ()
    if spec in LENGTH_TABLES:
        return tuple(sorted((n, float(w)) for n, w in LENGTH_TABLES[spec].items()))
    try:
        if ":" in spec:
            pairs = [part.split(":") for part in spec.split(",")]
            table = {int(n): float(w) for n, w in pairs}
        else:
            table = {i + 1: float(w) for i, w in enumerate(spec.split(","))}
    except ValueError:
        raise ValueError(f"length weights {spec!r}: words, a table name "
                         f"({', '.join(LENGTH_TABLES)}), "
                         f"weights of lengths 1, 2, ... or length:weight pairs") from None
    if min(table) < 1 or not all(0 <= w < float("inf") for w in table.values()):
        raise ValueError(f"length weights {spec!r}: lengths from 1, finite weights >= 0")
    if ":" in spec and len(table) != len(spec.split(",")):
        raise ValueError(f"length weights {spec!r}: a length given twice")
    return tuple(sorted(table.items()))


def load_words(path: str = DEFAULT_WORDS) -> list[str]:
    """One word per line (blank lines and surrounding whitespace ignored)."""
    with open(path, encoding="utf-8") as f:
        return [w for w in (line.strip() for line in f) if w]


class TextSampler:
    def __init__(self, cfg: TextConfig, words: list[str]):
        self.cfg = cfg
        allowed = self.allowed = frozenset(cfg.charset)
        self.symbols = sorted(c for c in allowed if not c.isspace())
        self.digits = [c for c in self.symbols if c in string.digits]
        if not self.symbols:
            raise ValueError("the charset has no printable symbols")
        weights = np.asarray(cfg.case_weights, np.float64)
        # word -> the cases that keep it inside the charset
        self.words, self.word_cases, self.dropped = [], [], 0
        for word in words:
            cases = [i for i, name in enumerate(CASES)
                     if weights[i] > 0 and set(_CASE_FNS[name](word)) <= allowed]
            if cases and cfg.min_length <= len(word) <= cfg.max_length:
                self.words.append(word)
                self.word_cases.append(tuple(cases))
            else:
                self.dropped += 1
        if not self.words and cfg.random_share < 1.0:
            raise ValueError(f"no word of the list fits the charset and lengths "
                             f"{cfg.min_length}..{cfg.max_length}; give --words or "
                             f"--random_share 1")
        self.weights = weights
        self._lengths = self._length_tables() if cfg.length_weights else None

    def _length_tables(self):
        """-> (word lengths, their probabilities, word indices per length; random-string
        lengths, probabilities): a length no word of the list has is left out for words."""
        cfg = self.cfg
        table = {n: w for n, w in cfg.length_weights
                 if cfg.min_length <= n <= cfg.max_length and w > 0}
        by_length: dict[int, list[int]] = {}
        for k, word in enumerate(self.words):
            if len(word) in table:
                by_length.setdefault(len(word), []).append(k)
        word_lengths = sorted(by_length)
        if not word_lengths and cfg.random_share < 1.0:
            raise ValueError("length_weights: no word of the list has a length with weight")
        word_p = np.array([table[n] for n in word_lengths], np.float64)
        random_lengths = sorted(table)
        random_p = np.array([table[n] for n in random_lengths], np.float64)
        return (word_lengths, word_p / max(word_p.sum(), 1e-12), by_length,
                random_lengths, random_p / random_p.sum())

    def sample(self, rng: np.random.Generator) -> str:
        cfg = self.cfg
        if cfg.token_share and rng.random() < cfg.token_share:
            token = self._token(rng)
            if token:
                return token
        if rng.random() < cfg.random_share:
            pool = self.digits if self.digits and rng.random() < cfg.digit_share else self.symbols
            if self._lengths is not None:
                lengths, p = self._lengths[3], self._lengths[4]
                length = lengths[int(rng.choice(len(lengths), p=p))]
            else:
                hi = max(cfg.min_length, min(cfg.random_max_length, cfg.max_length))
                length = int(rng.integers(cfg.min_length, hi + 1))
            return "".join(pool[i] for i in rng.integers(0, len(pool), length))
        return self._word(rng)

    def _word(self, rng: np.random.Generator) -> str:
        if self._lengths is not None:
            lengths, p, by_length = self._lengths[:3]
            indices = by_length[lengths[int(rng.choice(len(lengths), p=p))]]
            k = indices[int(rng.integers(0, len(indices)))]
        else:
            k = int(rng.integers(0, len(self.words)))
        cases = self.word_cases[k]
        p = self.weights[list(cases)]
        case = CASES[cases[int(rng.choice(len(cases), p=p / p.sum()))]]
        return _CASE_FNS[case](self.words[k])

    def _token(self, rng: np.random.Generator) -> str:
        """A WORD_TOKENS text inside the charset and max_length, or "" (then a plain draw)."""
        kind = WORD_TOKENS[int(rng.choice(len(WORD_TOKENS), p=_WORD_TOKEN_P))][0]
        if kind != "punct_word":
            token = line_token(kind, rng)
        elif not self.words:
            return ""
        else:
            token, r = self._word(rng), rng.random()
            if r < 0.45:
                token += _WORD_ENDS[int(rng.integers(len(_WORD_ENDS)))]
            elif r < 0.6:
                token += "'s" if rng.random() < 0.8 else "'"
            elif r < 0.75:
                token = "(" + token + ")" if rng.random() < 0.5 else '"' + token + '"'
            elif r < 0.9:
                token += "-" + self._word(rng)
            else:
                token = _SYMBOLS[int(rng.integers(len(_SYMBOLS)))] + token
        ok = (set(token) <= self.allowed and " " not in token
              and len(token) <= self.cfg.max_length)
        return token if ok else ""


# Label lengths of the 2,980 real text-line TRAINING crops of ../shared/real_lines (SROIE 2019
# receipts 1,121 + FUNSD forms 1,859, train.txt of each; the 42 lines over 64 characters left
# out): median 11, a fifth of them 25 or more.
LINE_LENGTHS = {1: 32, 2: 87, 3: 148, 4: 269, 5: 222, 6: 186, 7: 165, 8: 147, 9: 137, 10: 119,
                11: 129, 12: 125, 13: 124, 14: 76, 15: 81, 16: 79, 17: 56, 18: 63, 19: 52,
                20: 54, 21: 63, 22: 42, 23: 29, 24: 38, 25: 34, 26: 27, 27: 28, 28: 30, 29: 29,
                30: 20, 31: 22, 32: 22, 33: 11, 34: 15, 35: 11, 36: 11, 37: 15, 38: 10, 39: 14,
                40: 8, 41: 9, 42: 8, 43: 3, 44: 6, 45: 19, 46: 2, 47: 2, 48: 4, 49: 6, 50: 1,
                51: 3, 52: 5, 53: 4, 54: 2, 55: 6, 56: 2, 57: 3, 58: 3, 59: 3, 60: 8, 62: 4,
                63: 4, 64: 1}
LENGTH_TABLES["line"] = LINE_LENGTHS
# What a line is made of, by weight: dictionary words (cased as TextConfig.case_weights says),
# numbers, prices, dates and times, codes (invoice numbers, serials), and a random string.
LINE_TOKENS = (("word", 0.58), ("number", 0.1), ("price", 0.09), ("date", 0.06), ("code", 0.09),
               ("random", 0.03), ("symbol", 0.05))
MAX_LINE_TOKENS = 10
MAX_LINE_DRAWS = 30  # tokens drawn for one line at most
LINE_UPPER = 0.3  # share of lines written all in capitals (receipts, headings)
_ATTACHED = ",.:;"  # punctuation that ends a word
_CURRENCY = ("$", "RM", "RM ", "USD ", "EUR ", "#")
_SYMBOLS = ("-", "&", "/", "x", "@", "%", "*", "+", "=", "#")
# What a word-sized token is made of (TextConfig.token_share), by weight; punctuation is about
# a tenth of real scene-word labels (IC15, IC13 born-digital: . - , ' ! $ / : %)
WORD_TOKENS = (("punct_word", 0.55), ("number", 0.08), ("price", 0.14), ("date", 0.08),
               ("code", 0.12), ("symbol", 0.03))
_WORD_TOKEN_P = np.array([w for _, w in WORD_TOKENS]) / sum(w for _, w in WORD_TOKENS)
_WORD_ENDS = ".,:;!?"


def _digits(rng: np.random.Generator, lo: int, hi: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(lo, hi + 1))))


def line_token(kind: str, rng: np.random.Generator) -> str:
    """A number, price, date or time, code, or a lone symbol (LINE_TOKENS kinds but words)."""
    if kind == "number":
        n = _digits(rng, 1, 6)
        return n + "%" if rng.random() < 0.1 else n
    if kind == "price":
        whole = str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
        if len(whole) > 3 and rng.random() < 0.5:
            whole = whole[:-3] + "," + whole[-3:]
        price = whole + "." + _digits(rng, 2, 2)
        if rng.random() < 0.4:
            price = _CURRENCY[int(rng.integers(len(_CURRENCY)))] + price
        return price
    if kind == "date":
        d, m = int(rng.integers(1, 29)), int(rng.integers(1, 13))
        y = int(rng.integers(1990, 2031))
        h, mi, s = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
        forms = (f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}",
                 f"{d:02d}-{m:02d}-{y % 100:02d}", f"{d}.{m}.{y}", f"{h:02d}:{mi:02d}",
                 f"{h:02d}:{mi:02d}:{s:02d}")
        return forms[int(rng.integers(len(forms)))]
    if kind == "code":
        count = int(rng.integers(1, 4))
        letters = "".join(chr(65 + int(i)) for i in rng.integers(0, 26, count))
        digits = _digits(rng, 3, 8)
        sep = ("-", "/", "", ".", ":")[int(rng.integers(5))]
        forms = (letters + sep + digits, digits + sep + letters, letters + digits[:2] + letters,
                 "No." + digits if rng.random() < 0.5 else "#" + digits)
        return forms[int(rng.integers(len(forms)))]
    return _SYMBOLS[int(rng.integers(len(_SYMBOLS)))]


class LineSampler:
    """Texts of whole lines: 1-10 tokens with single spaces between them, drawn until a target
    length from cfg.length_weights (default LINE_LENGTHS) is reached, with every character in
    the charset (which must hold a space). The same rng state gives the same line."""

    def __init__(self, cfg: TextConfig, words: list[str]):
        if " " not in cfg.charset:
            raise ValueError("text lines need a charset with a space (e.g. --charset printable)")
        self.cfg = cfg
        self.allowed = frozenset(cfg.charset)
        self.words = TextSampler(dataclasses.replace(cfg, random_share=0.0, length_weights=(),
                                                     min_length=1), words)
        self.random = TextSampler(dataclasses.replace(cfg, random_share=1.0, digit_share=0.3,
                                                      length_weights=(), min_length=1,
                                                      random_max_length=8), words)
        table = dict(cfg.length_weights or LINE_LENGTHS.items())
        self.lengths = [n for n in sorted(table)
                        if cfg.min_length <= n <= cfg.max_length and table[n] > 0]
        if not self.lengths:
            raise ValueError(f"length_weights: no line length in {cfg.min_length}.."
                             f"{cfg.max_length} has weight")
        p = np.array([table[n] for n in self.lengths], np.float64)
        self.p = p / p.sum()
        self.kinds = [k for k, _ in LINE_TOKENS]
        w = np.array([w for _, w in LINE_TOKENS], np.float64)
        self.kind_p = w / w.sum()

    def _token(self, kind: str, rng: np.random.Generator) -> str:
        if kind == "word":
            word = self.words.sample(rng)
            r = rng.random()
            if r < 0.12:
                word += _ATTACHED[int(rng.integers(len(_ATTACHED)))]
            elif r < 0.15:
                word = "(" + word + ")" if rng.random() < 0.6 else '"' + word + '"'
            return word
        if kind == "random":
            return self.random.sample(rng)
        return line_token(kind, rng)

    def sample(self, rng: np.random.Generator) -> str:
        target = self.lengths[int(rng.choice(len(self.lengths), p=self.p))]
        upper = rng.random() < LINE_UPPER
        tokens: list[str] = []
        length, first = -1, ""
        for _ in range(MAX_LINE_DRAWS):
            kind = self.kinds[int(rng.choice(len(self.kinds), p=self.kind_p))]
            token = self._token(kind, rng)
            if upper and set(token.upper()) <= self.allowed:
                token = token.upper()
            token = "".join(c for c in token if c in self.allowed)
            if not token:
                continue
            first = first or token
            if length + 1 + len(token) > target:
                continue  # longer than the room left: draw another
            tokens.append(token)
            length += 1 + len(token)
            if length >= target - 1 or len(tokens) == MAX_LINE_TOKENS:
                break
        # nothing short enough was drawn: the first token, cut to the line's length
        return " ".join(tokens) if tokens else first[:target]
