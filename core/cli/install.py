"""``focuspull install nuke|resolve|fusion``: put the host plugin in place, idempotently.

Also records which Python runs the worker (this one, unless
``--worker-python``) in ``~/.focuspull/worker.json``, where the host plugins
look for it. ``--dry-run`` prints what would change; ``--uninstall`` removes
only what the installer put there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HOSTS = ("nuke", "resolve", "fusion")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "install",
        help="install the Nuke node or the Resolve/Fusion macro and scripts",
        description="Install (or --uninstall) the FocusPull host plugin for this user. Safe to run again.",
    )
    p.add_argument("host", choices=HOSTS, help="nuke, resolve (DaVinci Resolve's Fusion page) or fusion (Fusion Studio)")
    p.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")
    p.add_argument("--uninstall", action="store_true", help="remove what the installer put there")
    p.add_argument("--home", type=Path, metavar="DIR", help="install for this home folder instead of yours")
    p.add_argument("--worker-python", metavar="PATH", help="Python that runs the worker (default: this one)")
    p.add_argument("--link", action="store_true",
                   help="nuke: load the plugin from this installation instead of copying it to ~/.nuke")
    p.add_argument("--platform", choices=("linux", "darwin", "win32"), help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def build_plan(args: argparse.Namespace):  # -> focuspull.install.common.Plan
    from focuspull.install import common, nuke, resolve

    python = None if args.uninstall else common.worker_python(args.worker_python)
    if args.host == "nuke":
        return nuke.plan(args.home, uninstall=args.uninstall, link=args.link, python=python)
    return resolve.plan(args.host, args.home, uninstall=args.uninstall, python=python, platform=args.platform)


def run(args: argparse.Namespace) -> int:
    plan = build_plan(args)
    out = sys.stdout
    verb = "uninstall" if args.uninstall else "install"
    if args.dry_run:
        out.write(f"focuspull {verb} {args.host} (dry run: nothing is changed)\n")
        for line in plan.describe():
            out.write(f"  would {line}\n")
        return 0
    out.write(f"focuspull {verb} {args.host}\n")
    changed = 0
    for action, outcome in plan.apply():
        changed += outcome not in ("unchanged", "absent")
        out.write(f"  {outcome:<9} {action.describe().split(' ', 1)[1].strip()}\n")
    if not changed:
        out.write("  nothing to do: already " + ("uninstalled" if args.uninstall else "installed") + "\n")
    if not args.uninstall:
        for note in plan.notes:
            out.write(note + "\n")
    return 0
