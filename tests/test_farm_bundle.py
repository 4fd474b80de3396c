"""The farm bundle without running it: the template openjd-model accepts, the
tasks it makes, the job snapshot, the CLI, and submission through a fake
``deadline`` command.

The helpers at the top (a tiny RGBA+Z shot and its job) are shared by the
other ``test_farm_*`` files.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openjd.model", reason="needs openjd-model: pip install focuspull[farm]")

from focuspull.cli import main  # noqa: E402
from focuspull.farm import (  # noqa: E402
    DeadlineUnavailable,
    FarmError,
    FarmSettings,
    SubmitError,
    export_bundle,
    farm_job,
    openjd_frames,
    read_parameter_values,
    submit_bundle,
    validate_bundle,
)
from focuspull.job import Job  # noqa: E402

W, H = 48, 32
FRAMES = tuple(range(1001, 1008))  # 7 frames: chunks of 3 make 3 tasks, the last ones shorter


# -- shared helpers -----------------------------------------------------------------
def plate_pixels(frame: int, width: int = W, height: int = H) -> np.ndarray:
    """RGBA + Z: textured, left half near (z = 1), right half far (z = 10), an HDR highlight."""
    rng = np.random.default_rng(frame)
    rgb = rng.uniform(0.0, 2.0, (height, width, 3)).astype(np.float32)
    rgb[height // 4, (3 * width) // 4] = 30.0
    z = np.where(np.arange(width)[None, :] < width // 2, 1.0, 10.0) * np.ones((height, 1))
    return np.concatenate([rgb, np.ones((height, width, 1)), z[..., None]], -1).astype(np.float32)


def make_plate(folder: Path, frames=FRAMES, size=(W, H)) -> str:
    """Write ``plate.####.exr`` (float RGBA+Z, zip) with OpenImageIO; returns the pattern."""
    import OpenImageIO as oiio

    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        pixels = plate_pixels(frame, *size)
        spec = oiio.ImageSpec(size[0], size[1], 5, oiio.FLOAT)
        spec.channelnames = ("R", "G", "B", "A", "Z")
        spec.alpha_channel = 3
        spec.attribute("compression", "zip")
        path = str(folder / f"plate.{frame}.exr")
        out = oiio.ImageOutput.create(path)
        assert out.open(path, spec), out.geterror()
        assert out.write_image(pixels), out.geterror()
        out.close()
    return str(folder / "plate.####.exr")


def job_data(plate: str, output: str, *, frames: str | None = None, strength: float = 6.0,
             engine: str = "physical") -> dict:
    return {
        "schema": "focuspull.job/1",
        "input": {"pattern": plate, "frames": frames},
        "depth": {"channel": "Z", "kind": "depth"},
        "focus": {"keys": [[FRAMES[0], 1.0, "linear"], [FRAMES[-1], 10.0, "linear"]]},
        "strength": strength,
        "engine": {"name": engine, "device": "cpu"},
        "output": {"pattern": output, "pixel_type": "float"},
    }


def write_job(path: Path, plate: str, output: str, **kw) -> Path:
    Job.from_dict(job_data(plate, output, **kw)).save(path)
    return path


def chunk_frames(chunk: str) -> list[int]:
    first, _, last = chunk.partition("-")
    return list(range(int(first), int(last) + 1))


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture
def shot(tmp_path):
    plate = make_plate(tmp_path / "plate")
    job = write_job(tmp_path / "job.json", plate, str(tmp_path / "out" / "refocus.####.exr"))
    return tmp_path, job


@pytest.fixture
def bundle(shot) -> Path:
    """The shot's job exported with ``settings()`` to ``tmp_path/bundle``."""
    root, job = shot
    export_bundle(job, root / "bundle", settings())
    return root / "bundle"


def settings(**kw) -> FarmSettings:
    return FarmSettings(**{"chunk_size": 3, "worker_python": sys.executable, **kw})


# -- the template -------------------------------------------------------------------
def test_bundle_validates_and_splits_seven_frames_into_three_contiguous_chunks(shot):
    root, job = shot
    bundle = export_bundle(job, root / "bundle", settings())
    for name in ("template.yaml", "parameter_values.yaml", "job.json"):
        assert (root / "bundle" / name).is_file()
    # ceil(7 / 3) = 3 tasks; openjd-model evens them out, none longer than 3 frames.
    assert bundle.chunks is not None and len(bundle.chunks) == 3
    covered = [f for c in bundle.chunks for f in chunk_frames(c)]
    assert covered == list(FRAMES)  # in order, no gap, no overlap
    assert all(len(chunk_frames(c)) <= 3 for c in bundle.chunks)
    assert validate_bundle(root / "bundle") == list(bundle.chunks)


