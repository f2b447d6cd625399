"""Versioned model folders: TF Serving's ``<base>/<version>/saved_model.pb`` layout, and which
kind of model a path names.

    next_version("exported/crnn")     -> 3 when 1/ and 2/ exist
    resolve("exported/crnn")          -> ("saved_model", "exported/crnn/2")
    resolve("runs/small")             -> ("checkpoint", "runs/small")
"""

from __future__ import annotations

import os
import re

from crnn_ctc.model import folder

SAVED_MODEL = "saved_model.pb"


def versions(base: str) -> list[int]:
    """The numeric subfolders of ``base`` that hold a SavedModel, ascending."""
    if not os.path.isdir(base):
        return []
    return sorted(int(n) for n in os.listdir(base) if re.fullmatch(r"\d+", n)
                  and os.path.isfile(os.path.join(base, n, SAVED_MODEL)))  # fmt: skip


def next_version(export_dir: str) -> int:
    """One more than the highest numeric subfolder of ``export_dir`` (1 when there is none)."""
    if not os.path.isdir(export_dir):
        return 1
    numbers = [int(n) for n in os.listdir(export_dir) if re.fullmatch(r"\d+", n)]
    return max(numbers, default=0) + 1


def resolve(model_dir: str) -> tuple[str, str]:
    """-> ("saved_model" | "checkpoint", path): a SavedModel folder, an export base folder (its
    highest numeric version) or a training folder (config.json + checkpoints)."""
    if os.path.isfile(os.path.join(model_dir, SAVED_MODEL)):
        return "saved_model", model_dir
    found = versions(model_dir)
    if found:
        return "saved_model", os.path.join(model_dir, str(found[-1]))
    if folder.is_model_folder(model_dir):
        return "checkpoint", model_dir
    raise FileNotFoundError(
        f"--model_dir {model_dir} is not a SavedModel (saved_model.pb), an export folder "
        "(<version>/saved_model.pb) or a training folder (config.json and checkpoints)"
    )


