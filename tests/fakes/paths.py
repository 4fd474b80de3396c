"""Put the plugin folders on sys.path the way the hosts do (installers copy or path them)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugin"
COMMON = PLUGIN / "common"
NUKE_DIR = PLUGIN / "nuke"
RESOLVE_DIR = PLUGIN / "resolve"
FAKES = Path(__file__).resolve().parent
FAKE_WORKER = FAKES / "fake_worker.py"


def add_plugin_paths() -> None:
    for folder in (COMMON, NUKE_DIR, RESOLVE_DIR):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def fake_worker_command() -> list[str]:
    return [sys.executable, str(FAKE_WORKER)]
