"""A stand-in for ``python -m focuspull``: speaks the worker protocol, renders nothing.

Invoked as ``fake_worker.py render --job JOB --progress jsonl``. The mode comes
from ``$FAKE_WORKER_MODE``:

* ``ok``: start, one frame event per job frame, done; exit 0.
* ``error``: start, one frame, then ``{"event": "error", "code": "missing_frames", ...}``; exit 2.
* ``crash``: a traceback on stderr and exit 3, no events.
* ``silent_ok``: exit 0 without any event (a broken worker).
* ``hang``: start a grandchild that sleeps, write both pids to ``$FAKE_WORKER_PIDS``,
  one frame event, then sleep until killed.
* ``noise``: like ``ok`` with non-JSON lines mixed into stdout.

``$FAKE_WORKER_RECORD`` (a path) receives the argv, the job and a few
environment variables as JSON, so tests can see what the client sent.
"""

import json
import os
import subprocess
import sys
import time


def frames_of(job):
    text = job["input"].get("frames") or "1-3"
    out = []
    for token in text.split(","):
        a, _, b = token.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def main(argv):
    assert argv[:1] == ["render"], argv
    job_path = argv[argv.index("--job") + 1]
    assert argv[argv.index("--progress") + 1] == "jsonl"
    with open(job_path) as f:
        job = json.load(f)
    record = os.environ.get("FAKE_WORKER_RECORD")
    if record:
        with open(record, "w") as f:
            json.dump({"argv": argv, "job": job, "cwd": os.getcwd(),
                       "env": {k: os.environ.get(k) for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONUNBUFFERED", "LD_LIBRARY_PATH")}}, f)
    mode = os.environ.get("FAKE_WORKER_MODE", "ok")
    frames = frames_of(job)

    def emit(**event):
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    if mode == "crash":
        sys.stderr.write("Traceback (most recent call last):\n  File \"x.py\", line 1\nRuntimeError: boom\n")
        return 3
    if mode == "silent_ok":
        return 0
    emit(event="start", total=len(frames), first=frames[0], last=frames[-1])
    if mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(os.environ["FAKE_WORKER_PIDS"], "w") as f:
            json.dump({"worker": os.getpid(), "child": child.pid}, f)
        emit(event="frame", frame=frames[0], done=1, total=len(frames))
        time.sleep(120)
        return 0
    for i, frame in enumerate(frames, 1):
        if mode == "noise":
            sys.stdout.write("loading weights... not json\n")
        sys.stderr.write("focuspull: frame %d\n" % frame)
        emit(event="frame", frame=frame, done=i, total=len(frames))
        if mode == "error":
            emit(event="error", code="missing_frames", message="plate.%04d.exr is missing" % (frame + 1))
            return 2
    emit(event="done", frames=len(frames), output=job["output"]["pattern"], seconds=0.01)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