def test_each_task_runs_the_worker_on_its_chunk_with_resume(shot):
    from openjd.model import create_job, decode_job_template, preprocess_job_parameters

    from focuspull.farm.bundle import read_document

    root, job = shot
    export_bundle(job, root / "bundle", settings())
    document = read_document(root / "bundle" / "template.yaml")
    assert document["extensions"] == ["TASK_CHUNKING"]
    template = decode_job_template(template=document, supported_extensions=["TASK_CHUNKING"])
    values = preprocess_job_parameters(job_template=template, job_parameter_values={},
                                       job_template_dir=root / "bundle", current_working_dir=root)
    step = create_job(job_template=template, job_parameter_values=values).steps[0]
    (param,) = step.parameterSpace.taskParameterDefinitions.values()
    assert param.type.value == "CHUNK[INT]" and param.chunks.rangeConstraint.value == "CONTIGUOUS"
    action = document["steps"][0]["script"]["actions"]["onRun"]
    assert action["command"] == "{{Param.WorkerPython}}"
    assert action["args"] == ["-m", "focuspull", "render", "--job", "{{Param.JobFile}}", "--chunk",
                              "{{Task.Param.Frame}}", "--resume", "--progress", "jsonl"]
    # A cancelled task gets SIGTERM first, so the frame being written is not left behind.
    assert action["cancelation"]["mode"] == "NOTIFY_THEN_TERMINATE"
    # The job file resolves inside the bundle, wherever the bundle is.
    assert values["JobFile"].value == str(root / "bundle" / "job.json")
    assert values["WorkerPython"].value == sys.executable
    assert step.hostRequirements is None


def test_gpu_is_a_host_requirement_of_the_step(shot):
    from openjd.model import create_job, decode_job_template, preprocess_job_parameters

    from focuspull.farm.bundle import read_document

    root, job = shot
    export_bundle(job, root / "bundle", settings(gpu=True))
    template = decode_job_template(template=read_document(root / "bundle" / "template.yaml"),
                                   supported_extensions=["TASK_CHUNKING"])
    values = preprocess_job_parameters(job_template=template, job_parameter_values={},
                                       job_template_dir=root / "bundle", current_working_dir=root)
    (amount,) = create_job(job_template=template, job_parameter_values=values).steps[0].hostRequirements.amounts
    assert amount.name == "amount.worker.gpu" and amount.min == 1 and amount.max is None


def test_chunk_size_and_frames_are_job_parameters(bundle):
    values = read_parameter_values(bundle)
    assert values == {"Frames": "1001-1007", "ChunkSize": 3, "WorkerPython": sys.executable}
    assert validate_bundle(bundle, {"ChunkSize": 1}) == [f"{f}-{f}" for f in FRAMES]
    assert validate_bundle(bundle, {"ChunkSize": 7}) == ["1001-1007"]
    assert validate_bundle(bundle, {"ChunkSize": 100}) == ["1001-1007"]
    assert validate_bundle(bundle, {"Frames": "1003-1005", "ChunkSize": 2}) == ["1003-1004", "1005-1005"]
    with pytest.raises(FarmError, match="ChunkSize"):
        validate_bundle(bundle, {"ChunkSize": 0})
    # A task with frames outside the shot would fail on the farm: refused before submission.
    with pytest.raises(FarmError, match=r"1008-1010 not in the job's shot \(1001-1007\)"):
        validate_bundle(bundle, {"Frames": "1005-1010"})


def test_a_gappy_or_stepped_shot_never_gives_a_chunk_a_frame_outside_the_shot(tmp_path):
    frames = (1001, 1002, 1003, 1004, 1010, 1011, 1020, 1022, 1024, 1026)
    assert openjd_frames(frames) == "1001-1004,1010-1011,1020-1026:2"
    from openjd.model import IntRangeExpr

    assert list(IntRangeExpr.from_str(openjd_frames(frames))) == list(frames)
    plate = make_plate(tmp_path / "plate", frames, size=(8, 4))
    job = write_job(tmp_path / "job.json", plate, str(tmp_path / "out" / "r.####.exr"),
                    frames="1001-1004,1010,1011,1020-1026x2")
    bundle = export_bundle(job, tmp_path / "bundle", settings(chunk_size=3))
    # --chunk START-END renders the shot's frames in the range: a chunk spanning a
    # gap would hold frames the task was not given, an empty one would fail.
    for chunk in bundle.chunks:
        assert set(chunk_frames(chunk)) <= set(frames), chunk
    assert sorted(f for c in bundle.chunks for f in chunk_frames(c)) == list(frames)


