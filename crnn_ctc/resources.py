"""Files the library reads at run time, found the same way in a checkout and in an install.

    resources.checkout_path("test_data", "images")   # None outside a source checkout
    resources.model_dirs("crnn_en")                  # where the shipped model may be

The wheel carries models/ as the package data ``crnn_ctc/models`` (pyproject.toml); a checkout
(editable install, or the tests) reads the repository's models/ folder.
"""

from __future__ import annotations

import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(PACKAGE)


def checkout_path(*parts: str) -> str | None:
    """A path inside the source checkout the package runs from, or None when it is not there
    (an installed wheel has no tools/, test_data/ ...)."""
    path = os.path.join(CHECKOUT, *parts)
    if os.path.exists(path) and os.path.isfile(os.path.join(CHECKOUT, "pyproject.toml")):
        return path
    return None


def model_dirs(name: str) -> tuple[str, ...]:
    """Where a shipped model ``name`` may be: the installed package data, then the checkout."""
    return (os.path.join(PACKAGE, "models", name), os.path.join(CHECKOUT, "models", name))
