"""Font pools for the synthetic word generator: discovery, glyph coverage, family split.

    pool, skipped = fonts.discover()                # default pool (pip packages, no apt-get)
    pool, _ = fonts.discover(["/usr/share/fonts"])  # any folders of TTF/OTF files
    train, test = fonts.split(pool, "train"), fonts.split(pool, "test")

A font's family comes from its name table (typographic family, else family), so Roboto Bold and
Roboto Italic are one family and a held-out ("test") family is never seen in training, in any
weight. The test split takes a share of the families in the order of a hash of their names, so
a family keeps its side while the number of families stays the same.

Default pool (every file is installed by requirements.txt, licences free to redistribute):
  matplotlib            DejaVu Sans / Sans Mono / Serif (Bitstream Vera licence), STIX General
                        (SIL OFL 1.1), Computer Modern cmr/cmb/cmti/cmss/cmtt (BaKoMa, free)
  font-roboto, font-caladea                 Roboto, Caladea (Apache 2.0)
  font-source-sans-pro, font-source-serif-pro, font-hanken-grotesk, font-fredoka-one,
  font-amatic-sc, font-intuitive, font-lato, font-manrope                 (SIL OFL 1.1)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import re
import string

from PIL import ImageFont

from crnn_ctc import extras
from crnn_ctc.synth import font_checks


@functools.lru_cache(maxsize=256)
def sized(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font file at ``size`` pixels, loaded once per (path, size) in a process (the
    renderer draws every word and its neighbouring and distractor text with these)."""
    return ImageFont.truetype(path, size)


FONT_EXTENSIONS = (".ttf", ".otf")
# pip package -> folder (inside it) holding its fonts
DEFAULT_PACKAGES = {
    "matplotlib": "mpl-data/fonts/ttf",
    "font_roboto": "files",
    "font_source_sans_pro": "files",
    "font_source_serif_pro": "files",
    "font_hanken_grotesk": "files",
    "font_fredoka_one": "files",
    "font_amatic_sc": "files",
    "font_intuitive": "files",
    "font_caladea": "files",
    "font_lato": "files",
    "font_manrope": "files",
}
# Fonts whose character map lies, never used: a placeholder box for every code point, TeX math fonts
# that map ASCII codes to symbols, dingbats, keycaps, drop-cap initials, or a face that draws
# lowercase for capitals.
EXCLUDED = frozenset({"LastResortHE-Regular", "cmex10", "cmsy10", "cmmi10", "D050000L",
                      "StandardSymbolsPS", "LinBiolinum_K", "LinLibertine_I", "Ubuntu-Title"})
# The BaKoMa Computer Modern fonts use TeX's OT1 layout: ASCII letters and digits are right,
# some punctuation code points hold other glyphs. Only letters and digits are trusted.
ALNUM_ONLY = {"cmr10": "Computer Modern Roman", "cmb10": "Computer Modern Roman",
              "cmti10": "Computer Modern Roman", "cmss10": "Computer Modern Sans",
              "cmtt10": "Computer Modern Typewriter"}
# Families that map letters but draw none, which the glyph checks (font_checks) miss.
EXCLUDED_FAMILIES = {
    r"Guides$": "handwriting guide lines drawn with every letter",
    r"^Yarndings": "dingbats",
    r"^Redacted": "redaction scribbles",
    r"^(Noto (Color )?Emoji|Noto Sans Symbols|Noto Music|Material (Icons|Symbols))": "icons",
}
CACHE_VERSION = 3  # bump when load_font's verdicts change
DEFAULT_TEST_SHARE = 0.25
FONT_SPLITS = ("all", "train", "test")
DEFAULT_POOL = "default"  # a --fonts_dir entry that stands for the default pool's folders
NOT_A_CHARACTER = "\U0010fffd"  # private use, mapped by no font: draws the .notdef glyph


