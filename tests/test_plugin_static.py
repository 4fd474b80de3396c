"""Static checks of the host-side code: host Python syntax, allowed imports, Lua 5.1, mypy, the shipped schema."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.lua import RUNTIMES, available
from fakes.paths import COMMON, NUKE_DIR, PLUGIN, RESOLVE_DIR

HOST_MODULES = {"nuke", "nukescripts"}
OWN_MODULES = {"focuspull_host", "focuspull_nuke", "focuspull_nuke_node"}
PLUGIN_FILES = sorted(p for p in PLUGIN.rglob("*.py") if p.parent != PLUGIN and "__pycache__" not in p.parts)
LUA_FILES = sorted(RESOLVE_DIR.glob("*.lua"))


def test_there_is_plugin_code_to_check():
    names = {p.relative_to(PLUGIN).as_posix() for p in PLUGIN_FILES + LUA_FILES}
    assert {"common/focuspull_host/jobs.py", "common/focuspull_host/runs.py", "common/focuspull_host/__main__.py",
            "nuke/focuspull_nuke.py", "nuke/init.py", "nuke/menu.py", "resolve/focuspull_fusion.lua",
            "resolve/FocusPull Render.lua", "resolve/FocusPull Submit to Farm.lua", "resolve/FocusPull Cancel.lua"} <= names
    assert not list(RESOLVE_DIR.glob("*.py"))  # the free Resolve 21.1+ runs no Python scripts


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(PLUGIN)))
def test_parses_as_the_oldest_host_python(path):
    """Python 3.7 syntax (Nuke 13); the host package also runs on 3.6 (test_plugin_host runs it there).
    No ``from __future__ import annotations``: a SyntaxError on the Python 3.6 of Resolve 17-era set-ups."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path), feature_version=(3, 7))
    futures = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "__future__"
               for a in n.names]
    assert "annotations" not in futures, path


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_lua_compiles_under_lua_5_1_semantics(path, runtime):
    """Fusion's Lua is LuaJIT (Lua 5.1): no goto, no // integer division, no utf8 library, no table.unpack."""
    if not available(runtime):
        pytest.skip(f"lupa has no {runtime}")
    from fakes.lua import LuaHost

    text = path.read_text(encoding="utf-8")
    loader = LuaHost(runtime).rt.eval("function(text, name) local f, err = loadstring(text, name) return err end")
    assert loader(text, path.name) is None
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())  # comments may say anything
    for banned in ("goto ", "//", "utf8.", "table.unpack", "math.tointeger", "string.pack"):
        assert banned not in code, f"{path.name} uses {banned!r}"


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
    tree = ast.parse((COMMON / "focuspull_host" / "schema.py").read_text(encoding="utf-8"))
    ids = [n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
           and any(getattr(t, "id", None) == "SCHEMA_ID" for t in n.targets)]
    assert ids == [SCHEMA_ID]
    # and its menus of depth conventions hide exactly the core's aliases
    sys.path.insert(0, str(COMMON))
    from focuspull.depth import DEPTH_KIND_ALIASES, DEPTH_KINDS
    from focuspull_host import schema as host_schema

    assert set(host_schema.HIDDEN_CHOICES["depth.kind"]) == set(DEPTH_KIND_ALIASES)
    assert host_schema.choices(shipped, "depth.kind") == list(DEPTH_KINDS)


def test_nuke_plugin_type_checks_against_types_nuke():
    import importlib.util

    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install focuspull[test])")
    if not _stubs_dir():
        pytest.skip("the types-nuke stubs are not installed (pip install types-nuke)")
    # mypy runs in its own process: in-process it shares the interpreter with pytest-qt's Qt.
    # mypy no longer targets 3.9 (the syntax check above covers 3.9); 3.10 is Nuke 15's Python.
    env = dict(os.environ, MYPYPATH=os.pathsep.join([str(COMMON), str(NUKE_DIR)]))
    base = [sys.executable, "-m", "mypy", "--python-version", "3.10", "--strict", "--no-incremental",
            "--cache-dir", os.devnull]
    # focuspull_nuke_node is checked through its import (follow_imports=normal reports its errors).
    for files in ([NUKE_DIR / "focuspull_nuke.py", NUKE_DIR / "menu.py"],
                  [NUKE_DIR / "init.py"],
                  ["-p", "focuspull_host"]):
        proc = subprocess.run(base + [str(f) for f in files], capture_output=True, text=True, env=env, timeout=300,
                              cwd=str(COMMON))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Success" in proc.stdout


def _stubs_dir() -> str:
    for entry in sys.path:
        candidate = Path(entry) / "nuke-stubs"
        if candidate.is_dir():
            return str(candidate)
    return ""
