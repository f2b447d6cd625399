"""Downloads a pool of Google Fonts families from the npm registry for the word generator.

    summary = font_fetch.fetch(FetchConfig(dest="fonts/"))          # ~1,900 families
    summary = font_fetch.fetch(FetchConfig(dest="fonts/", categories=("display",), limit=50))

Sources, all ordinary HTTPS downloads from the registry (no Node.js):
  google-font-metadata   data/google-fonts-v2.json (family, category, weights, styles, subsets)
                         and data/licenses.json (licence per family)
  @fontsource/<id>       the family's Latin-subset files; the WOFF (zlib) ones are read, so
                         fontTools needs no brotli, and written out as plain TrueType/OpenType
                         (dest/<id>/<id>-<weight>-<style>.ttf|.otf) that every tool can read

Every tarball is checked against the registry's sha512 integrity before it is opened, and kept in
dest/.cache/, so an interrupted run picks up where it stopped; a re-run downloads no tarball and
does not look up the families it finished.
Written beside the fonts: manifest.tsv (one row per font file: id, family, category, file, weight,
style, source package@version, licence) and left_out.tsv (id, reason): families whose licence is
not one that allows shipping a model trained on them (OFL-1.1, Apache-2.0, UFL-1.0), that have no
Latin subset, no package, or that failed to download or verify. The fonts stay out of git.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import hashlib
import io
import json
import os
import re
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request

from absl import logging

from crnn_ctc import extras
from crnn_ctc.synth.background_fetch import write_tsv

DEFAULT_REGISTRY = "https://registry.npmjs.org"
METADATA_PACKAGE = "google-font-metadata"
FONT_SCOPE = "@fontsource"
# licence names in google-font-metadata -> SPDX id; only these are fetched
LICENCES = {"SIL Open Font License, 1.1": "OFL-1.1", "Apache License, Version 2.0": "Apache-2.0",
            "Ubuntu Font License, 1.0": "UFL-1.0"}
CATEGORIES = ("sans-serif", "serif", "display", "handwriting", "monospace")
# style name -> (CSS style, the weight wanted; the nearest weight the family has is taken)
STYLES = {"regular": ("normal", 400), "bold": ("normal", 700), "italic": ("italic", 400),
          "light": ("normal", 300), "black": ("normal", 900)}
DEFAULT_STYLES = ("regular", "bold", "italic")
MANIFEST_COLUMNS = ("id", "family", "category", "file", "weight", "style", "source", "licence",
                    "caps_only", "check")
RETRIES = 3
TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class FetchConfig:
    dest: str
    registry: str = DEFAULT_REGISTRY
    families: tuple[str, ...] = ()  # ids or names (default: every family)
    categories: tuple[str, ...] = ()  # default: every category
    styles: tuple[str, ...] = DEFAULT_STYLES
    limit: int = 0  # at most this many families (0 = no limit), in id order
    workers: int = 8  # parallel downloads
    google: bool = True  # Google Fonts families (False: only the Debian packages)
    debian: tuple[str, ...] = ()  # Debian font packages as well (debian_fonts.py)

    def __post_init__(self):
        bad = [s for s in self.styles if s not in STYLES]
        if bad or not self.styles:
            raise ValueError(f"--styles {','.join(self.styles)}: choose from {', '.join(STYLES)}")
        bad = [c for c in self.categories if c not in CATEGORIES]
        if bad:
            raise ValueError(f"--categories {','.join(bad)}: choose from {', '.join(CATEGORIES)}")
        if self.limit < 0 or self.workers < 1:
            raise ValueError("--limit must be >= 0 and --workers >= 1")


class FetchError(Exception):
    """A download, integrity or package problem with one family (it is left out)."""


def _get(url: str, accept: str = "*/*") -> bytes:
    """The body at ``url``, retried on network errors and 5xx with a growing pause."""
    request = urllib.request.Request(url, headers={"Accept": accept,
                                                   "User-Agent": "crnn_ctc-fetch-fonts"})
    for attempt in range(RETRIES):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError as err:
            if err.code < 500 or attempt == RETRIES - 1:
                raise FetchError(f"{url}: HTTP {err.code}") from err
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            if attempt == RETRIES - 1:
                raise FetchError(f"{url}: {getattr(err, 'reason', err)}") from err
        time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def package_dist(registry: str, name: str) -> tuple[str, dict]:
    """The latest version of npm package ``name`` -> (version, its dist: tarball, integrity)."""
    url = f"{registry.rstrip('/')}/{urllib.parse.quote(name, safe='@')}"
    # the abbreviated document: versions with their dist only
    doc = json.loads(_get(url, "application/vnd.npm.install-v1+json"))
    version = doc.get("dist-tags", {}).get("latest")
    dist = doc.get("versions", {}).get(version, {}).get("dist")
    if not version or not dist or "tarball" not in dist:
        raise FetchError(f"{name}: the registry lists no latest version with a tarball")
    return version, dist


def check_integrity(data: bytes, dist: dict) -> None:
    """Raises FetchError unless ``data`` matches dist's Subresource Integrity (sha512) or, for
    old packages without one, its sha1 shasum."""
    integrity = dist.get("integrity", "")
    if integrity.startswith("sha512-"):
        want = base64.b64decode(integrity[len("sha512-"):])
        if hashlib.sha512(data).digest() != want:
            raise FetchError(f"{dist['tarball']}: sha512 does not match the registry's integrity")
    elif dist.get("shasum"):
        if hashlib.sha1(data).hexdigest() != dist["shasum"]:  # noqa: S324 (the registry's own)
            raise FetchError(f"{dist['tarball']}: sha1 does not match the registry's shasum")
    else:
        raise FetchError(f"{dist['tarball']}: the registry gives no checksum")


def download(registry: str, name: str, cache: str) -> tuple[str, bytes]:
    """Package ``name``'s latest tarball, from ``cache`` when a verified copy is there ->
    (version, tarball bytes)."""
    version, dist = package_dist(registry, name)
    path = os.path.join(cache, f"{name.replace('/', '__')}-{version}.tgz")
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
        try:
            check_integrity(data, dist)
            return version, data
        except FetchError:
            logging.warning("%s: cached copy is damaged, downloading again", path)
    data = _get(dist["tarball"])
    check_integrity(data, dist)
    tmp = f"{path}.part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)  # a cached file is always whole
    return version, data


def _members(data: bytes) -> dict[str, bytes]:
    """Regular files of a .tgz by their path inside the package (the "package/" prefix off)."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                name = member.name.split("/", 1)[-1]
                out[name] = tar.extractfile(member).read()
    return out


