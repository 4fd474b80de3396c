"""Static checks of the host-side code: Python 3.9 syntax, allowed imports, mypy, the shipped schema."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.paths import COMMON, NUKE_DIR, PLUGIN

HOST_MODULES = {"nuke", "nukescripts", "DaVinciResolveScript", "fusionscript", "bmd"}
OWN_MODULES = {"focuspull_client", "focuspull_farm", "focuspull_nuke", "focuspull_fusion", "focuspull_bmd"}
PLUGIN_FILES = sorted(p for p in PLUGIN.rglob("*.py") if p.parent != PLUGIN)  # plugin/__init__.py is packaging


def test_there_is_plugin_code_to_check():
    names = {p.name for p in PLUGIN_FILES}
    assert {"focuspull_client.py", "focuspull_farm.py", "focuspull_nuke.py", "init.py", "menu.py",
            "focuspull_fusion.py", "focuspull_bmd.py", "FocusPull Render.py", "FocusPull Submit to Farm.py"} <= names


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(PLUGIN)))
def test_parses_as_python_3_9(path):
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(PLUGIN)))
def test_imports_only_the_standard_library_and_host_modules(path):
    allowed = set(sys.stdlib_module_names) | HOST_MODULES | OWN_MODULES
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
            if isinstance(node.args[0], ast.Constant):
                names = [node.args[0].value]
        for name in names:
            top = name.split(".")[0]
            if top not in allowed or top in ("imp", "distutils"):  # imp: removed in Python 3.12
                bad.append(name)
    assert not bad, f"{path.name} imports {bad}"


def test_plugin_never_mentions_torch_or_numpy():
    for path in PLUGIN_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not imported & {"torch", "numpy", "OpenImageIO", "PyOpenColorIO", "focuspull"}, path


def test_shipped_schema_is_the_cores_schema():
    from focuspull.job import SCHEMA_ID, schema

    shipped = json.loads((COMMON / "focuspull_job.schema.json").read_text(encoding="utf-8"))
    assert shipped == schema(), "stale copy: run python -m focuspull.install.export_schema"
    # the host package cannot import the core: its copy of the schema id must match
    tree = ast.parse((COMMON / "focuspull_client.py").read_text(encoding="utf-8"))
    ids = [n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
           and any(getattr(t, "id", None) == "SCHEMA_ID" for t in n.targets)]
    assert ids == [SCHEMA_ID]


def test_nuke_plugin_type_checks_against_types_nuke():
    import importlib.util

    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install focuspull[test])")
    if not _stubs_dir():
        pytest.skip("the types-nuke stubs are not installed (pip install types-nuke)")
    # mypy runs in its own process: in-process it shares the interpreter with pytest-qt's Qt.
    # mypy no longer targets 3.9 (the syntax check above covers 3.9); 3.10 is Nuke 15's Python.
    env = dict(os.environ, MYPYPATH=str(COMMON))
    base = [sys.executable, "-m", "mypy", "--python-version", "3.10", "--strict", "--no-incremental",
            "--cache-dir", os.devnull]
    for files in ([NUKE_DIR / "focuspull_nuke.py", NUKE_DIR / "menu.py"], [NUKE_DIR / "init.py"]):
        proc = subprocess.run(base + [str(f) for f in files], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Success" in proc.stdout


def _stubs_dir() -> str:
    for entry in sys.path:
        candidate = Path(entry) / "nuke-stubs"
        if candidate.is_dir():
            return str(candidate)
    return ""
