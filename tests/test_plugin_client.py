"""The shared host client against a fake worker: events, errors, cancel, job validation."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from fakes.paths import add_plugin_paths, fake_worker_command
from fakes.worker import gone_within

add_plugin_paths()
import focuspull_client as fc  # noqa: E402


def _job(tmp_path: Path, frames=(1001, 1002, 1003), **kw) -> dict:
    return fc.make_job(
        str(tmp_path / "plate.####.exr"),
        str(tmp_path / "out" / "refocus.####.exr"),
        focus=fc.curve_from_samples(list(frames), [2.0 + i for i in range(len(frames))]),
        strength=8.0,
        frames=list(frames),
        **kw,
    )


@pytest.fixture
def worker_env(tmp_path, monkeypatch):
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_WORKER_RECORD", str(record))
    monkeypatch.setenv("FAKE_WORKER_MODE", "ok")
    return record


# -- frames, patterns, curves -----------------------------------------------
def test_frames_round_trip():
    assert fc.parse_frames("1001-1005x2, 1010,1011-1012") == [1001, 1003, 1005, 1010, 1011, 1012]
    assert fc.format_frames([1003, 1001, 1002, 1007]) == "1001-1003,1007"
    assert fc.frame_runs([5, 1, 2, 3]) == [(1, 3), (5, 5)]
    with pytest.raises(fc.InvalidJob, match="1010-1001"):
        fc.parse_frames("1010-1001")


def test_patterns():
    assert fc.frame_path("/a/plate.####.exr", 7) == "/a/plate.0007.exr"
    assert fc.frame_path("/a/plate.%05d.exr", 1001) == "/a/plate.01001.exr"
    assert fc.frame_path("/a/plate.$F3.exr", 12) == "/a/plate.012.exr"
    assert fc.to_hash_pattern("/a/plate.%04d.exr") == "/a/plate.####.exr"
    assert fc.pattern_from_filename("/a/shot-010.1001.exr") == ("/a/shot-010.####.exr", 1001)
    assert fc.pattern_from_filename("/a/plate_00012.exr") == ("/a/plate_#####.exr", 12)
    assert fc.pattern_from_filename("/a/still.exr") == ("/a/still.exr", None)
    assert fc.job_path_for("/out/refocus.####.exr") == "/out/refocus.job.json"
    # An output that would overwrite its plate: same file at that frame, however the padding is written.
    assert fc.same_frame_file("/a/plate.####.exr", "/a/b/../plate.%04d.exr", 7)
    assert not fc.same_frame_file("/a/plate.####.exr", "/a/plate.###.exr", 7)
    assert not fc.same_frame_file("/a/out.####.exr", "/a/plate.####.exr", 7)


def test_curve_from_samples_dense_and_constant():
    assert fc.curve_from_samples([1, 2, 3], [4, 4, 4]) == 4.0
    assert fc.curve_from_samples([1, 2], [1, 2]) == {"frames": [1, 2], "values": [1.0, 2.0]}
    assert fc.sample_curve(lambda f: f * 0.5, [10, 11]) == {"frames": [10, 11], "values": [5.0, 5.5]}
    with pytest.raises(fc.InvalidJob, match="frame 2"):
        fc.curve_from_samples([1, 2], [1.0, float("nan")])


# -- the shipped schema --------------------------------------------------------
def test_made_jobs_are_valid_for_the_core_and_the_shipped_schema(tmp_path):
    from focuspull.job import Job

    job = _job(tmp_path, depth_source="sequence", depth_pattern=str(tmp_path / "z.####.exr"), depth_kind="disparity")
    assert fc.validate_job(job) == []
    parsed = Job.from_dict(job)  # the core agrees
    assert parsed.focus.value.evaluate([1001, 1002, 1003]) == [2.0, 3.0, 4.0]
    assert parsed.depth.pattern.endswith("z.####.exr")


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda j: j["output"].update(pixel_type="int8"), "job.output.pixel_type"),
        (lambda j: j["depth"].update(kind="metres"), "job.depth.kind"),
        (lambda j: j["input"].pop("pattern"), "job.input.pattern"),
        (lambda j: j.update(colour="x"), "colour"),
        (lambda j: j["focus"].update(value={"frames": [1], "values": "x"}), "job.focus"),
    ],
)
def test_validator_names_the_bad_field_and_agrees_with_jsonschema(tmp_path, mutate, field):
    jsonschema = pytest.importorskip("jsonschema")
    job = _job(tmp_path)
    mutate(job)
    problems = fc.validate_job(job)
    assert problems and field in problems[0], problems
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(job, fc.load_schema())


# -- worker settings -----------------------------------------------------------
def test_worker_command_from_env_then_settings(tmp_path):
    python = sys.executable
    assert fc.worker_command({"FOCUSPULL_WORKER_PYTHON": python}) == [python, "-m", "focuspull"]
    env = {"FOCUSPULL_CONFIG_DIR": str(tmp_path)}
    with pytest.raises(fc.WorkerNotConfigured, match="no worker Python"):
        fc.worker_command(env)
    (tmp_path / "worker.json").write_text(json.dumps({"python": python}))
    assert fc.worker_command(env) == [python, "-m", "focuspull"]
    (tmp_path / "worker.json").write_text(json.dumps({"python": str(tmp_path / "gone" / "python")}))
    with pytest.raises(fc.WorkerNotConfigured, match="does not exist"):
        fc.worker_command(env)
    (tmp_path / "worker.json").write_text(json.dumps({"command": ["rez", "env", "--", "python", "-m", "focuspull"]}))
    assert fc.worker_command(env)[0] == "rez"


def test_worker_environment_drops_the_hosts_python_and_libraries():
    base = {"PYTHONHOME": "/opt/Nuke15/lib/python3.10", "PYTHONPATH": "/opt/Nuke15/plugins",
            "LD_LIBRARY_PATH": os.pathsep.join(["/opt/Nuke15/lib", "/usr/local/cuda/lib64"]), "OCIO": "/cfg.ocio"}
    env = fc.worker_environment(base, host_prefixes=["/opt/Nuke15"])
    assert "PYTHONHOME" not in env and "PYTHONPATH" not in env
    assert env["LD_LIBRARY_PATH"] == "/usr/local/cuda/lib64"
    assert env["OCIO"] == "/cfg.ocio" and env["PYTHONUNBUFFERED"] == "1"


# -- running the (fake) worker ----------------------------------------------
def test_run_job_reports_every_frame_and_done(tmp_path, worker_env, monkeypatch):
    monkeypatch.setenv("PYTHONHOME", "/host/python")  # must not reach the worker
    events = []
    result = fc.run_job(_job(tmp_path), on_event=events.append, command=fake_worker_command())
    assert [e["event"] for e in events] == ["start", "frame", "frame", "frame", "done"]
    assert [e["frame"] for e in events if e["event"] == "frame"] == [1001, 1002, 1003]
    assert result.frames_done == 3 and result.output_pattern.endswith("refocus.####.exr")
    record = json.loads(worker_env.read_text())
    assert record["argv"] == ["render", "--job", result.job_path, "--progress", "jsonl"]
    assert result.job_path == str(tmp_path / "out" / "refocus.job.json")
    assert record["job"] == json.loads(Path(result.job_path).read_text())
    assert record["env"]["PYTHONHOME"] is None and record["env"]["PYTHONUNBUFFERED"] == "1"


def test_non_json_stdout_is_ignored(tmp_path, worker_env, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER_MODE", "noise")
    events = []
    fc.run_job(_job(tmp_path), on_event=events.append, command=fake_worker_command())
    assert [e["event"] for e in events].count("frame") == 3


def test_error_event_becomes_a_message(tmp_path, worker_env, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER_MODE", "error")
    with pytest.raises(fc.RenderFailed) as info:
        fc.run_job(_job(tmp_path), command=fake_worker_command())
    err = info.value
    assert err.code == "missing_frames" and err.returncode == 2
    text = fc.describe_error(err)
    assert "plate.1002.exr is missing" in text and "[missing_frames]" in text
    assert "every input frame exists" in text  # the hint for that code


@pytest.mark.parametrize("mode, expect", [("crash", "exited with code 3: RuntimeError: boom"),
                                          ("silent_ok", "without reporting 'done'")])
def test_worker_dying_without_an_error_event(tmp_path, worker_env, monkeypatch, mode, expect):
    monkeypatch.setenv("FAKE_WORKER_MODE", mode)
    with pytest.raises(fc.RenderFailed) as info:
        fc.run_job(_job(tmp_path), command=fake_worker_command())
    assert info.value.code == "worker_crashed" and expect in info.value.message
    if mode == "crash":
        assert "Traceback" in fc.describe_error(info.value)


def test_invalid_job_is_rejected_before_a_worker_starts(tmp_path, worker_env):
    job = _job(tmp_path)
    job["output"]["pixel_type"] = "int8"
    with pytest.raises(fc.InvalidJob, match="pixel_type"):
        fc.run_job(job, command=fake_worker_command())
    assert not worker_env.exists()


def test_missing_worker_executable_is_a_clear_error(tmp_path, worker_env):
    with pytest.raises(fc.RenderFailed) as info:
        fc.run_job(_job(tmp_path), command=[str(tmp_path / "nope" / "python"), "-m", "focuspull"])
    assert info.value.code == "worker_failed_to_start"


@pytest.mark.skipif(os.name == "nt", reason="process-group check uses POSIX signals")
def test_cancel_terminates_the_whole_process_tree(tmp_path, worker_env, monkeypatch):
    pids_file = tmp_path / "pids.json"
    monkeypatch.setenv("FAKE_WORKER_MODE", "hang")
    monkeypatch.setenv("FAKE_WORKER_PIDS", str(pids_file))
    seen = []

    def cancelled() -> bool:
        return any(e["event"] == "frame" for e in seen)

    started = time.monotonic()
    with pytest.raises(fc.RenderCancelled) as info:
        fc.run_job(_job(tmp_path), on_event=seen.append, is_cancelled=cancelled, command=fake_worker_command())
    assert time.monotonic() - started < 30
    assert "1 of 3" in info.value.message
    pids = json.loads(pids_file.read_text())
    for pid in pids.values():
        assert gone_within(pid), f"process {pid} survived the cancel"


