"""``focuspull doctor``: each problem is found and comes with its fix."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from focuspull.cli import main as cli


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("FOCUSPULL_CONFIG_DIR", "FOCUSPULL_WORKER_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    return home


def doctor(capsys, *args):
    code = cli(["doctor", "--json", *args])
    return code, {c["name"]: c for c in json.loads(capsys.readouterr().out)}


def test_nothing_installed(home, capsys):
    code, checks = doctor(capsys, "--home", str(home), "--quick")
    assert code == 1
    assert checks["worker"]["status"] == "fail" and "focuspull install" in checks["worker"]["fix"]
    assert checks["hosts"]["status"] == "warn"
    assert checks["ocio"]["status"] == "ok"
    assert checks["gpu"]["status"] in ("ok", "warn")


def test_after_install_and_with_a_stale_copy(home, capsys):
    cli(["install", "nuke", "--home", str(home)])
    capsys.readouterr()
    code, checks = doctor(capsys, "--home", str(home), "--quick")
    assert code == 0
    assert checks["worker"]["status"] == "ok" and sys.executable in checks["worker"]["detail"]
    assert checks["host:nuke"]["status"] == "ok" and "hosts" not in checks
    (home / ".nuke" / "focuspull" / "common" / "focuspull_host" / "jobs.py").write_text("# old\n")
    code, checks = doctor(capsys, "--home", str(home), "--quick")
    assert checks["host:nuke"]["status"] == "warn" and checks["host:nuke"]["fix"] == "focuspull install nuke"


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as the interpreter")
def test_worker_that_cannot_import_focuspull(home, capsys, tmp_path):
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named torch' >&2\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    cli(["install", "nuke", "--home", str(home), "--worker-python", str(broken)])
    capsys.readouterr()
    code, checks = doctor(capsys, "--home", str(home))
    assert code == 1
    assert "No module named torch" in checks["worker"]["detail"] and "pip install" in checks["worker"]["fix"]


def test_worker_probe_with_the_real_interpreter(home, capsys, monkeypatch):
    monkeypatch.setenv("FOCUSPULL_WORKER_PYTHON", sys.executable)
    code, checks = doctor(capsys, "--home", str(home))
    assert checks["worker"]["status"] == "ok" and "torch" in checks["worker"]["detail"]
