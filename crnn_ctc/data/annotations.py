"""Annotation lines -> (path, label) entries, or a Skip that says why a line is not used.

Three formats:
  list      ``relative/path.jpg label``: split on the FIRST run of whitespace, so the label may
            hold spaces (``img/1.jpg AT HIGH``).
  synth90k  ``./2911/6/77_heretical_35885.jpg 35885``: the label is the word in the file name
            (``N_word_K.jpg``), or line ``35885`` (0-based) of ``--lexicon_file`` when given.
  filename  no annotation file: every image under ``--image_dir`` is a line, its label is read
            from the file name (``A18sk6897.jpg`` -> ``A18sk6897``, ``1234_2.jpg`` -> ``1234``).

Lines are read as bytes so that one undecodable line is reported instead of failing the file.
Line numbers are 1-based; the UTF-8 BOM and CRLF line ends are accepted.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from crnn_ctc.data import charset as charset_lib
from crnn_ctc.data import ctc_steps
from crnn_ctc.data.formats import IMAGE_EXTENSIONS

FORMATS = ("list", "synth90k", "filename")
DEFAULT_FILENAME_PATTERN = r"[^_]*"

# Reason codes, as written in skipped.tsv and counted in dataset.json.
BLANK_LINE = "blank_line"
NOT_UTF8 = "not_utf8"
EMPTY_LABEL = "empty_label"
BAD_PATH = "bad_path"
ABSOLUTE_PATH = "absolute_path"
PATH_ESCAPES = "path_escapes_image_dir"
CONTROL_CHAR = "control_character"
BAD_SYNTH90K_NAME = "bad_synth90k_name"
BAD_LEXICON_INDEX = "bad_lexicon_index"
UNSUPPORTED_EXTENSION = "unsupported_extension"
OUT_OF_CHARSET = "out_of_charset"
LABEL_TOO_LONG = "label_too_long"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Entry:
    line: int
    path: str  # normalized, relative to --image_dir, "/"-separated
    label: str


@dataclass(frozen=True)
class Skip:
    line: int
    path: str
    reason: str
    detail: str = ""


def read_raw_lines(anno_file: str) -> Iterator[tuple[int, bytes]]:
    """Yields (1-based line number, line bytes without its line end), streaming."""
    with open(anno_file, "rb") as f:
        for number, raw in enumerate(f, start=1):
            raw = raw.rstrip(b"\n").rstrip(b"\r")
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            yield number, raw


def normalize_path(path: str) -> tuple[str, str | None, str]:
    """Returns (normalized path, reason or None, detail). Never touches the file system."""
    path = path.replace("\\", "/")  # annotation files written on Windows
    if path.startswith("/") or re.match(r"^[A-Za-z]:/", path):
        return path, ABSOLUTE_PATH, "paths must be relative to --image_dir"
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../"):
        return path, PATH_ESCAPES, f"{path!r} resolves outside --image_dir"
    if norm == "." or charset_lib.bad_symbols(norm):
        return path, BAD_PATH, f"{path!r} is not a usable file path"
    return norm, None, ""


def check_label_text(label: str) -> tuple[str | None, str]:
    """Reason a label can never be a training target on its own (before any charset)."""
    if not label:
        return EMPTY_LABEL, "the line has a path but no label"
    bad = charset_lib.bad_symbols(label)
    if bad:
        return CONTROL_CHAR, f"label holds {charset_lib.describe_chars(bad)}"
    return None, ""


def check_label_fits(
    label: str, charset: charset_lib.Charset | None, max_ctc_steps: int
) -> tuple[str | None, str]:
    """Reason a label does not fit the charset or the model's time steps, or (None, "")."""
    if charset is not None:
        unknown = charset.unknown(label)
        if unknown:
            return OUT_OF_CHARSET, f"not in charset: {charset_lib.describe_chars(unknown)}"
    steps = ctc_steps.ctc_min_steps(label)
    if steps > max_ctc_steps:
        return LABEL_TOO_LONG, (
            f"needs {steps} CTC steps (length {len(label)} + {steps - len(label)} repeats)"
            f" > limit {max_ctc_steps}"
        )
    return None, ""


