"""Point a host at the fake worker, and watch the processes it starts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from fakes.paths import fake_worker_command


def use_fake_worker(tmp_path: Path, monkeypatch, mode: str = "ok") -> Path:
    """Configure ``tmp_path/config/worker.json`` to run the fake worker in ``mode``; returns its record file."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "worker.json").write_text(json.dumps({"command": fake_worker_command()}))
    monkeypatch.setenv("FAKE_WORKER_MODE", mode)
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_WORKER_RECORD", str(record))
    return record


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent, now gone, never reaped it).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def gone_within(pid: int, timeout_s: float = 5.0) -> bool:
    """Whether process ``pid`` is dead (or a zombie) within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)
