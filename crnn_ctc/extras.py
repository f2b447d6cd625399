"""Optional dependencies (pyproject.toml extras), imported when a feature first needs them.

    TTFont = extras.require("fontTools.ttLib", "synth", "the synthetic generator").TTFont

A missing one is a ModuleNotFoundError that names the install line, not a bare import error.
"""

from __future__ import annotations

import importlib


def require(module: str, extra: str, feature: str, checkout: str = "requirements.txt"):
    """``module`` imported, or ModuleNotFoundError saying how to install extra ``extra``
    (``checkout``: the requirements file of a checkout that has it)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f"{feature} needs {err.name}: pip install 'crnn_ctc[{extra}]' (in a checkout: "
            f"pip install -r {checkout})", name=err.name
        ) from err