def load_metadata(registry: str, cache: str) -> tuple[dict, dict, str]:
    """-> (families by id, licences by id, "google-font-metadata@version")."""
    version, data = download(registry, METADATA_PACKAGE, cache)
    files = _members(data)
    try:
        families = json.loads(files["data/google-fonts-v2.json"])
        licences = json.loads(files.get("data/licenses.json", b"{}"))
    except (KeyError, json.JSONDecodeError) as err:
        raise FetchError(f"{METADATA_PACKAGE}@{version}: no readable data/google-fonts-v2.json"
                         ) from err
    return families, licences, f"{METADATA_PACKAGE}@{version}"


def choose_families(families: dict, cfg: FetchConfig) -> tuple[list[str], list[str]]:
    """Family ids to fetch in id order -> (ids, names in cfg.families that match none)."""
    ids = sorted(families)
    unknown = []
    if cfg.families:
        by_name = {families[i].get("family", i).lower(): i for i in ids}
        wanted = []
        for name in cfg.families:
            key = name.strip().lower()
            match = key if key in families else by_name.get(key)
            (wanted.append(match) if match else unknown.append(name))
        ids = sorted(set(wanted))
    if cfg.categories:
        ids = [i for i in ids if families[i].get("category") in cfg.categories]
    return (ids[:cfg.limit] if cfg.limit else ids), unknown


