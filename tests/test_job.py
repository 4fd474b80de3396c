"""The job file: validation names the bad field; the exported schema agrees."""

import json

import jsonschema
import pytest

from focuspull.errors import JobError
from focuspull.job import Job, schema


def minimal(**overrides):
    data = {
        "schema": "focuspull.job/1",
        "input": {"pattern": "/shots/plate.####.exr", "frames": "1001-1010"},
        "depth": {"source": "channel", "channel": "Z", "kind": "depth"},
        "focus": {"keys": [[1001, 2.5, "smooth"], [1010, 4.0, "linear"]]},
        "strength": 20,
        "output": {"pattern": "/shots/out/refocus.####.exr"},
    }
    data.update(overrides)
    return data


def test_minimal_job_loads_with_defaults():
    job = Job.from_dict(minimal())
    assert job.engine.name == "physical" and job.engine.device == "auto"
    assert job.output.pixel_type == "half"
    assert job.focus_mode == "distance"
    assert job.focus.value(1001) == 2.5
    assert job.strength.value(1005) == 20


def test_round_trip_through_json_is_lossless(tmp_path):
    job = Job.from_dict(minimal(focus={"frames": [1001, 1002], "values": [1.0, 2.0]}))
    path = tmp_path / "job.json"
    job.save(path)
    assert Job.load(path) == job


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schema": "focuspull.job/2"}, "schema: 'focuspull.job/2' is not supported"),
        ({"depth": {"kind": "metres"}}, "job.depth.kind: 'metres' is not one of"),
        ({"output": {"pattern": "o.####.exr", "pixel_type": "int8"}}, "job.output.pixel_type"),
        ({"output": {"pattern": "o.####.exr", "compression": "lzma"}}, "output.compression: 'lzma'"),
        ({"strength": "strong"}, "job.strength"),
        ({"focus": {"keys": [[1005, 1.0], [1001, 2.0]]}}, "job.focus.value: keys are not sorted"),
        ({"engine": {"device": "tpu"}}, "engine.device: 'tpu'"),
        ({"input": {"pattern": "p.####.exr", "fps": 24}}, "job.input: unknown field"),
        ({"depth": {"source": "sequence"}}, "depth.pattern: required"),
    ],
)
def test_invalid_jobs_name_the_field(change, message):
    with pytest.raises(JobError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Job.from_dict(minimal(**change))


def test_missing_required_field():
    data = minimal()
    del data["output"]
    with pytest.raises(JobError, match="job.output: required field is missing"):
        Job.from_dict(data)


def test_unreadable_job_file_names_the_path(tmp_path):
    bad = tmp_path / "job.json"
    bad.write_text("{not json")
    with pytest.raises(JobError, match="job.json: not valid JSON"):
        Job.load(bad)


def test_exported_schema_accepts_valid_and_rejects_invalid_jobs():
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    validator = jsonschema.Draft202012Validator(s)
    job = Job.from_dict(minimal())
    validator.validate(job.to_dict())  # what we write
    validator.validate(minimal())  # shorthand curves
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(minimal(output={"pattern": "o.####.exr", "pixel_type": "int8"}))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(minimal(focus={"keys": [[1001, 1.0, "bezier"]]}))
    assert json.loads(json.dumps(s)) == s
