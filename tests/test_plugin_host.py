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
import focuspull_host as fc  # noqa: E402


def _job(tmp_path: Path, frames=(1001, 1002, 1003), depth=None, matte=None, **values) -> dict:
    """A job through the one job builder, from control values keyed by job field."""
    v = {"focus.value": [2.0 + i for i in range(len(frames))], "strength.value": 8.0}
    v.update({k.replace("__", "."): x for k, x in values.items()})
    return fc.build_job(fc.HostInputs(list(frames), str(tmp_path / "plate.####.exr"),
                                      str(tmp_path / "out" / "refocus.####.exr"), v, depth=depth, matte=matte))


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


def test_status_lines_name_the_depth_being_made_before_the_first_frame():
    event = {"event": "stage", "stage": "stabilize", "done": 3, "total": 12}
    assert fc.progress_text(event) == "stabilising depth (3/12)"
    assert fc.progress_fraction(event) == 0.25
    assert fc.progress_text({"event": "stage", "stage": "depth", "done": 1, "total": 4}) == "estimating depth (1/4)"
    assert fc.progress_text({"event": "stage", "stage": "later", "done": 1, "total": 4}) == "later (1/4)"


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
    with pytest.raises(fc.InvalidJob, match="frame 2"):
        fc.curve_from_samples([1, 2], [1.0, float("nan")])


# -- the shipped schema --------------------------------------------------------
def test_made_jobs_are_valid_for_the_core_and_the_shipped_schema(tmp_path):
    from focuspull.job import Job

    job = _job(tmp_path, depth=str(tmp_path / "z.####.exr"), depth__kind="disparity")
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




# -- the one job builder ------------------------------------------------------------
def test_builder_drops_defaults_and_reads_menus_by_name_or_index(tmp_path):
    job = _job(tmp_path, aperture__blades=6, aperture__roundness=0.0, aperture__shape=1, engine__name="neural",
               engine__device=1, output__pixel_type="float", focus__window_px=9, strength__filmback_width_mm=0.0)
    assert job["aperture"] == {"shape": "polygon"}  # blades 6 and roundness 0 are the schema's defaults
    assert job["engine"] == {"name": "neural", "options": {}, "device": "cpu"}
    assert job["output"]["pixel_type"] == "float"
    assert job["focus"] == {"value": {"frames": [1001, 1002, 1003], "values": [2.0, 3.0, 4.0]}, "mode": "auto",
                            "window_px": 9}
    assert "filmback_width_mm" not in job["strength"]  # 0: not set (the core has no default)
    with pytest.raises(fc.InvalidJob, match="aperture.shape: entry 7"):
        _job(tmp_path, aperture__shape=7)


def test_builder_decides_depth_focus_and_strength_the_same_for_every_host(tmp_path):
    from focuspull.job import Job

    estimated = _job(tmp_path, depth__source="estimate", depth__kind="disparity", depth__channel="Z")
    assert estimated["depth"] == {"source": "estimate"}  # estimated depth is always normalized disparity
    channel = _job(tmp_path, depth__channel="depth.Z", depth__kind=2)
    assert channel["depth"] == {"source": "channel", "kind": "disparity"}  # depth.Z / Z: the worker finds both
    point = _job(tmp_path, focus__mode="point", focus__x=[10.0, 20.0, 30.0], focus__y=12.0)
    assert point["focus"] == {"mode": "point", "x": {"frames": [1001, 1002, 1003], "values": [10.0, 20.0, 30.0]},
                              "y": 12.0, "origin": "bottom_left"}
    lens = _job(tmp_path, strength__mode="lens", strength__focal_length_mm=50.0, strength__f_stop=[2.0, 2.0, 2.0],
                strength__filmback_width_mm=36.0, strength__reference_width_px=1920.0)
    assert lens["strength"] == {"mode": "lens", "focal_length_mm": 50.0, "f_stop": 2.0, "filmback_width_mm": 36.0}
    k_mode = _job(tmp_path, strength__focal_length_mm=50.0)  # a lens control left set in mode k
    assert k_mode["strength"] == {"value": 8.0, "mode": "k"}
    with pytest.raises(fc.InvalidJob, match="connect the subject matte"):
        _job(tmp_path, focus__mode="matte")
    matte = _job(tmp_path, matte=str(tmp_path / "m.####.exr"), focus__mode="matte")
    assert matte["focus"] == {"mode": "matte", "matte": str(tmp_path / "m.####.exr")}
    for job in (estimated, channel, point, lens, k_mode, matte):
        Job.from_dict(job)  # the core agrees with every one
    with pytest.raises(fc.InvalidJob, match="is the plate itself"):
        fc.build_job(fc.HostInputs([1], str(tmp_path / "p.####.exr"), str(tmp_path / "p.%04d.exr"), {}))
    with pytest.raises(fc.InvalidJob, match="focus.value: 2 samples for 3 frames"):
        _job(tmp_path, focus__value=[1.0, 2.0])