def pick_variants(meta: dict, styles: tuple[str, ...]) -> list[tuple[int, str]]:
    """(weight, CSS style) per wanted style: the family's weight nearest the wanted one (ties to
    the heavier), each variant once; a style the family lacks (no italic) is not taken."""
    variants = meta.get("variants", {})
    picked = []
    for name in styles:
        css, weight = STYLES[name]
        have = sorted(int(w) for w, by_style in variants.items() if css in by_style)
        if not have:
            continue
        best = min(have, key=lambda w: (abs(w - weight), -w))
        if name == "bold" and best < 600:  # a single-weight family has no bold
            continue
        if (best, css) not in picked:
            picked.append((best, css))
    return picked


def _licence(family_id: str, licences: dict, package_licence: str) -> str:
    entry = licences.get(family_id, {}).get("license", {})
    name = entry.get("type", "") if isinstance(entry, dict) else ""
    if name:
        return LICENCES.get(name, name)
    return package_licence  # the family is missing from licenses.json: the package's word


def fetch_family(family_id: str, meta: dict, licences: dict, cfg: FetchConfig,
                 cache: str) -> list[dict]:
    """Downloads, verifies and writes one family -> its manifest rows. Raises FetchError."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", family_id):  # it names a folder
        raise FetchError("not a family id the registry uses")
    if "latin" not in meta.get("subsets", []):
        raise FetchError("no Latin subset")
    variants = pick_variants(meta, cfg.styles)
    if not variants:
        raise FetchError(f"none of the styles {','.join(cfg.styles)}")
    package = f"{FONT_SCOPE}/{family_id}"
    version, data = download(cfg.registry, package, cache)
    files = _members(data)
    try:
        package_licence = json.loads(files.get("package.json", b"{}")).get("license", "")
    except json.JSONDecodeError:
        package_licence = ""
    licence = _licence(family_id, licences, package_licence)
    if licence not in LICENCES.values():
        raise FetchError(f"licence {licence or 'unknown'!r} is not one of "
                         f"{', '.join(LICENCES.values())}")
    ttlib = extras.require("fontTools.ttLib", "synth", "converting WOFF fonts")
    folder = os.path.join(cfg.dest, family_id)
    os.makedirs(folder, exist_ok=True)
    rows = []
    for weight, css in variants:
        source = files.get(f"files/{family_id}-latin-{weight}-{css}.woff")
        if source is None:
            logging.warning("%s: no latin %d %s WOFF in %s@%s", family_id, weight, css, package,
                            version)
            continue
        try:
            font = ttlib.TTFont(io.BytesIO(source))
            ext = ".otf" if "CFF " in font or "CFF2" in font else ".ttf"
            font.flavor = None  # WOFF -> plain sfnt
            name = f"{family_id}-{weight}-{css}{ext}"
            out = io.BytesIO()
            font.save(out)
        except Exception as err:  # noqa: BLE001 (fontTools raises many types)
            raise FetchError(f"{package}@{version}: cannot convert {weight} {css}: {err}"
                             ) from err
        with open(os.path.join(folder, name), "wb") as f:
            f.write(out.getvalue())
        rows.append({"id": family_id, "family": meta.get("family", family_id),
                     "category": meta.get("category", ""), "file": f"{family_id}/{name}",
                     "weight": weight, "style": css, "source": f"{package}@{version}",
                     "licence": licence})
    if not rows:
        raise FetchError(f"{package}@{version}: none of the wanted WOFF files")
    if "LICENSE" in files:
        with open(os.path.join(folder, "LICENSE"), "wb") as f:
            f.write(files["LICENSE"])
    with open(os.path.join(folder, ".done.json"), "w", encoding="utf-8") as f:
        json.dump({"source": f"{package}@{version}", "styles": list(cfg.styles), "rows": rows},
                  f)
    return rows


def _done_rows(folder: str, styles: tuple[str, ...]) -> list[dict] | None:
    """The rows of a family fetched before with the same styles, if all its files are there."""
    try:
        with open(os.path.join(folder, ".done.json"), encoding="utf-8") as f:
            done = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    rows = done.get("rows", [])
    parent = os.path.dirname(folder)
    if tuple(done.get("styles", ())) != tuple(styles) or not all(
            os.path.exists(os.path.join(parent, r["file"])) for r in rows):
        return None
    return rows


def fetch(cfg: FetchConfig, progress: bool = True, apt_download=None) -> dict:
    """Fetches the chosen families (and cfg.debian's packages, with ``apt_download(package,
    folder) -> .deb``, default apt-get) into cfg.dest -> summary (also written as fetch.json)."""
    start = time.perf_counter()
    cache = os.path.join(cfg.dest, ".cache")
    os.makedirs(cache, exist_ok=True)
    families, licences, metadata_source = load_metadata(cfg.registry, cache) if cfg.google \
        else ({}, {}, "")
    ids, unknown = choose_families(families, cfg) if cfg.google else ([], [])
    if unknown:
        raise ValueError(f"--families: no Google Fonts family {', '.join(unknown)}")
    rows: list[dict] = []
    left_out: list[tuple[str, str]] = []
    reused = 0

    def one(family_id: str) -> tuple[list[dict], bool]:
        done = _done_rows(os.path.join(cfg.dest, family_id), cfg.styles)
        if done is not None:
            return done, True
        return fetch_family(family_id, families[family_id], licences, cfg, cache), False

    from tqdm import tqdm  # noqa: PLC0415

    with concurrent.futures.ThreadPoolExecutor(cfg.workers) as pool:
        futures = {pool.submit(one, i): i for i in ids}
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(ids),
                           unit="family", desc="fonts", disable=not progress, mininterval=1.0):
            family_id = futures[future]
            try:
                got, was_done = future.result()
                rows += got
                reused += was_done
            except FetchError as err:
                left_out.append((family_id, str(err)))
    if cfg.debian:
        from crnn_ctc.synth import debian_fonts  # noqa: PLC0415

        got, skipped = debian_fonts.fetch(cfg.dest, cfg.debian,
                                          **({"download": apt_download} if apt_download else {}))
        rows += got
        left_out += skipped
    rows.sort(key=lambda r: r["file"])
    left_out.sort()
    check_rows(cfg.dest, rows)
    write_manifest(cfg.dest, rows, left_out)
    summary = {"registry": cfg.registry, "metadata": metadata_source, "families": len(ids),
               "fetched": len({r["id"] for r in rows}), "reused": reused, "files": len(rows),
               "left_out": len(left_out), "styles": list(cfg.styles),
               "debian_packages": sorted({r["id"] for r in rows if r["category"] == "debian"}),
               "files_failing_checks": sum(bool(r["check"]) for r in rows),
               "caps_only_files": sum(r["caps_only"] == "yes" for r in rows),
               "seconds": round(time.perf_counter() - start, 1)}
    with open(os.path.join(cfg.dest, "fetch.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return summary


def check_rows(dest: str, rows: list[dict]) -> None:
    """Adds the generator's font checks to each row (fonts.load_font on letters and digits):
    caps_only yes/no and check = why the generator leaves the file out ("" = usable)."""
    from crnn_ctc.synth import fonts  # noqa: PLC0415 (fonts imports nothing of this module)

    paths = [os.path.join(dest, r["file"]) for r in rows]
    for row, got in zip(rows, fonts.load_many(paths), strict=True):
        row["check"] = got if isinstance(got, str) else ""
        row["caps_only"] = "yes" if not isinstance(got, str) and got.caps_only else "no"


def write_manifest(dest: str, rows: list[dict], left_out: list[tuple[str, str]]) -> None:
    """manifest.tsv (MANIFEST_COLUMNS, header first) and left_out.tsv (id, reason)."""
    write_tsv(os.path.join(dest, "manifest.tsv"), MANIFEST_COLUMNS,
              [[r[c] for c in MANIFEST_COLUMNS] for r in rows])
    write_tsv(os.path.join(dest, "left_out.tsv"), ("id", "reason"), left_out)


def read_manifest(dest: str) -> list[dict]:
    """manifest.tsv's rows as dicts (weight as int)."""
    with open(os.path.join(dest, "manifest.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [dict(zip(header, line.rstrip("\n").split("\t"), strict=True)) for line in f
                if line.strip()]
    for r in rows:
        r["weight"] = int(r["weight"])
    return rows