def synth90k_word(path: str) -> str | None:
    """``N_word_K.jpg`` -> ``word``; None when the name does not have that shape."""
    stem = posixpath.splitext(posixpath.basename(path))[0]
    parts = stem.split("_")
    if len(parts) < 3 or not parts[0].isdigit() or not parts[-1].isdigit():
        return None
    return "_".join(parts[1:-1])


def load_lexicon(lexicon_file: str) -> list[str]:
    with open(lexicon_file, encoding="utf-8") as f:
        return [line.rstrip("\r\n").strip() for line in f]


class LineParser:
    """Turns raw annotation lines into an Entry or a Skip (no file system access)."""

    def __init__(self, fmt: str, lowercase: bool = False, lexicon: list[str] | None = None):
        if fmt not in ("list", "synth90k"):
            raise ValueError(f"LineParser handles 'list' and 'synth90k', not {fmt!r}")
        self.fmt = fmt
        self.lowercase = lowercase
        self.lexicon = lexicon

    def parse(self, number: int, raw: bytes) -> Entry | Skip:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            shown = raw.decode("utf-8", errors="backslashreplace")
            return Skip(number, shown, NOT_UTF8, f"byte {err.start}: {err.reason}")
        text = text.strip()
        if not text:
            return Skip(number, "", BLANK_LINE)
        fields = text.split(maxsplit=1)
        raw_path = fields[0]
        rest = fields[1] if len(fields) > 1 else ""
        path, reason, detail = normalize_path(raw_path)
        if reason:
            return Skip(number, raw_path, reason, detail)
        if self.fmt == "list":
            label = rest
        else:
            label, reason, detail = self._synth90k_label(path, rest)
            if reason:
                return Skip(number, path, reason, detail)
        label = charset_lib.normalize_label(label, self.lowercase)
        reason, detail = check_label_text(label)
        if reason:
            return Skip(number, path, reason, detail)
        return Entry(number, path, label)

    def _synth90k_label(self, path: str, rest: str) -> tuple[str, str | None, str]:
        if self.lexicon is None:
            word = synth90k_word(path)
            if word is None:
                return "", BAD_SYNTH90K_NAME, "file name is not N_word_K.ext"
            return word, None, ""
        index = rest.split()[0] if rest else ""
        if not index.isdigit() or int(index) >= len(self.lexicon):
            return (
                "",
                BAD_LEXICON_INDEX,
                (f"{index!r} is not an index into the lexicon ({len(self.lexicon)} words)"),
            )
        return self.lexicon[int(index)], None, ""


def iter_filename_entries(
    image_dir: str, pattern: str = DEFAULT_FILENAME_PATTERN, lowercase: bool = False
) -> Iterator[Entry | Skip]:
    """Every file under ``image_dir`` (sorted, recursive); the label is ``pattern`` matched at
    the start of the file's stem (default: everything before the first underscore)."""
    regex = re.compile(pattern)
    paths = []
    for root, dirs, files in os.walk(image_dir):
        dirs.sort()
        for name in files:
            paths.append(os.path.relpath(os.path.join(root, name), image_dir).replace(os.sep, "/"))
    for number, path in enumerate(sorted(paths), start=1):
        if not path.lower().endswith(IMAGE_EXTENSIONS):
            yield Skip(number, path, UNSUPPORTED_EXTENSION,
                       f"not one of the image extensions {', '.join(IMAGE_EXTENSIONS)}")
            continue
        stem = posixpath.splitext(posixpath.basename(path))[0]
        match = regex.match(stem)
        label = match.group(1 if regex.groups else 0) if match else ""
        label = charset_lib.normalize_label(label, lowercase)
        reason, detail = check_label_text(label)
        if reason:
            yield Skip(number, path, reason, detail or f"no label in {stem!r}")
        else:
            yield Entry(number, path, label)