# -- the job snapshot -----------------------------------------------------------------
def test_snapshot_pins_frames_and_keeps_the_resume_fingerprint(shot, monkeypatch):
    from focuspull.pipeline import job_fingerprint

    monkeypatch.delenv("OCIO", raising=False)  # a pinned $OCIO is a change of the job
    root, job = shot
    export_bundle(job, root / "bundle", settings())
    original, snapshot = Job.load(job), Job.load(root / "bundle" / "job.json")
    assert original.input.frames is None and snapshot.input.frames == "1001-1007"
    # Frames rendered from the original job before export are recognised by --resume.
    assert job_fingerprint(snapshot) == job_fingerprint(original)


def test_relative_paths_become_absolute_and_ocio_is_pinned(tmp_path, monkeypatch):
    job = Job.from_dict(job_data("plate/plate.####.exr", "out/r.####.exr"))
    job = job.replace(aperture=job.aperture.__class__(shape="image", kernel_path="kernels/bokeh.exr"))
    monkeypatch.setenv("OCIO", "configs/studio.ocio")
    snap = farm_job(job, FRAMES, base=tmp_path)
    assert snap.input.pattern == str(tmp_path / "plate" / "plate.####.exr")
    assert snap.output.pattern == str(tmp_path / "out" / "r.####.exr")
    assert snap.aperture.kernel_path == str(tmp_path / "kernels" / "bokeh.exr")
    # A worker's $OCIO may differ from the artist's: the snapshot names the config.
    assert snap.ocio_config == str(tmp_path / "configs" / "studio.ocio")
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    assert farm_job(job, FRAMES, base=tmp_path).ocio_config == "ocio://studio-config-latest"
    monkeypatch.delenv("OCIO")
    assert farm_job(job, FRAMES, base=tmp_path).ocio_config is None


def test_export_checks_the_shot_before_writing(shot):
    root, job = shot
    os.remove(root / "plate" / "plate.1004.exr")
    data = json.loads(job.read_text())
    data["input"]["frames"] = "1001-1007"
    job.write_text(json.dumps(data))
    from focuspull.errors import SequenceError

    with pytest.raises(SequenceError, match="1004"):
        export_bundle(job, root / "bundle", settings())
    assert not (root / "bundle" / "template.yaml").exists()


def test_export_without_check_needs_a_frame_list(shot):
    root, job = shot
    with pytest.raises(FarmError, match="input.frames"):
        export_bundle(job, root / "bundle", settings(), check=False)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_chunk_size_must_be_a_positive_whole_number(bad):
    with pytest.raises(FarmError, match="chunk size"):
        FarmSettings(chunk_size=bad)


def test_bundle_folder_that_is_a_file_is_refused(shot):
    root, job = shot
    (root / "taken").write_text("x")
    with pytest.raises(FarmError, match="not a folder"):
        export_bundle(job, root / "taken", settings())


# -- the command line ---------------------------------------------------------------
def test_cli_export_prints_one_json_result(shot, capsys):
    root, job = shot
    code = main(["farm", "export", str(job), str(root / "b"), "--chunk-size", "3", "--gpu",
                 "--worker-python", "/opt/fp/bin/python", "--json"])
    assert code == 0
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    assert result["event"] == "done" and len(result["chunks"]) == 3 and result["gpu"] is True
    assert read_parameter_values(root / "b")["WorkerPython"] == "/opt/fp/bin/python"


def test_cli_export_error_is_a_json_error_event(shot, capsys):
    root, job = shot
    code = main(["farm", "export", str(root / "nope.json"), str(root / "b"), "--json"])
    assert code == 2
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["event"] == "error" and event["code"] == "invalid_job" and "nope.json" in event["message"]


