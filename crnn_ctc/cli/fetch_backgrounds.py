"""Photos and textures for --backgrounds_dir, taken from Debian packages (no root needed).

    python tools/fetch_backgrounds.py --dest backgrounds/
    python tools/generate_synthetic.py --backgrounds_dir backgrounds/ ...

Default packages: mate-backgrounds (nature and abstract wallpapers) and mypaint-data-extras (paper
and canvas textures), via ``apt-get download`` (run ``apt-get update`` first on a fresh machine).
Images are scaled to at most 800 px; manifest.tsv records each file's package, version, original
path and licence; left_out.tsv says what was skipped and why. Keep the folder out of git.
"""

from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.synth import background_fetch

flags.DEFINE_string("dest", None, "Folder the images, manifest.tsv and left_out.tsv go to.")
flags.DEFINE_list("packages", list(background_fetch.DEFAULT_PACKAGES),
                  "Debian packages to take images from.")
flags.mark_flag_as_required("dest")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        summary = background_fetch.fetch(FLAGS.dest, tuple(FLAGS.packages))
    except background_fetch.FetchError as err:
        logging.error("%s", err)
        return 1
    logging.info("%d images from %s in %s (%d left out: see left_out.tsv)", summary["images"],
                 ", ".join(summary["packages"]), FLAGS.dest, summary["left_out"])
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
