"""The charset: symbols <-> integer ids, with the CTC blank id explicit.

A charset file holds one symbol per line (UTF-8, "\\n" line ends); the id of a symbol is its
0-based line number. The CTC blank is NOT in the file: its id is ``len(charset)``, the class
after the last symbol (the convention of docTR and of ``keras.ops.ctc_loss``), so a model has
``len(charset) + 1`` output classes. A space is a line holding one space.

    cs = Charset.from_spec("alnum_lower")      # or a path to a charset.txt
    cs.encode("hello")  -> [17, 14, 21, 21, 24]
    cs.decode([17, 14]) -> "he"
    cs.blank_id         -> 36
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence

PRESETS: dict[str, str] = {
    # Synth90k convention: case folded, digits then letters.
    "alnum_lower": string.digits + string.ascii_lowercase,
    "alnum": string.digits + string.ascii_lowercase + string.ascii_uppercase,
    # Every printable ASCII symbol, space included (95 symbols).
    "printable": string.digits
    + string.ascii_lowercase
    + string.ascii_uppercase
    + string.punctuation
    + " ",
}


def normalize_label(text: str, lowercase: bool = False) -> str:
    """NFC-normalizes a label (Hangul typed on one OS and named on another must match)."""
    text = unicodedata.normalize("NFC", text)
    return text.lower() if lowercase else text


# Unicode categories Cc (controls, line breaks) and Cs (lone surrogates, e.g. undecodable bytes
# in a file name): characters a charset, a label or a path can never hold.
_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def bad_symbol(ch: str) -> bool:
    return _BAD.match(ch) is not None


def bad_symbols(text: str) -> list[str]:
    """The distinct bad characters of ``text``, in order (fast when there are none)."""
    return list(dict.fromkeys(_BAD.findall(text)))


class Charset:
    """An ordered list of distinct single-character symbols."""

    def __init__(self, symbols: Sequence[str]):
        symbols = list(symbols)
        for sym in symbols:
            if len(sym) != 1:
                raise ValueError(f"charset symbol {sym!r} is not exactly one character")
            if bad_symbol(sym):
                raise ValueError(
                    f"charset symbol U+{ord(sym):04X} is a control character; remove it"
                )
        seen: dict[str, int] = {}
        for i, sym in enumerate(symbols):
            if sym in seen:
                raise ValueError(f"charset symbol {sym!r} appears twice (ids {seen[sym]} and {i})")
            seen[sym] = i
        self.symbols: tuple[str, ...] = tuple(symbols)
        self._ids = seen

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> Charset:
        """The sorted set of characters used by ``labels``."""
        chars: set[str] = set()
        for label in labels:
            chars.update(label)
        return cls(sorted(chars))

    @classmethod
    def from_file(cls, path: str) -> Charset:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        text = text.removeprefix("\ufeff")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the file's final line end
        symbols = [line.removesuffix("\r") for line in lines]
        for i, sym in enumerate(symbols):
            if len(sym) != 1:
                raise ValueError(
                    f"{path}, line {i + 1}: expected exactly one symbol per line, got {sym!r}"
                )
        try:
            return cls(symbols)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err

    @classmethod
    def from_spec(cls, spec: str) -> Charset:
        """A preset name (see PRESETS) or the path of a charset file."""
        if spec in PRESETS:
            return cls(PRESETS[spec])
        if os.path.isfile(spec):
            return cls.from_file(spec)
        raise ValueError(
            f"--charset {spec!r} is neither a preset ({', '.join(sorted(PRESETS))}) "
            "nor an existing charset file"
        )

    def save(self, path: str) -> None:
        """Writes the charset file atomically (a reader never sees half a file)."""
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(sym + "\n" for sym in self.symbols)
        os.replace(tmp, path)

    # -- use --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Charset) and self.symbols == other.symbols

    def __hash__(self) -> int:
        return hash(self.symbols)

    def __repr__(self) -> str:
        return f"Charset({len(self)} symbols)"

    @property
    def blank_id(self) -> int:
        return len(self.symbols)

    @property
    def num_classes(self) -> int:
        """Model output classes: every symbol plus the CTC blank."""
        return len(self.symbols) + 1

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that are not in the charset, in order."""
        out: list[str] = []
        for ch in text:
            if ch not in self._ids and ch not in out:
                out.append(ch)
        return out

    def encode(self, text: str) -> list[int]:
        try:
            return [self._ids[ch] for ch in text]
        except KeyError as err:
            raise ValueError(
                f"{text!r} has symbols outside the charset: {self.unknown(text)}"
            ) from err

    def decode(self, ids: Iterable[int]) -> str:
        """Maps ids to text; the blank and ids out of range are dropped."""
        n = len(self.symbols)
        return "".join(self.symbols[i] for i in ids if 0 <= i < n)


def describe_chars(chars: Iterable[str]) -> str:
    """'é' (U+00E9), ... for messages: shows invisible characters unambiguously."""
    return ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in chars)
