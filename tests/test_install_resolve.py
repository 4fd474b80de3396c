"""``focuspull install resolve|fusion`` in a temporary home: folders per OS, idempotence, uninstall, a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from focuspull.cli import main as cli
from focuspull.install import resolve as resolve_install
from focuspull.install.common import plugin_root

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("FOCUSPULL_CONFIG_DIR", raising=False)
    monkeypatch.delenv("FOCUSPULL_WORKER_PYTHON", raising=False)
    return home


@pytest.mark.parametrize("host, platform, expected", [
    ("resolve", "linux", ".local/share/DaVinciResolve/Fusion"),
    ("resolve", "darwin", "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion"),
    ("resolve", "win32", "AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion"),
    ("fusion", "linux", ".fusion/BlackmagicDesign/Fusion"),
    ("fusion", "darwin", "Library/Application Support/Blackmagic Design/Fusion"),
    ("fusion", "win32", "AppData/Roaming/Blackmagic Design/Fusion"),
])
def test_per_user_fusion_folders(tmp_path, host, platform, expected):
    assert resolve_install.fusion_user_dir(host, tmp_path, platform) == tmp_path / expected


def test_install_writes_scripts_macro_and_library(home):
    assert cli(["install", "resolve", "--home", str(home), "--platform", "linux"]) == 0
    root = home / ".local" / "share" / "DaVinciResolve" / "Fusion"
    script = root / "Scripts" / "Comp" / "FocusPull" / "FocusPull Render.lua"
    library = root / "Modules" / "FocusPull"
    assert f"local PLUGIN_DIR = {json.dumps(str(library))}" in script.read_text()
    # Lua only in the menu: the free Resolve 21.1+ lists no .py scripts
    assert sorted(p.suffix for p in script.parent.iterdir()) == [".lua", ".lua", ".lua"]
    assert (root / "Macros" / "FocusPull.setting").read_bytes() == (plugin_root() / "resolve" / "FocusPull.setting").read_bytes()
    for name in ("focuspull_fusion.lua", "focuspull_json.lua", "focuspull_controls.lua", "focuspull_job.schema.json",
                 "focuspull_host/__init__.py", "focuspull_host/__main__.py", "focuspull_host/jobs.py"):
        assert (library / name).is_file(), name
    # the macro's Render button runs the script where the installer put it
    assert "Scripts:Comp/FocusPull/FocusPull Render.lua" in (root / "Macros" / "FocusPull.setting").read_text()
    assert resolve_install.SCRIPTS_SUBDIR.as_posix() == "Scripts/Comp/FocusPull"
    assert json.loads((home / ".focuspull" / "worker.json").read_text())["hosts"] == ["resolve"]
    assert resolve_install.status("resolve", home, "linux")[0] == "ok"


def test_install_twice_then_uninstall(home, capsys):
    args = ["install", "fusion", "--home", str(home), "--platform", "linux"]
    cli(args)
    cli(["install", "nuke", "--home", str(home)])
    capsys.readouterr()
    cli(args)
    assert "nothing to do: already installed" in capsys.readouterr().out
    cli(args + ["--uninstall"])
    root = resolve_install.fusion_user_dir("fusion", home, "linux")
    assert not any(p.is_file() for p in root.rglob("*"))
    assert json.loads((home / ".focuspull" / "worker.json").read_text())["hosts"] == ["nuke"]  # nuke still uses it


def test_dry_run_for_windows_touches_nothing(home, capsys):
    assert cli(["install", "resolve", "--home", str(home), "--platform", "win32", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Macros/FocusPull.setting" in out.replace("\\", "/")
    assert list(home.iterdir()) == []


RUN_IN_FUSION = textwrap.dedent(
    """
    import json, os, sys
    from fakes.fusion import Composition, Fusion
    from fakes.lua import LuaHost
    root = sys.argv[1]
    os.makedirs(sys.argv[2], exist_ok=True)
    for f in (1, 2, 3):
        open(os.path.join(sys.argv[2], "plate.%04d.exr" % f), "wb").close()
    comp = Composition(1001, 1003)
    comp.Lock(); loader = comp.AddTool("Loader", False, 0, 0); comp.Unlock()
    loader.SetInput("Clip", os.path.join(sys.argv[2], "plate.0001.exr"))
    loader.place(1001)
    macro = comp.load_setting(os.path.join(root, "Macros", "FocusPull.setting"))
    macro.ConnectInput("MainInput1", loader)
    macro.SetInput("OutputFile", os.path.join(sys.argv[2], "out", "r.####.exr"))
    comp.SetData("FocusPull.Target", macro.Name)
    lua = LuaHost("luajit21")
    lua.run_file(os.path.join(root, "Scripts", "Comp", "FocusPull", "FocusPull Render.lua"), comp=comp,
                 fusion=Fusion(comp))
    print(json.dumps({"status": macro.GetInput("Status"), "printed": lua.printed}))
    """
)


def test_installed_script_renders_from_a_fresh_fusion(home, tmp_path):
    cli(["install", "resolve", "--home", str(home), "--platform", "linux"])
    settings = home / ".focuspull" / "worker.json"
    data = json.loads(settings.read_text())
    data["command"] = [sys.executable, str(TESTS / "fakes" / "fake_worker.py")]  # no real render here
    settings.write_text(json.dumps(data))
    root = resolve_install.fusion_user_dir("resolve", home, "linux")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOCUSPULL_", "FAKE_"))}
    env.update(HOME=str(home), PYTHONPATH=str(TESTS))
    proc = subprocess.run([sys.executable, "-c", RUN_IN_FUSION, str(root), str(tmp_path / "shot")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["status"].startswith("rendered 3 frame(s)"), info
    # the runner ran from the installed library, not from the source tree
    run_dir = tmp_path / "shot" / "out" / "_focuspull_run" / "FocusPull"
    library = root / "Modules" / "FocusPull"
    assert "cd '{}'".format(library) in (run_dir / "run.sh").read_text()
