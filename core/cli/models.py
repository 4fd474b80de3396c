"""``focuspull models``: which model weights are installed, and where they go.

Lists every model in ``focuspull.models.MODELS`` (the neural engine's
Any-to-Bokeh weights, depth estimators, ...) with its folder, what is missing
and its licence. Looks at files only: no torch, nothing downloaded.
``focuspull models fetch NAME`` is the one command that downloads (a depth
model, when online); rendering never does.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the model weights focuspull can use and whether they are installed",
        description="List model weights (neural engine, depth estimators): folder, status, licence. "
        "'fetch NAME' downloads a depth model into the models folder (needs the network); nothing else downloads.",
    )
    p.add_argument("action", nargs="?", choices=("list", "fetch"), default="list")
    p.add_argument("name", nargs="?", help="with fetch: the model to download, e.g. depth-anything-v2-small")
    p.add_argument("--folder", metavar="DIR", help="with fetch: download into DIR instead of the models folder")
    p.add_argument("--weights", metavar="DIR", help="look for the Any-to-Bokeh weights in DIR (as render --weights)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        return _fetch(args)
    from focuspull.models import installed_models, models_root

    explicit = {"any-to-bokeh": args.weights} if args.weights else {}
    statuses = installed_models(explicit)
    if args.json:
        payload = {"models_root": str(models_root()), "models": [s.to_json() for s in statuses]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    out = [f"models folder: {models_root()}  (set $FOCUSPULL_MODELS to move it)"]
    for s in statuses:
        state = "installed" if s.present else ("incomplete" if s.partial else "not installed")
        out.append("")
        out.append(f"{s.entry.name}: {state}  - {s.entry.title}, used by {s.entry.used_by}")
        out.append(f"  folder:  {s.path}  ({s.origin})")
        found = dict(s.located)
        for part in s.entry.parts:
            if part.folder in found:
                mark = "ok" + ("" if found[part.folder] == s.path / part.folder else f" (in {found[part.folder]})")
            else:
                files = ", ".join(part.describe_missing(s.path))
                mark = f"missing {files}  ({part.description}" + (f", from {part.source})" if part.source else ")")
                if part.also_in:
                    mark += f"; also accepted in {', '.join(f + '/' for f in part.also_in)}"
            out.append(f"    {part.folder + '/':<20} {mark}")
        out.append(f"  licence: {s.entry.licence}" + ("" if s.entry.commercial_use else "  [non-commercial]"))
        if not s.present:
            out.append(f"  get it:  {s.entry.download}")
        for note in s.entry.notes:
            out.append(f"  note:    {note}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from focuspull.errors import JobError
    from focuspull.estimate.fetch import fetch_model

    if not args.name:
        raise JobError("models fetch: name the model, e.g. focuspull models fetch depth-anything-v2-small")
    target = fetch_model(args.name, args.folder)
    sys.stdout.write(f"{args.name}: installed in {target}\n")
    return 0
