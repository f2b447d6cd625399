"""What the synthetic word generator writes: dictionary words and random strings, case-mixed,
only from the charset.

    sampler = text.TextSampler(TextConfig(charset="abc...XYZ0123456789"), load_words())
    text = sampler.sample(np.random.default_rng(0))

The default word list is crnn_ctc/synth/words_en.txt: the 74,585 ASCII letter-only entries of
SCOWL's American English list (Debian package wamerican 2020.12.07; copyright and permission
notice in crnn_ctc/synth/words_en.COPYRIGHT: free to use, copy, modify and distribute with the
notice).
"""

from __future__ import annotations

import dataclasses
import os
import string

import numpy as np

DEFAULT_WORDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "words_en.txt")
CASES = ("lower", "upper", "title", "as_is")
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

    def __post_init__(self):
        if not 0.0 <= self.random_share <= 1.0 or not 0.0 <= self.digit_share <= 1.0:
            raise ValueError("random_share and digit_share must be in [0, 1]")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError(f"length range {self.min_length}..{self.max_length} is empty")
        if len(self.case_weights) != len(CASES) or min(self.case_weights) < 0 \
                or sum(self.case_weights) <= 0:
            raise ValueError(f"case_weights: 4 non-negative weights for {CASES}")


def load_words(path: str = DEFAULT_WORDS) -> list[str]:
    """One word per line (blank lines and surrounding whitespace ignored)."""
    with open(path, encoding="utf-8") as f:
        return [w for w in (line.strip() for line in f) if w]


class TextSampler:
    def __init__(self, cfg: TextConfig, words: list[str]):
        self.cfg = cfg
        allowed = set(cfg.charset)
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

    def sample(self, rng: np.random.Generator) -> str:
        cfg = self.cfg
        if rng.random() < cfg.random_share:
            pool = self.digits if self.digits and rng.random() < cfg.digit_share else self.symbols
            hi = max(cfg.min_length, min(cfg.random_max_length, cfg.max_length))
            length = int(rng.integers(cfg.min_length, hi + 1))
            return "".join(pool[i] for i in rng.integers(0, len(pool), length))
        k = int(rng.integers(0, len(self.words)))
        cases = self.word_cases[k]
        p = self.weights[list(cases)]
        case = CASES[cases[int(rng.choice(len(cases), p=p / p.sum()))]]
        return _CASE_FNS[case](self.words[k])
