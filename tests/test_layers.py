"""The layers: ``rag`` (core and answering API) < ``ingest`` < ``ui``. No module imports a
package above its own, not inside a function, and not through a module name in a string
(``importlib.import_module("ui.app")``, a ``"module:function"`` table)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["rag", "ingest", "ui"]  # bottom up
# A dotted module path, optionally followed by ":function", naming a top-level package.
_MODULE_STRING = re.compile(r"^(rag|ingest|ui)(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*)?$")

pytestmark = pytest.mark.unit


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import and module-name string in a file.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "m.py"
    >>> code = "import os\\ndef f():\\n    from ui.app import x\\nT = {'a': 'ingest.cli:run'}"
    >>> _ = f.write_text(code)
    >>> imported_packages(f)
    [(1, 'os'), (3, 'ui'), (4, 'ingest')]
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            dotted = "." in node.value or ":" in node.value  # a bare "ui" is a word
            if dotted and _MODULE_STRING.match(node.value):
                found.append((node.lineno, re.split(r"[.:]", node.value)[0]))
    return sorted(found)


def upward_imports(layer: str) -> list[str]:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    return [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, package in imported_packages(path)
        if package in above
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_no_import_runs_up_a_layer(layer):
    assert upward_imports(layer) == []


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def late():\n    import importlib\n    importlib.import_module('ui.app')\n")
    assert imported_packages(module) == [(2, "importlib"), (3, "ui")]


def test_subcommands_come_from_each_package():
    from rag import cli

    names = set(cli.build_parser()._subparsers._group_actions[0].choices)
    assert {"ask", "status", "delete", "ingest", "doctor", "eval", "ui"} <= names
