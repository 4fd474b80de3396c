"""``focuspull doctor``: is everything in place to render from a host, and what to fix.

Checks the worker interpreter the hosts will start (it must import focuspull
and torch), the OCIO config, the GPU, the neural engine's weights, the host
plugin folders and, for ``focuspull ui``, the system libraries Qt's X11
platform plugin needs. Every problem comes with the command or setting that fixes it.
Exit code 1 when a check failed (warnings do not fail).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the worker, OCIO, GPU, weights and host plugins; say what to fix")
    p.add_argument("--home", type=Path, metavar="DIR", help="check the host folders of this home folder")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quick", action="store_true", help="do not start the worker interpreter")
    p.set_defaults(func=run)


def check_worker(home: Path | None, quick: bool = False) -> Check:
    from focuspull.install.common import load_client, settings_file

    client = load_client()
    env = dict(os.environ)
    if home is not None and "FOCUSPULL_CONFIG_DIR" not in env:
        env["FOCUSPULL_CONFIG_DIR"] = str(settings_file(home).parent)
    try:
        command = client.worker_command(env)
    except client.WorkerNotConfigured as err:
        return Check("worker", FAIL, err.message,
                     "run `focuspull install nuke` (or resolve) from the environment that has focuspull, "
                     "or set FOCUSPULL_WORKER_PYTHON")
    where = f"$FOCUSPULL_WORKER_PYTHON" if env.get("FOCUSPULL_WORKER_PYTHON") else client.settings_path(env)
    if quick:
        return Check("worker", OK, f"{' '.join(command)} (from {where}; not started: --quick)")
    probe = "import focuspull, torch; print(focuspull.__version__, torch.__version__)"
    python_cmd = command[:-2] if command[-2:] == ["-m", "focuspull"] else None
    if python_cmd is None:
        return Check("worker", WARN, f"custom worker command {command} (from {where}) not probed",
                     "check it by hand: <command> render --help")
    try:
        proc = subprocess.run(python_cmd + ["-c", probe], capture_output=True, text=True, timeout=180,
                              env=client.worker_environment(env))
    except (OSError, subprocess.TimeoutExpired) as err:
        return Check("worker", FAIL, f"{python_cmd[0]} does not start: {err}", "reinstall: bash install/setup.sh")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return Check("worker", FAIL, f"{python_cmd[0]} cannot import focuspull and torch: {last}",
                     f"{python_cmd[0]} -m pip install focuspull (or run focuspull install with the right Python)")
    versions = proc.stdout.split()
    return Check("worker", OK, f"{python_cmd[0]} (focuspull {versions[0]}, torch {versions[-1]}; from {where})")


def check_ocio() -> Check:
    try:
        from focuspull.color import ColorConfig

        config = ColorConfig.load(None)
    except Exception as err:  # a broken config is what doctor must show
        return Check("ocio", FAIL, f"cannot load the OCIO config: {err}",
                     "point $OCIO at a valid config.ocio, or unset it to use the built-in ACES config")
    source = getattr(config, "source", "?")
    linear = getattr(config, "scene_linear", "?")
    origin = "$OCIO" if os.environ.get("OCIO") else "built-in default"
    return Check("ocio", OK, f"{source} ({origin}); scene_linear = {linear}")


def check_gpu() -> Check:
    try:
        import torch
    except ImportError as err:
        return Check("gpu", FAIL, f"torch is not importable here: {err}", "bash install/setup.sh")
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("gpu", OK, f"CUDA: {names}")
    return Check("gpu", WARN, "no CUDA device: renders run on the CPU (fine for tests, slow for 4K)",
                 "install a CUDA build of torch on a machine with an NVIDIA GPU (FOCUSPULL_TORCH=torch bash install/setup.sh)")


def check_weights() -> Check:
    try:
        from focuspull.models import installed_models
    except ImportError:
        return Check("weights", SKIP, "focuspull.models is not available in this version")
    statuses = installed_models()
    neural = [s for s in statuses if s.entry.name == "any-to-bokeh"]
    if not neural:
        return Check("weights", SKIP, "no neural engine model is registered")
    status = neural[0]
    if status.present:
        return Check("weights", OK, f"any-to-bokeh in {status.path}")
    return Check("weights", WARN, f"any-to-bokeh weights not in {status.path}: the neural engine cannot run "
                 "(the physical engine needs none)", "focuspull models (shows where to get them and where they go)")


def check_hosts(home: Path | None) -> list[Check]:
    from focuspull.install import nuke, resolve

    checks = []
    found_any = False
    for name, (state, detail) in (("nuke", nuke.status(home)), ("resolve", resolve.status("resolve", home)),
                                  ("fusion", resolve.status("fusion", home))):
        if state == "ok":
            found_any = True
            checks.append(Check(f"host:{name}", OK, detail))
        elif state == "outdated":
            found_any = True
            checks.append(Check(f"host:{name}", WARN, detail, f"focuspull install {name}"))
        else:
            checks.append(Check(f"host:{name}", SKIP, f"not installed ({detail})", f"focuspull install {name}"))
    if not found_any:
        checks.append(Check("hosts", WARN, "no host plugin is installed for this user",
                            "focuspull install nuke | resolve | fusion"))
    return checks


def check_ui() -> Check:
    """``focuspull ui`` on Linux: can Qt's X11 (xcb) platform plugin load its system libraries?"""
    from focuspull.ui.platform_libs import install_hint, missing_libraries, xcb_plugin

    plugin = xcb_plugin()
    if plugin is None:
        return Check("ui", SKIP, "no PySide6 with an X11 plugin here (pip install focuspull[ui] on Linux for the workspace)")
    missing = missing_libraries(plugin)
    if missing:
        return Check("ui", WARN, f"Qt's X11 plugin cannot load ({', '.join(missing)} not found): `focuspull ui` "
                     "will not open a window (offscreen screenshots still work)", install_hint(missing))
    return Check("ui", OK, f"Qt's X11 plugin finds its libraries ({plugin.name})")


def collect(home: Path | None = None, quick: bool = False) -> list[Check]:
    return [check_worker(home, quick), check_ocio(), check_gpu(), check_weights(), *check_hosts(home), check_ui()]


def run(args: argparse.Namespace) -> int:
    checks = collect(args.home, args.quick)
    if args.json:
        sys.stdout.write(json.dumps([asdict(c) for c in checks], indent=2) + "\n")
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            sys.stdout.write(f"{c.status.upper():<4}  {c.name:<{width}}  {c.detail}\n")
            if c.fix and c.status in (FAIL, WARN):
                sys.stdout.write(f"{'':<4}  {'':<{width}}  fix: {c.fix}\n")
    return 1 if any(c.status == FAIL for c in checks) else 0