# -- one background run for render and farm -------------------------------------------
def test_background_run_renders_on_a_thread_and_reports_progress(tmp_path, worker_env):
    events, finished = [], []
    run = fc.BackgroundRun("n1", _job(tmp_path), on_event=events.append, on_finish=finished.append,
                           command=fake_worker_command()).start()
    assert run.wait(30) and finished == [run]
    assert run.error is None and run.result.frames_done == 3
    assert run.summary().startswith("rendered 3 frame(s) to ")
    assert [e["event"] for e in events] == ["start", "frame", "frame", "frame", "done"]


def test_background_run_cancel_stops_a_render(tmp_path, worker_env, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER_MODE", "hang")
    monkeypatch.setenv("FAKE_WORKER_PIDS", str(tmp_path / "pids.json"))
    run = fc.BackgroundRun("n1", _job(tmp_path), command=fake_worker_command(),
                           on_event=lambda e: run.cancel() if e["event"] == "frame" else None)
    run.start(wait=True)
    assert isinstance(run.error, fc.RenderCancelled) and run.summary().startswith("cancelled: ")
    for pid in json.loads((tmp_path / "pids.json").read_text()).values():
        assert gone_within(pid)


def test_runner_reports_a_bad_snapshot_as_one_error_event(tmp_path):
    import subprocess

    (tmp_path / "snapshot.json").write_text(json.dumps({"action": "render", "inputs": {
        "frames": [1], "plate": str(tmp_path / "p.####.exr"), "output": str(tmp_path / "o.####.exr"),
        "values": {"aperture.blades": 1}}}))
    from fakes.paths import COMMON

    proc = subprocess.run([sys.executable, "-m", "focuspull_host", "run", str(tmp_path)], cwd=str(COMMON),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    (event,) = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert event["event"] == "error" and event["code"] == "invalid_job"
    assert "job.aperture.blades: 1 is below the minimum 3" in event["message"]
    assert event["status"].startswith("error: job.aperture.blades")


# -- every Python the host package claims ----------------------------------------------
CLAIMED = ((3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13))
PYENV = Path.home() / ".pyenv" / "versions"


def _interpreter(version) -> str:
    found = sorted(PYENV.glob("{}.{}.*/bin/python".format(*version))) if PYENV.is_dir() else []
    return str(found[-1]) if found else ""


@pytest.mark.parametrize("version", CLAIMED, ids=lambda v: "py{}{}".format(*v))
def test_host_package_runs_on_every_claimed_python(tmp_path, version):
    """Import the package, build and check a job, and run it through BackgroundRun with the fake worker,
    under that interpreter (Resolve 17-era set-ups run 3.6, Nuke 13 3.7, Nuke 16 3.11, ...)."""
    import subprocess

    from fakes.paths import COMMON, FAKE_WORKER

    python = _interpreter(version)
    if not python:
        pytest.skip("no Python {}.{} under ~/.pyenv/versions".format(*version))
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import focuspull_host as fh\n"
        "inputs = fh.HostInputs([1001, 1002], sys.argv[2] + '/p.####.exr', sys.argv[2] + '/o/r.####.exr',\n"
        "    {'focus.value': [1.0, 2.0], 'aperture.shape': 1, 'engine.device': 'cpu'})\n"
        "job = fh.build_job(inputs)\n"
        "run = fh.BackgroundRun('n', job, command=[sys.executable, sys.argv[3]]).start(wait=True)\n"
        "print(json.dumps({'version': list(sys.version_info[:2]), 'error': str(run.error), 'summary': run.summary(),\n"
        "                  'job': job}))\n"
    )
    env = dict(os.environ, FAKE_WORKER_MODE="ok")
    env.pop("FAKE_WORKER_RECORD", None)
    proc = subprocess.run([python, "-c", script, str(COMMON), str(tmp_path), str(FAKE_WORKER)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["version"] == list(version) and out["error"] == "None", out
    assert out["summary"].startswith("rendered 2 frame(s)")
    assert out["job"]["aperture"] == {"shape": "polygon"} and out["job"]["engine"]["device"] == "cpu"
    assert out["job"]["focus"]["value"] == {"frames": [1001, 1002], "values": [1.0, 2.0]}
