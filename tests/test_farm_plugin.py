"""The hosts' "Submit to farm" (plugin/common/focuspull_farm.py) against the real
worker (``python -m focuspull farm ...``) and a fake ``deadline`` command."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import pytest
from test_farm_bundle import fake_deadline, job_data, make_plate  # noqa: F401  (fixture)

from fakes.paths import COMMON, add_plugin_paths

add_plugin_paths()
import focuspull_client as fc  # noqa: E402
import focuspull_farm as ff  # noqa: E402

WORKER = [sys.executable, "-m", "focuspull"]


@pytest.fixture
def host_job(tmp_path):
    plate = make_plate(tmp_path / "plate")
    data = job_data(plate, str(tmp_path / "out" / "refocus.####.exr"), frames="1001-1007")
    data["focus"] = {"value": data["focus"]}  # as host clients write it
    data["strength"] = {"value": data["strength"]}
    return tmp_path, data


def test_submit_to_farm_exports_then_submits(host_job, fake_deadline, monkeypatch):
    root, job = host_job
    monkeypatch.setenv(ff.ENV_FARM_PYTHON, "/farm/focuspull/bin/python")
    result = ff.submit_to_farm(job, chunk_size=3, gpu=True, command=WORKER)
    job_path = root / "out" / "refocus.job.json"
    assert result.job_path == str(job_path) and json.loads(job_path.read_text()) == job
    assert result.bundle_dir == str(root / "out" / "refocus.farm")
    assert result.tasks == 3 and result.bundle["gpu"] is True
    assert result.submitted and result.job_id == "job-0123456789abcdef0123456789abcdef"
    assert json.loads(fake_deadline.read_text())[-1] == result.bundle_dir
    values = (Path(result.bundle_dir) / "parameter_values.yaml").read_text()
    assert "/farm/focuspull/bin/python" in values  # the farm's Python, not the host's worker
    assert "submitted 3 task(s)" in ff.describe_result(result)


def test_without_deadline_the_bundle_is_kept_and_the_artist_told_how_to_submit(host_job, monkeypatch):
    root, job = host_job
    monkeypatch.setenv("PATH", str(root / "no-bin"))
    monkeypatch.delenv("FOCUSPULL_DEADLINE", raising=False)
    result = ff.submit_to_farm(job, chunk_size=4, command=WORKER)
    assert not result.submitted and result.tasks == 2
    assert (Path(result.bundle_dir) / "template.yaml").is_file()
    assert "pip install deadline" in result.reason
    message = ff.describe_result(result)
    assert 'deadline bundle submit "{}"'.format(result.bundle_dir) in message
    # Asked to submit explicitly, the same set-up is an error with a hint.
    with pytest.raises(ff.FarmFailed) as err:
        ff.submit_bundle(result.bundle_dir, command=WORKER)
    assert err.value.code == "deadline_unavailable"
    assert "deadline config gui" in fc.describe_error(err.value)


def test_a_bad_shot_fails_at_export_with_the_workers_code(host_job):
    root, job = host_job
    os.remove(root / "plate" / "plate.1005.exr")
    with pytest.raises(ff.FarmFailed) as err:
        ff.submit_to_farm(job, command=WORKER, submit=False)
    assert err.value.code == "missing_frames" and "1005" in err.value.message
    assert not (root / "out" / "refocus.farm" / "template.yaml").exists()


def test_invalid_job_is_refused_before_the_worker_starts(host_job):
    _, job = host_job
    job["strength"] = {"value": "strong"}
    with pytest.raises(fc.InvalidJob, match="strength"):
        ff.submit_to_farm(job, command=["/nonexistent/python"])


def test_bundle_folder_sits_next_to_the_job():
    assert ff.bundle_dir_for("/shots/sh010/out/refocus.job.json") == "/shots/sh010/out/refocus.farm"
    assert ff.bundle_dir_for("/shots/a.json") == "/shots/a.farm"


def test_farm_python_comes_from_argument_env_then_settings(tmp_path):
    settings = tmp_path / "cfg"
    settings.mkdir()
    (settings / "worker.json").write_text(json.dumps({"python": "/w/python", "farm_python": "/farm/python"}))
    env = {"FOCUSPULL_CONFIG_DIR": str(settings)}
    assert ff.resolve_farm_python(None, env) == "/farm/python"
    assert ff.resolve_farm_python(None, {**env, ff.ENV_FARM_PYTHON: "/env/python"}) == "/env/python"
    assert ff.resolve_farm_python("/arg/python", env) == "/arg/python"
    assert ff.resolve_farm_python(None, {"FOCUSPULL_CONFIG_DIR": str(tmp_path / "none")}) is None


def test_host_module_is_python39_standard_library_only():
    source = (COMMON / "focuspull_farm.py").read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - set(sys.stdlib_module_names) == {"focuspull_client"}
