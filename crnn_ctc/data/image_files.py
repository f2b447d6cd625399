"""Which image files a folder (or a list file) names, for inference and the serving client.

    names, problems = list_images("crops/")                      # every image file, sorted
    names, problems = list_images("crops/", "crops/todo.txt")    # the files a list names
    for name in names: data = open(os.path.join("crops/", name), "rb").read()
"""

from __future__ import annotations

import os

from crnn_ctc.data import annotations
from crnn_ctc.data.formats import IMAGE_EXTENSIONS


def list_images(image_dir: str, image_list: str | None = None) -> tuple[list[str], list[str]]:
    """-> (names relative to ``image_dir``, problems). Without a list: the files directly in the
    folder whose extension is an image format's. A list names one image per line, relative to
    the folder; a ``path label`` line (an annotation file) is read as its path. Missing files
    are problems, not errors: the rest can still be read."""
    if not os.path.isdir(image_dir):
        raise FileNotFoundError(f"--image_dir {image_dir} is not a folder")
    if image_list is None:
        names = sorted(
            n for n in os.listdir(image_dir)
            if n.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(image_dir, n))
        )  # fmt: skip
        return names, []
    names, problems = [], []
    for number, raw in annotations.read_raw_lines(image_list):
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        if not os.path.isfile(os.path.join(image_dir, line)):  # "a b.jpg" may be one name
            line = line.split(maxsplit=1)[0]
        name = os.path.normpath(line.replace("\\", "/"))  # lists written on Windows too
        if os.path.isfile(os.path.join(image_dir, name)):
            names.append(name)
        else:
            problems.append(f"{image_list} line {number}: no such image: {name}")
    return names, problems