def test_write_job_then_export_is_the_whole_artist_path(shot, capsys):
    root, _ = shot
    job = root / "from_cli.json"
    assert main(["render", str(root / "plate" / "plate.####.exr"), "-o", str(root / "o" / "r.####.exr"),
                 "--focus", "1001:1,1007:10:linear", "--strength", "6", "--write-job", str(job)]) == 0
    assert not (root / "o").exists() or not any((root / "o").iterdir())  # nothing rendered
    assert main(["farm", "export", str(job), str(root / "b"), "--chunk-size", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["chunks"] == ["1001-1004", "1005-1007"]


# -- submission through a fake Deadline Cloud CLI ----------------------------------------
FAKE_DEADLINE = r'''#!{python}
import json, os, sys
args = sys.argv[1:]
if args[:2] == ["config", "get"]:
    value = {{"defaults.farm_id": os.environ.get("FAKE_FARM", ""), "defaults.queue_id": os.environ.get("FAKE_QUEUE", "")}}[args[2]]
    print(value)
    sys.exit(0)
with open(os.environ["FAKE_DEADLINE_RECORD"], "w") as f:
    json.dump(args, f)
if os.environ.get("FAKE_SUBMIT_FAIL"):
    print("Failed to submit the job bundle to Amazon Deadline Cloud:", file=sys.stderr)
    print("AccessDeniedException: not allowed", file=sys.stderr)
    sys.exit(1)
print("Submitting to Queue: focuspull-test")
print("Submitted job bundle:")
print("   " + args[-1])
print("job-0123456789abcdef0123456789abcdef")
'''


@pytest.fixture
def fake_deadline(tmp_path, monkeypatch):
    exe = tmp_path / "bin" / "deadline"
    exe.parent.mkdir()
    exe.write_text(FAKE_DEADLINE.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DEADLINE_RECORD", str(tmp_path / "deadline.json"))
    monkeypatch.setenv("FAKE_FARM", "farm-0123")
    monkeypatch.setenv("FAKE_QUEUE", "queue-4567")
    monkeypatch.delenv("FOCUSPULL_DEADLINE", raising=False)
    return tmp_path / "deadline.json"


def test_submit_runs_deadline_bundle_submit_and_returns_the_job_id(bundle, fake_deadline):
    result = submit_bundle(bundle, parameters={"ChunkSize": 5})
    assert result.job_id == "job-0123456789abcdef0123456789abcdef"
    assert json.loads(fake_deadline.read_text()) == [
        "bundle", "submit", "--yes", "--parameter", "ChunkSize=5", str(bundle)]


def test_submit_checks_the_parameters_before_calling_deadline(bundle, fake_deadline):
    with pytest.raises(FarmError, match="2001-2005 not in the job's shot"):
        submit_bundle(bundle, parameters={"Frames": "2001-2005"})
    assert not fake_deadline.exists()


def test_submit_without_farm_or_queue_says_how_to_configure(bundle, fake_deadline, monkeypatch):
    monkeypatch.setenv("FAKE_QUEUE", "")
    with pytest.raises(DeadlineUnavailable, match="no default queue configured.*deadline config"):
        submit_bundle(bundle)
    assert not fake_deadline.exists()  # nothing was submitted
    # An explicit queue is enough.
    assert submit_bundle(bundle, queue_id="queue-9").job_id is not None
    assert json.loads(fake_deadline.read_text())[3:5] == ["--queue-id", "queue-9"]


def test_submit_without_the_deadline_cli_says_how_to_install_it(bundle, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("FOCUSPULL_DEADLINE", raising=False)
    with pytest.raises(DeadlineUnavailable, match="pip install deadline"):
        submit_bundle(bundle)
    assert main(["farm", "submit", str(bundle), "--json"]) == 2
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["code"] == "deadline_unavailable"


def test_a_failed_submission_reports_deadlines_last_lines(bundle, fake_deadline, monkeypatch):
    monkeypatch.setenv("FAKE_SUBMIT_FAIL", "1")
    with pytest.raises(SubmitError, match="code 1.*AccessDeniedException"):
        submit_bundle(bundle)


def test_submit_refuses_a_folder_that_is_not_a_bundle(tmp_path, fake_deadline):
    with pytest.raises(SubmitError, match="farm export"):
        submit_bundle(tmp_path)


def test_cli_run_hands_the_bundle_to_openjd_and_returns_its_exit_code(bundle, tmp_path):
    fake = tmp_path / "openjd"
    record = tmp_path / "openjd.json"
    fake.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
                    "sys.exit(3)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert main(["farm", "run", str(bundle), "-p", "ChunkSize=1", "--openjd", str(fake)]) == 3
    assert json.loads(record.read_text()) == [
        "run", str(bundle / "template.yaml"), "--job-param", "Frames=1001-1007",
        "--job-param", "ChunkSize=1", "--job-param", f"WorkerPython={sys.executable}"]
