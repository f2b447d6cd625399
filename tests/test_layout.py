"""The package's architecture, checked: imports point down the data path, each module stays one
concept, shared constants have one definition, and the TensorFlow-free parts stay free of it."""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PACKAGE = pathlib.Path(ROOT, "crnn_ctc")
# Stage -> the stages it may import (itself included). Top-level helpers (extras, resources)
# are open to all.
ALLOWED = {
    "data": {"data"},
    "synth": {"data", "synth"},
    "model": {"data", "model"},
    "evaluate": {"data", "model", "evaluate"},
    "train": {"data", "model", "evaluate", "train"},
    "portable": {"data", "model", "portable"},
    "serve": {"data", "model", "evaluate", "train", "portable", "serve"},
    "cli": {"data", "synth", "model", "evaluate", "train", "portable", "serve", "cli"},
}
HELPERS = {"extras", "resources"}


def imported_stages(path: pathlib.Path) -> set[str]:
    """The crnn_ctc subpackages or top-level modules a file imports, at any depth."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crnn_ctc"):
            parts = node.module.split(".")
            if len(parts) > 1:
                out.add(parts[1])
            else:  # from crnn_ctc import x
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names
                       if a.name.startswith("crnn_ctc.") and "." in a.name)
    return out


def library_files():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_stages_exist_and_say_what_they_own():
    for stage in ALLOWED:
        init = PACKAGE / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "import" in doc.lower(), f"{init} must say what it owns and may import"
    flat = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert set(flat) <= HELPERS, f"modules at the top of crnn_ctc/: {flat}"


@pytest.mark.parametrize("path", library_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_data_path(path):
    rel = path.relative_to(PACKAGE).parts
    stages = imported_stages(path) - HELPERS
    if len(rel) == 1:  # the top level: only __init__ reaches into a stage (the lazy API)
        assert stages <= ({"serve", "portable"} if rel[0] == "__init__.py" else set()), stages
        return
    assert stages <= ALLOWED[rel[0]], f"{path} imports {sorted(stages - ALLOWED[rel[0]])}"


def test_modules_and_tools_stay_short():
    long = [f"{p}: {n}" for p in library_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    long += [f"{p}: {n}" for p in pathlib.Path(ROOT, "tools").glob("*.py")
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > 150]
    assert not long


def test_one_definition_of_shared_constants():
    """Image extensions and split names are defined once (formats.py, splits.py); the
    converter, inference, serving and the generator's photo backgrounds all use those."""
    owners = {"IMAGE_EXTENSIONS": "data/formats.py", "SUPPORTED_FORMATS": "data/formats.py",
              "SPLITS": "data/splits.py", "DEFAULT_MAX_PIXELS": "data/formats.py"}
    for path in library_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in owners:
                        assert str(path.relative_to(PACKAGE)) == owners[target.id], (
                            f"{target.id} defined again in {path}")


@pytest.mark.parametrize("module", [
    "crnn_ctc", "crnn_ctc.data.convert_worker", "crnn_ctc.data.convert",
    "crnn_ctc.serve.payloads", "crnn_ctc.cli.train", "crnn_ctc.cli.create_tfrecord",
    "crnn_ctc.cli.inference", "crnn_ctc.cli.export", "crnn_ctc.cli.eval",
    "crnn_ctc.portable.recognizer",
])
def test_no_tensorflow_at_import(module):
    """Converter workers never load TensorFlow (3 s, 700 MB each); the tools check their flags
    before they load it; ``import crnn_ctc`` is cheap."""
    code = f"import sys, {module}; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
