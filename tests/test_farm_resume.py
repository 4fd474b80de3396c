"""A farm task killed mid-shot, then re-queued: the re-run completes the shot
without rendering again the frames the killed task finished.

The task is started with the exact command line of the bundle's template,
stopped after its first frame with SIGTERM (a farm's cancel: the render
unwinds) or SIGKILL (a lost worker: nothing unwinds), then the bundle runs
again through ``openjd run``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_farm_bundle import FRAMES, make_plate, write_job
from test_farm_openjd import output_files, render_reference, run_openjd

from focuspull.farm import FarmSettings, export_bundle
from focuspull.farm.bundle import read_document, read_parameter_values

pytest.importorskip("openjd.cli", reason="needs openjd-cli: pip install focuspull[farm]")


def task_argv(bundle: Path, chunk: str) -> list[str]:
    """The task's command as the template spells it, with this bundle's values filled in."""
    action = read_document(bundle / "template.yaml")["steps"][0]["script"]["actions"]["onRun"]
    values = {**{"JobFile": str(bundle / "job.json")}, **read_parameter_values(bundle)}

    def fill(text: str) -> str:
        text = text.replace("{{Task.Param.Frame}}", chunk)
        for name, value in values.items():
            text = text.replace("{{Param.%s}}" % name, str(value))
        assert "{{" not in text, text
        return text

    return [fill(action["command"])] + [fill(a) for a in action["args"]]


SLOW_RENAMES = """
import os
import time

_replace = os.replace


def replace(src, dst, *args, **kwargs):
    if ".tmp-" in os.path.basename(str(src)):
        time.sleep(0.5)  # the frame's temporary file is complete, not yet renamed into place
    return _replace(src, dst, *args, **kwargs)


os.replace = replace
"""


def wait_for_temporary_file(folder: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(p.name.startswith(".") for p in folder.iterdir()):
        assert time.monotonic() < deadline, "the worker never started writing its next frame"
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killed_task_is_completed_by_a_resumed_rerun(tmp_path, sig):
    plate = make_plate(tmp_path / "plate")
    job = write_job(tmp_path / "job.json", plate, str(tmp_path / "out" / "refocus.####.exr"))
    bundle = tmp_path / "bundle"
    # One task for the whole shot, so the kill lands with several frames still to go.
    export_bundle(job, bundle, FarmSettings(chunk_size=len(FRAMES), worker_python=sys.executable))
    reference = render_reference(bundle, tmp_path / "reference")
    out = tmp_path / "out"

    # Tiny frames render in milliseconds: without a pause the task could finish before the
    # signal lands. The worker pauses before renaming each finished temporary file into place,
    # so the signal arrives while a frame is being written; nothing written changes.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_RENAMES)
    env = {**os.environ, "PYTHONPATH": str(hook)}
    proc = subprocess.Popen(task_argv(bundle, f"{FRAMES[0]}-{FRAMES[-1]}"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "frame":
            wait_for_temporary_file(out)  # the next frame is being written
            proc.send_signal(sig)
            break
    rest, _ = proc.communicate(timeout=120)
    events += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    assert proc.returncode != 0

    finished = output_files(out)
    assert FRAMES[0] in finished
    assert len(finished) < len(FRAMES), "the task finished before the kill; nothing left to resume"
    # Killed or not, a frame under its final name is complete: written elsewhere, renamed into place.
    for frame, path in finished.items():
        assert path.read_bytes() == reference[frame], frame
    temporary = [p.name for p in out.iterdir() if p.name.startswith(".")]
    if sig == signal.SIGTERM:
        assert events[-1] == {"event": "error", "code": "cancelled", "message": "cancelled (SIGTERM)"}
        assert not temporary, "SIGTERM left the temporary file of the frame in flight"
    else:
        assert len(temporary) == 1  # a lost worker leaves it behind; never read, never renamed

    before = {f: p.stat() for f, p in finished.items()}
    done = run_openjd(bundle)
    assert f'"event": "start", "total": {len(FRAMES) - len(finished)}' in done.stdout
    after = output_files(out)
    assert sorted(after) == list(FRAMES)
    for frame in FRAMES:
        assert after[frame].read_bytes() == reference[frame], frame
    for frame, stat in before.items():
        now = after[frame].stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), f"frame {frame} was rendered again"


def test_resume_renders_again_a_frame_truncated_after_it_was_written(tmp_path):
    from focuspull.job import Job
    from focuspull.pipeline import render_job

    plate = make_plate(tmp_path / "plate", FRAMES[:2])
    job = Job.load(write_job(tmp_path / "job.json", plate, str(tmp_path / "out" / "refocus.####.exr"),
                             frames="1001-1002"))
    render_job(job)
    path = tmp_path / "out" / "refocus.1002.exr"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # header intact, pixels cut off
    report = render_job(job, resume=True)
    assert report.frames == (1002,)


def test_a_cancel_during_a_frame_write_is_reported_as_cancelled(tmp_path, monkeypatch):
    import numpy as np
    import OpenImageIO as oiio

    from focuspull.errors import CancelledError
    from focuspull.io import write_image

    def interrupted(self, *args, **kwargs):
        # What the SIGTERM handler of `focuspull render` raises when it runs right after OIIO's C++ write.
        raise CancelledError("cancelled (SIGTERM)")

    monkeypatch.setattr(oiio.ImageOutput, "write_image", interrupted)
    with pytest.raises(CancelledError):
        write_image(str(tmp_path / "f.exr"), np.zeros((4, 8, 3), np.float32), ["R", "G", "B"])
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone either way
