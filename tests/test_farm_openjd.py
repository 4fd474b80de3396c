"""The exported bundle run locally by ``openjd run`` (openjd-cli), as a farm runs it.

A 7-frame shot in chunks of 3 (three tasks, each a separate worker process)
must give the same files, byte for byte, as one single-process render of the
same job; a re-run with ``--resume`` rewrites only missing frames and frames
written by another version of the job.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_farm_bundle import FRAMES, chunk_frames, make_plate, write_job

from focuspull.farm import FarmSettings, export_bundle, local_run_command
from focuspull.job import Job

pytest.importorskip("openjd.cli", reason="needs openjd-cli: pip install focuspull[farm]")

START_EVENT = re.compile(r'^.*?(\{"event": "start".*\})\s*$', re.MULTILINE)


def task_chunks(openjd_stdout: str) -> list[str]:
    """START-END of every task that ran, from the workers' start events in openjd's log."""
    events = [json.loads(m) for m in START_EVENT.findall(openjd_stdout)]
    return [f"{e['first']}-{e['last']}" for e in events]


def output_files(folder: Path) -> dict[int, Path]:
    return {int(p.name.split(".")[1]): p for p in sorted(folder.glob("refocus.*.exr"))}


def render_reference(bundle: Path, into: Path) -> dict[int, bytes]:
    """One single-process render of the bundle's job, moved aside; the bytes of every frame."""
    from focuspull.pipeline import render_job

    job = Job.load(bundle / "job.json")
    report = render_job(job)
    assert report.frames == FRAMES
    out = Path(job.output.pattern).parent
    into.mkdir()
    reference = {}
    for frame, path in output_files(out).items():
        reference[frame] = path.read_bytes()
        shutil.move(str(path), into / path.name)
    assert not output_files(out)
    return reference


def run_openjd(bundle: Path, *extra: str) -> subprocess.CompletedProcess:
    argv = local_run_command(bundle) + list(extra)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture
def farm_shot(tmp_path):
    plate = make_plate(tmp_path / "plate")
    job = write_job(tmp_path / "job.json", plate, str(tmp_path / "out" / "refocus.####.exr"))
    export_bundle(job, tmp_path / "bundle", FarmSettings(chunk_size=3, worker_python=sys.executable))
    reference = render_reference(tmp_path / "bundle", tmp_path / "reference")
    return tmp_path, reference


def test_three_openjd_tasks_equal_a_single_process_render_byte_for_byte(farm_shot):
    root, reference = farm_shot
    done = run_openjd(root / "bundle")
    chunks = task_chunks(done.stdout)
    assert len(chunks) == 3  # three tasks, each its own worker process
    assert sorted(f for c in chunks for f in chunk_frames(c)) == list(FRAMES)
    assert done.stdout.count('"event": "done"') == 3
    written = output_files(root / "out")
    assert sorted(written) == list(FRAMES)
    for frame, path in written.items():
        assert path.read_bytes() == reference[frame], f"frame {frame} differs from the single-process render"


def test_resume_rewrites_only_missing_frames_and_frames_of_another_job(farm_shot):
    from focuspull.pipeline import render_job

    root, reference = farm_shot
    out = root / "out"
    out.mkdir(exist_ok=True)
    for frame in FRAMES:
        (out / f"refocus.{frame}.exr").write_bytes(reference[frame])
    # Frame 1003 as another version of the job wrote it (a different strength).
    data = Job.load(root / "bundle" / "job.json").to_dict()
    data["strength"] = {"value": 2.0}
    data["output"]["pattern"] = str(root / "other" / "refocus.####.exr")
    other = Job.from_dict(data)
    render_job(other, chunk=(1003, 1003))
    foreign = (root / "other" / "refocus.1003.exr").read_bytes()
    assert foreign != reference[1003]
    (out / "refocus.1003.exr").write_bytes(foreign)
    (out / "refocus.1002.exr").unlink()
    before = {f: p.stat() for f, p in output_files(out).items()}

    done = run_openjd(root / "bundle", "--task-param", "Frame=1001-1003")
    assert '"event": "start", "total": 2' in done.stdout  # 1002 (missing) and 1003 (foreign), not 1001
    after = output_files(out)
    assert sorted(after) == list(FRAMES)
    for frame in FRAMES:
        assert after[frame].read_bytes() == reference[frame], frame
    # Untouched: the same inode and modification time (outputs are renamed into place when written).
    for frame in (1001, 1004, 1005, 1006, 1007):
        now = after[frame].stat()
        assert (now.st_ino, now.st_mtime_ns) == (before[frame].st_ino, before[frame].st_mtime_ns), frame
    assert after[1003].stat().st_ino != before[1003].st_ino


def test_a_stabilised_shot_makes_its_depth_once_in_a_first_step_that_every_chunk_reuses(tmp_path):
    pytest.importorskip("cv2")
    import yaml
    from test_farm_bundle import job_data

    plate = make_plate(tmp_path / "plate")
    data = job_data(plate, str(tmp_path / "out" / "refocus.####.exr"))
    data["depth"]["stabilize"] = "on"  # the shot's depth is made once, over the whole shot
    Job.from_dict(data).save(tmp_path / "job.json")
    export_bundle(tmp_path / "job.json", tmp_path / "bundle", FarmSettings(chunk_size=3, worker_python=sys.executable))
    assert not list((tmp_path / "out").glob("*depth_stable*"))  # not on the exporting machine
    steps = yaml.safe_load((tmp_path / "bundle" / "template.yaml").read_text())["steps"]
    assert [s["name"] for s in steps] == ["Depth", "Refocus"]
    assert steps[1]["dependencies"] == [{"dependsOn": "Depth"}]

    done = run_openjd(tmp_path / "bundle")
    assert done.stdout.count("stabilising 7 frame(s)") == 1  # the Depth task
    assert done.stdout.count("reusing") == len(task_chunks(done.stdout)) == 3  # each chunk
    written = {frame: path.read_bytes() for frame, path in output_files(tmp_path / "out").items()}
    for path in output_files(tmp_path / "out").values():
        path.unlink()
    assert written == render_reference(tmp_path / "bundle", tmp_path / "reference")  # = one render
