"""Font files from Debian packages, for tools/fetch_fonts.py --debian (no root, nothing installed).

    rows, left_out = debian_fonts.fetch("fonts/", ["fonts-dseg", "fonts-roadgeek"])

Debian packs faces that Google Fonts lacks: seven- and fourteen-segment displays (fonts-dseg),
road signs (fonts-roadgeek), park signage (fonts-national-park), hundreds of display faces
(fonts-aenigma). Each package is downloaded with ``apt-get download`` and read in Python
(background_fetch.deb_members); its TTF/OTF files under usr/share/fonts go to
dest/debian/<package>/ and get manifest rows like the Google Fonts ones (family and style from
the name table, weight from OS/2, the licence lines of the package's copyright file).
"""

from __future__ import annotations

import io
import os
import tempfile

from crnn_ctc import extras
from crnn_ctc.synth import background_fetch

FONT_EXTENSIONS = (".ttf", ".otf")


def _row(package: str, version: str, licence: str, rel: str, data: bytes) -> dict:
    ttlib = extras.require("fontTools.ttLib", "synth", "reading font names")
    font = ttlib.TTFont(io.BytesIO(data), lazy=True, fontNumber=0)
    names = font["name"]
    stem = os.path.splitext(os.path.basename(rel))[0]
    family = names.getDebugName(16) or names.getDebugName(1) or stem
    style = names.getDebugName(17) or names.getDebugName(2) or ""
    weight = font["OS/2"].usWeightClass if "OS/2" in font else 400
    return {"id": package, "family": family, "category": "debian", "file": rel,
            "weight": int(weight), "style": style, "source": f"debian:{package}={version}",
            "licence": licence}


def fetch(dest: str, packages, download=background_fetch.apt_download
          ) -> tuple[list[dict], list[tuple[str, str]]]:
    """Writes the packages' fonts under dest/debian/ -> (manifest rows, [(package, reason)])."""
    rows, left_out = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for package in packages:
            try:
                deb = download(package, tmp)
                members = background_fetch.deb_members(deb)
            except background_fetch.NoAptGet:
                raise
            except background_fetch.FetchError as err:
                left_out.append((package, str(err)))
                continue
            version = background_fetch.deb_version(deb)
            licence = background_fetch.licences(members, package)
            files = sorted(n for n in members if n.startswith("usr/share/fonts/")
                           and n.lower().endswith(FONT_EXTENSIONS))
            if not files:
                left_out.append((package, "no TTF/OTF file under usr/share/fonts"))
                continue
            folder = os.path.join(dest, "debian", package)
            os.makedirs(folder, exist_ok=True)
            for name in files:
                rel = background_fetch.unique(os.path.join("debian", package,
                                                           os.path.basename(name)),
                                              {r["file"] for r in rows})
                try:
                    row = _row(package, version, licence, rel, members[name])
                except Exception as err:  # noqa: BLE001 (fontTools raises many types)
                    left_out.append((f"{package}:{name}", f"cannot read: {err}"))
                    continue
                with open(os.path.join(dest, rel), "wb") as f:
                    f.write(members[name])
                rows.append(row)
    return rows, left_out