@dataclasses.dataclass(frozen=True)
class Font:
    path: str
    family: str
    style: str
    chars: frozenset[str]  # characters with a visible glyph (plus space if mapped)
    caps_only: bool = False  # lower case drawn as (small) capitals

    def covers(self, text: str) -> bool:
        return all(c in self.chars for c in text)

    def label(self, text: str, charset: frozenset[str] | set[str]) -> str | None:
        """What an image of ``text`` in this font reads: upper-cased for a caps-only face when
        the charset has capitals (None if the capitals are not all in it)."""
        if not self.caps_only or text.upper() == text:
            return text
        if not any(c.isupper() for c in charset):
            return text  # a case-free charset: "a" and "A" are one symbol anyway
        upper = text.upper()
        return upper if all(c in charset for c in upper) else None


def default_dirs() -> list[str]:
    """Font folders of the installed default-pool packages (missing packages are skipped)."""
    dirs = []
    for package, sub in DEFAULT_PACKAGES.items():
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            folder = os.path.join(os.path.dirname(spec.origin), sub)
            if os.path.isdir(folder):
                dirs.append(folder)
    return dirs


def expand_dirs(dirs: list[str] | None) -> list[str]:
    """None -> the default pool's folders; the entry "default" in a list stands for them too
    (--fonts_dir default,/usr/share/fonts: the pip pool plus the system's fonts)."""
    if dirs is None:
        return default_dirs()
    out: list[str] = []
    for d in dirs:
        out += default_dirs() if d == DEFAULT_POOL else [d]
    return out


def font_files(dirs: list[str]) -> list[str]:
    """Every .ttf/.otf under ``dirs`` (recursively), sorted."""
    found = []
    for root in dirs:
        if not os.path.isdir(root):
            raise FileNotFoundError(f"--fonts_dir {root}: no such folder")
        for folder, _, names in os.walk(root):
            found += [os.path.join(folder, n) for n in names
                      if n.lower().endswith(FONT_EXTENSIONS)]
    return sorted(found)


def load_font(path: str, charset: str) -> Font | str:
    """-> Font, or the reason the file is not usable (a string)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in EXCLUDED:
        return "symbol or placeholder font"
    try:
        ttlib = extras.require("fontTools.ttLib", "synth", "reading font character maps")
        tt = ttlib.TTFont(path, lazy=True, fontNumber=0)
        mapped = {chr(c) for c in (tt.getBestCmap() or {})}
        names = tt["name"]
        family = names.getDebugName(16) or names.getDebugName(1) or stem
        style = names.getDebugName(17) or names.getDebugName(2) or ""
        pil = ImageFont.truetype(path, 32)
    except Exception as err:  # noqa: BLE001 (fontTools/FreeType raise many types)
        return f"cannot read: {err}"
    if stem in ALNUM_ONLY:
        family, style = ALNUM_ONLY[stem], stem  # every file says "Regular"
        mapped &= set(string.ascii_letters + string.digits)
    wanted = sorted(set(charset) & mapped)
    # A mapped character must also draw something (some fonts map to empty glyphs).
    notdef = _mask(pil, NOT_A_CHARACTER)
    chars = {c for c in wanted if c.isspace() or _has_ink(pil, c, notdef)}
    if not chars - {" "}:
        return "covers none of the charset"
    for pattern, why in EXCLUDED_FAMILIES.items():
        if re.search(pattern, family):
            return f"{family}: {why}"
    verdict = font_checks.check(ImageFont.truetype(path, font_checks.SIZE), sorted(chars),
                                space_mapped=" " in mapped)
    if verdict.reason:
        return verdict.reason
    if verdict.blank:  # a speck is not a character a reader could see
        chars -= verdict.blank
    return Font(path=path, family=family, style=style, chars=frozenset(chars),
                caps_only=verdict.caps_only)


def cache_path() -> str:
    """Where load_font's verdicts are kept between runs ($XDG_CACHE_HOME or ~/.cache)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "crnn_ctc", f"fonts-v{CACHE_VERSION}.json")


def load_many(files: list[str], charset: str = string.ascii_letters + string.digits
              ) -> list[Font | str]:
    """load_font for each file (cached: _load_cached)."""
    return _load_cached(files, charset)


