"""Downloads about 1,900 Google Fonts families (OFL / Apache / UFL) for the word generator.

    python tools/fetch_fonts.py --dest fonts/                   # every family, ~3,600 files
    python tools/fetch_fonts.py --dest fonts/ --categories display,handwriting --limit 100
    python tools/fetch_fonts.py --dest fonts/ --debian fonts-dseg,fonts-roadgeek  # + Debian
    python tools/generate_synthetic.py --fonts_dir default,fonts/ --font_sampling family ...

The files come from the npm registry (@fontsource/<id>, Latin subset; the family list, categories
and licences from google-font-metadata), each tarball checked against the registry's sha512 and
kept in <dest>/.cache, so a stopped run resumes and a repeated one downloads no tarball. Written
beside the fonts: manifest.tsv (id, family, category, file, weight, style, source, licence),
left_out.tsv (id, reason) and fetch.json. Keep the folder out of git.
"""

from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.synth import background_fetch, font_fetch

_D = font_fetch.FetchConfig
flags.DEFINE_string("dest", None, "Folder the fonts, manifest.tsv and left_out.tsv go to.")
flags.DEFINE_string("registry", _D.registry, "npm registry URL (a mirror works).")
flags.DEFINE_list("families", [], "Only these families (ids like 'roboto-slab' or names like "
                  "'Roboto Slab'); default: all.")
flags.DEFINE_list("categories", [], f"Only these categories ({', '.join(font_fetch.CATEGORIES)})"
                  "; default: all.")
flags.DEFINE_list("styles", list(_D.styles), "Styles per family, the nearest weight the family "
                  f"has ({', '.join(font_fetch.STYLES)}).")
flags.DEFINE_integer("limit", 0, "At most this many families, in id order (0: no limit).")
flags.DEFINE_integer("workers", _D.workers, "Parallel downloads.")
flags.DEFINE_list("debian", [], "Debian font packages to add (apt-get download, no root), e.g. "
                  "fonts-dseg,fonts-roadgeek,fonts-national-park,fonts-aenigma.")
flags.DEFINE_bool("google", True, "Fetch the Google Fonts families (--nogoogle: only --debian).")
flags.DEFINE_bool("progress", True, "Show a progress bar.")
flags.mark_flag_as_required("dest")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        cfg = font_fetch.FetchConfig(
            dest=FLAGS.dest, registry=FLAGS.registry, families=tuple(FLAGS.families),
            categories=tuple(FLAGS.categories), styles=tuple(FLAGS.styles), limit=FLAGS.limit,
            workers=FLAGS.workers, google=FLAGS.google, debian=tuple(FLAGS.debian))
        summary = font_fetch.fetch(cfg, progress=FLAGS.progress)
    except (ValueError, font_fetch.FetchError, background_fetch.FetchError) as err:
        logging.error("%s", err)
        return 1
    logging.info("%d font files of %d families in %s (%d families reused, %d left out: see "
                 "left_out.tsv) in %.0f s", summary["files"], summary["fetched"], FLAGS.dest,
                 summary["reused"], summary["left_out"], summary["seconds"])
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
