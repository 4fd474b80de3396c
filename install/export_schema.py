"""Export the job JSON Schema next to the host client.

Host code validates jobs without importing the core (it cannot: torch and
friends are not in Nuke or Resolve), so the plugin ships a copy of the schema.
The installers write a fresh export next to the installed client; the copy in
the source tree (used when NUKE_PATH points at it) is checked by
``tests/test_plugin_static.py``; refresh it with

    python -m focuspull.install.export_schema
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

def shipped_schema_path() -> Path:
    """The schema copy inside the installed ``focuspull.plugin`` package."""
    import focuspull.plugin

    return Path(focuspull.plugin.__file__).resolve().parent / "common" / "focuspull_job.schema.json"


def schema_text() -> str:
    from focuspull.job import schema

    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


def export(path: Path | None = None) -> Path:
    path = path or shipped_schema_path()
    path.write_text(schema_text(), encoding="utf-8")
    return path


def main() -> int:
    sys.stdout.write(f"wrote {export()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