def _load_cached(files: list[str], charset: str) -> list[Font | str]:
    """load_font for every file, reusing verdicts of unchanged files (path, size, mtime,
    charset) from cache_path(); the cache is rewritten when something new was read. A cache
    that cannot be read or written is ignored."""
    key_of = {p: _file_key(p, charset) for p in files}
    try:
        with open(cache_path(), encoding="utf-8") as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    out, changed = [], False
    for path in files:
        entry = cache.get(key_of[path])
        if entry is None:
            font = load_font(path, charset)
            entry = font if isinstance(font, str) else dataclasses.asdict(font)
            if isinstance(entry, dict):
                entry["chars"] = "".join(sorted(entry["chars"]))
            if not (isinstance(entry, str) and entry.startswith("cannot read")):
                cache[key_of[path]] = entry  # a read error may be passing (a missing module)
                changed = True
        out.append(entry if isinstance(entry, str) else Font(
            **{**entry, "path": path, "chars": frozenset(entry["chars"])}))
    if changed:
        try:
            os.makedirs(os.path.dirname(cache_path()), exist_ok=True)
            tmp = f"{cache_path()}.{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(cache, f)
            os.replace(tmp, cache_path())
        except OSError:
            pass
    return out


def _file_key(path: str, charset: str) -> str:
    try:
        st = os.stat(path)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    digest = hashlib.sha1(charset.encode("utf-8")).hexdigest()[:12]  # noqa: S324 (a cache key)
    return f"{os.path.abspath(path)}|{stamp}|{digest}"


def _mask(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _has_ink(font: ImageFont.FreeTypeFont, char: str,
             notdef: tuple[tuple[int, int], bytes] | None = None) -> bool:
    """True when ``char`` draws something other than the font's "no glyph" box (some fonts map
    characters they lack to a copy of that box)."""
    left, top, right, bottom = font.getbbox(char)
    if not (right > left and bottom > top):
        return False
    return notdef is None or not any(notdef[1]) or _mask(font, char) != notdef


def discover(dirs: list[str] | None = None, charset: str = string.ascii_letters + string.digits,
             min_coverage: float = 0.5) -> tuple[list[Font], list[str]]:
    """Fonts under ``dirs`` (default: default_dirs()) that draw at least ``min_coverage`` of the
    non-space ``charset`` -> (fonts, ["path: reason" for every file left out]). One file per
    family and style (a .ttf and .otf of the same face count once)."""
    files = font_files(expand_dirs(dirs))
    symbols = {c for c in charset if not c.isspace()}
    fonts, skipped, seen = [], [], set()
    files = sorted(files, key=lambda p: (os.path.splitext(p)[0], not p.endswith(".ttf")))
    for path, font in zip(files, _load_cached(files, charset), strict=True):
        if isinstance(font, str):
            skipped.append(f"{path}: {font}")
        elif len(font.chars & symbols) < min_coverage * len(symbols):
            skipped.append(f"{path}: draws {len(font.chars & symbols)} of the charset's "
                           f"{len(symbols)} symbols")
        elif (font.family, font.style) in seen:
            skipped.append(f"{path}: duplicate of {font.family} {font.style}")
        else:
            seen.add((font.family, font.style))
            fonts.append(font)
    return sorted(fonts, key=lambda f: f.path), skipped


def family_hash(family: str) -> float:
    """A stable number in [0, 1) per family name."""
    digest = hashlib.sha256(family.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def test_families(fonts: list[Font], share: float = DEFAULT_TEST_SHARE) -> set[str]:
    """Families held out for testing: the round(share * n) families (at least one, and never
    all when there are two or more) with the smallest family_hash. The order is a property of
    the names, so a family keeps its side unless the count of families changes the cut."""
    families = sorted({f.family for f in fonts}, key=family_hash)
    count = max(1, round(share * len(families)))
    if len(families) > 1:
        count = min(count, len(families) - 1)
    return set(families[:count])


def split(fonts: list[Font], which: str, share: float = DEFAULT_TEST_SHARE) -> list[Font]:
    """The fonts of split ``which`` (all | train | test)."""
    if which not in FONT_SPLITS:
        raise ValueError(f"font split {which!r}: choose one of {', '.join(FONT_SPLITS)}")
    if which == "all":
        return list(fonts)
    held = test_families(fonts, share)
    return [f for f in fonts if (f.family in held) == (which == "test")]
