"""``focuspull install nuke`` in a temporary home: copy, idempotence, dry run, uninstall, a Nuke start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from focuspull.cli import main as cli
from focuspull.install import nuke as nuke_install
from focuspull.install.common import BEGIN_MARK, plugin_file_bytes, plugin_root

TESTS = Path(__file__).resolve().parent
USER_INIT = "# my studio settings\nimport os\nos.environ.setdefault('X', '1')\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".nuke").mkdir(parents=True)
    (home / ".nuke" / "init.py").write_text(USER_INIT)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("FOCUSPULL_CONFIG_DIR", raising=False)
    monkeypatch.delenv("FOCUSPULL_WORKER_PYTHON", raising=False)
    return home


def test_install_is_idempotent_and_keeps_the_users_init(home, capsys):
    assert cli(["install", "nuke", "--home", str(home)]) == 0
    init = (home / ".nuke" / "init.py").read_text()
    assert init.startswith(USER_INIT) and init.count(BEGIN_MARK) == 1
    assert repr((home / ".nuke" / "focuspull" / "nuke").as_posix()) in init
    for src, dest in nuke_install.installed_files(home):
        assert dest.read_bytes() == plugin_file_bytes(src)
    settings = json.loads((home / ".focuspull" / "worker.json").read_text())
    assert settings["python"] == str(Path(sys.executable).absolute()) and settings["hosts"] == ["nuke"]
    first = capsys.readouterr().out
    assert "created" in first

    assert cli(["install", "nuke", "--home", str(home)]) == 0
    second = capsys.readouterr().out
    assert "nothing to do: already installed" in second and "created" not in second
    assert (home / ".nuke" / "init.py").read_text() == init
    assert nuke_install.status(home)[0] == "ok"


def test_dry_run_changes_nothing(home, capsys):
    before = sorted(p for p in home.rglob("*"))
    assert cli(["install", "nuke", "--home", str(home), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write" in out and "would edit" in out
    assert sorted(p for p in home.rglob("*")) == before
    assert (home / ".nuke" / "init.py").read_text() == USER_INIT


def test_uninstall_removes_only_what_it_added(home):
    cli(["install", "nuke", "--home", str(home)])
    (home / ".nuke" / "gizmos").mkdir()
    assert cli(["install", "nuke", "--home", str(home), "--uninstall"]) == 0
    assert (home / ".nuke" / "init.py").read_text() == USER_INIT
    assert not (home / ".nuke" / "focuspull").exists()
    assert (home / ".nuke" / "gizmos").is_dir()
    assert not (home / ".focuspull" / "worker.json").exists()
    assert nuke_install.status(home)[0] == "missing"
    assert cli(["install", "nuke", "--home", str(home), "--uninstall"]) == 0  # again: nothing to do


def test_an_init_py_made_by_the_installer_goes_away_on_uninstall(tmp_path):
    home = tmp_path / "fresh"
    cli(["install", "nuke", "--home", str(home)])
    assert (home / ".nuke" / "init.py").is_file()
    cli(["install", "nuke", "--home", str(home), "--uninstall"])
    assert not (home / ".nuke" / "init.py").exists()


def test_link_mode_points_nuke_at_the_package(home):
    assert cli(["install", "nuke", "--home", str(home), "--link"]) == 0
    assert repr((plugin_root() / "nuke").as_posix()) in (home / ".nuke" / "init.py").read_text()
    assert not (home / ".nuke" / "focuspull").exists()
    assert nuke_install.status(home) == ("ok", f"linked to {plugin_root() / 'nuke'}")


def test_outdated_copy_is_detected(home):
    cli(["install", "nuke", "--home", str(home)])
    (home / ".nuke" / "focuspull" / "nuke" / "focuspull_nuke.py").write_text("# old\n")
    state, detail = nuke_install.status(home)
    assert state == "outdated" and "focuspull_nuke.py" in detail


NUKE_START = textwrap.dedent(
    """
    import json, os, sys
    from fakes import nuke
    sys.modules["nuke"] = nuke
    home = os.environ["HOME"]

    def run(path):
        exec(compile(open(path).read(), path, "exec"), {"__name__": "__main__"})

    # What Nuke does at start: ~/.nuke/init.py, then init.py (and menu.py in the GUI) of every plugin path.
    run(os.path.join(home, ".nuke", "init.py"))
    seen = set()
    while True:
        todo = [p for p in nuke.pluginPath() if p not in seen]
        if not todo:
            break
        for folder in todo:
            seen.add(folder)
            if os.path.isfile(os.path.join(folder, "init.py")):
                run(os.path.join(folder, "init.py"))
    for folder in nuke.pluginPath():
        if os.path.isfile(os.path.join(folder, "menu.py")):
            run(os.path.join(folder, "menu.py"))
    nuke.menu("Nodes").findItem("FocusPull/FocusPull").invoke()
    import focuspull_host, focuspull_nuke
    node = nuke.allNodes()[-1]
    print(json.dumps({"plugin": focuspull_nuke.__file__, "client": focuspull_host.__file__,
                      "worker": focuspull_host.worker_command(), "node": focuspull_nuke.is_focuspull(node)}))
    """
)


def test_installed_plugin_loads_in_a_fresh_nuke(home):
    cli(["install", "nuke", "--home", str(home)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOCUSPULL_")}
    env.update(HOME=str(home), PYTHONPATH=str(TESTS))
    proc = subprocess.run([sys.executable, "-c", NUKE_START], capture_output=True, text=True, env=env, timeout=120,
                          cwd=str(home))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    installed = home / ".nuke" / "focuspull"
    assert Path(info["plugin"]).resolve() == (installed / "nuke" / "focuspull_nuke.py").resolve()
    assert Path(info["client"]).resolve() == (installed / "common" / "focuspull_host" / "__init__.py").resolve()
    assert info["worker"] == [str(Path(sys.executable).absolute()), "-m", "focuspull"]
    assert info["node"] is True


@pytest.mark.parametrize("platform, env, expected", [
    ("win32", {"HOME": "H:\\me", "USERPROFILE": "C:\\Users\\me"}, "H:\\me"),  # HOME wins when set
    ("win32", {"USERPROFILE": "C:\\Users\\me"}, "C:\\Users\\me"),
    ("darwin", {"HOME": "/Users/me", "USERPROFILE": "x"}, "/Users/me"),
    ("linux", {"HOME": "/home/me"}, "/home/me"),
])
def test_dot_nuke_follows_nukes_own_rule(platform, env, expected):
    assert nuke_install.default_nuke_home(platform, env) == Path(expected) / ".nuke"
