"""``focuspull farm``: put a shot on a render farm as an Open Job Description bundle.

    focuspull farm export job.json BUNDLE_DIR [--chunk-size N] [--gpu] [--worker-python PATH]
    focuspull farm check BUNDLE_DIR
    focuspull farm run BUNDLE_DIR          (every task here, through openjd run)
    focuspull farm submit BUNDLE_DIR       (deadline bundle submit)

With ``--json`` a command prints one JSON object on stdout: ``{"event": "done",
...}`` or ``{"event": "error", "code": ..., "message": ...}`` (host plugins
read it); logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from typing import Any

from focuspull.errors import FocusPullError, JobError

log = logging.getLogger("focuspull")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "farm",
        help="render a shot on a farm (Open Job Description / AWS Deadline Cloud)",
        description="Write a shot as an Open Job Description job bundle (AWS Deadline Cloud layout), "
        "check it, run it locally with openjd, or submit it with the Deadline Cloud CLI.",
    )
    commands = p.add_subparsers(dest="farm_command", metavar="ACTION")
    commands.required = True

    e = commands.add_parser("export", help="write the job bundle of a job file")
    e.add_argument("job", help="focuspull.job/1 file (focuspull render ... --write-job job.json)")
    e.add_argument("bundle", help="bundle folder to write (template.yaml, parameter_values.yaml, job.json)")
    e.add_argument("--chunk-size", type=int, default=10, metavar="N", help="frames per task (default 10)")
    e.add_argument("--gpu", action="store_true", help="run tasks only on workers with a GPU (amount.worker.gpu >= 1)")
    e.add_argument("--worker-python", metavar="PATH",
                   help="the Python with focuspull installed on the workers (default: this interpreter)")
    e.add_argument("--name", help="job name shown by the farm (default: focuspull <output file name>)")
    e.add_argument("--no-check", action="store_true",
                   help="do not resolve the job against the disk (the plates are not visible from here); "
                        "the job must then list its frames")
    _json_flag(e)
    e.set_defaults(func=run_export)

    c = commands.add_parser("check", help="validate a bundle with openjd-model and list its tasks")
    c.add_argument("bundle")
    c.add_argument("-p", "--parameter", metavar="NAME=VALUE", action="append", default=[],
                   help="override a job parameter (Frames, ChunkSize, WorkerPython, JobFile)")
    _json_flag(c)
    c.set_defaults(func=run_check)

    r = commands.add_parser("run", help="run every task of a bundle on this machine with `openjd run`")
    r.add_argument("bundle")
    r.add_argument("-p", "--parameter", metavar="NAME=VALUE", action="append", default=[])
    r.add_argument("--openjd", metavar="PATH", help="the openjd command (default: next to this Python, else PATH)")
    r.set_defaults(func=run_local)

    s = commands.add_parser("submit", help="submit a bundle to AWS Deadline Cloud (`deadline bundle submit`)")
    s.add_argument("bundle")
    s.add_argument("--farm-id", help="default: the deadline CLI's defaults.farm_id")
    s.add_argument("--queue-id", help="default: the deadline CLI's defaults.queue_id")
    s.add_argument("-p", "--parameter", metavar="NAME=VALUE", action="append", default=[])
    s.add_argument("--deadline", metavar="PATH", help="the deadline command (default: $FOCUSPULL_DEADLINE, else PATH)")
    _json_flag(s)
    s.set_defaults(func=run_submit)


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON result object on stdout")


def run_export(args: argparse.Namespace) -> int:
    from focuspull.farm import FarmSettings, export_bundle

    def work() -> dict[str, Any]:
        settings = FarmSettings(
            chunk_size=args.chunk_size,
            gpu=args.gpu,
            worker_python=args.worker_python or sys.executable,
            name=args.name,
        )
        bundle = export_bundle(args.job, args.bundle, settings, check=not args.no_check)
        summary = bundle.summary()
        if not args.json:
            chunks = summary["chunks"]
            tasks = f"{len(chunks)} task(s): {', '.join(chunks[:6])}{' ...' if len(chunks) > 6 else ''}" if chunks else ""
            sys.stdout.write(f"wrote {summary['template']}\n{tasks}\n")
        return summary

    return _report(args, work)


def run_check(args: argparse.Namespace) -> int:
    from focuspull.farm import validate_bundle

    def work() -> dict[str, Any]:
        chunks = validate_bundle(args.bundle, _parameters(args.parameter))
        if not args.json:
            sys.stdout.write(f"valid: {len(chunks)} task(s)\n" + "".join(f"  --chunk {c}\n" for c in chunks))
        return {"bundle": args.bundle, "chunks": chunks}

    return _report(args, work)


def run_local(args: argparse.Namespace) -> int:
    from focuspull.farm import local_run_command

    try:
        argv = local_run_command(args.bundle, _parameters(args.parameter), openjd=args.openjd)
    except FocusPullError as err:
        sys.stderr.write(f"focuspull: error: {err}\n")
        return 2
    log.info("running: %s", " ".join(argv))
    return subprocess.run(argv, check=False).returncode


def run_submit(args: argparse.Namespace) -> int:
    from focuspull.farm import submit_bundle

    def work() -> dict[str, Any]:
        result = submit_bundle(
            args.bundle, deadline=args.deadline, farm_id=args.farm_id, queue_id=args.queue_id,
            parameters=_parameters(args.parameter),
        )
        if not args.json:
            sys.stdout.write(result.output if result.output.endswith("\n") else result.output + "\n")
        return {"bundle": args.bundle, "job_id": result.job_id, "command": list(result.command)}

    return _report(args, work)


def _parameters(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise JobError(f"--parameter: {item!r} is not NAME=VALUE")
        out[name] = value
    return out


def _report(args: argparse.Namespace, work: Any) -> int:
    """Run ``work``; in --json mode its result or the error becomes the one JSON line on stdout."""
    try:
        result = work()
    except (FocusPullError, ImportError) as err:
        code = err.code if isinstance(err, FocusPullError) else "missing_dependency"
        if args.json:
            sys.stdout.write(json.dumps({"event": "error", "code": code, "message": str(err)}) + "\n")
        sys.stderr.write(f"focuspull: error: {err}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps({"event": "done", **result}) + "\n")
    return 0
