"""Installer building blocks: idempotent file actions, marked blocks, the worker settings.

An installer is a list of actions; ``--dry-run`` prints them, a real run
applies them and says for each whether it created, updated, left unchanged or
removed something, so running an installer twice changes nothing the second
time. Only files the installer put there are ever removed.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from focuspull import __version__

BEGIN_MARK = "# >>> focuspull >>>"
END_MARK = "# <<< focuspull <<<"


def plugin_root() -> Path:
    """The ``plugin`` folder of the installed focuspull (``focuspull.plugin``)."""
    import focuspull.plugin

    return Path(focuspull.plugin.__file__).resolve().parent


def common_files() -> list[Path]:
    """Every file of ``plugin/common`` a host needs, relative to it: the host package and the schema."""
    root = plugin_root() / "common"
    return sorted(p.relative_to(root) for p in root.rglob("*")
                  if p.is_file() and p.suffix in (".py", ".json") and "__pycache__" not in p.parts)


def host_package_dir() -> Path:
    return plugin_root() / "common" / "focuspull_host"


def load_client() -> Any:
    """The host package ``focuspull_host``, imported from the plugin folder (it is not a core module)."""
    import importlib.util

    if "focuspull_host" in sys.modules:
        return sys.modules["focuspull_host"]
    folder = host_package_dir()
    spec = importlib.util.spec_from_file_location("focuspull_host", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["focuspull_host"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["focuspull_host"]
        raise
    return module


@dataclass
class Action:
    """One change on disk. ``apply`` returns created | updated | unchanged | removed | absent."""

    path: Path

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def apply(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class WriteFile(Action):
    data: bytes = b""

    def describe(self) -> str:
        return f"write  {self.path}"

    def apply(self) -> str:
        if self.path.is_file() and self.path.read_bytes() == self.data:
            return "unchanged"
        existed = self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".focuspull-tmp")
        tmp.write_bytes(self.data)
        os.replace(tmp, self.path)
        return "updated" if existed else "created"


@dataclass
class RemoveFile(Action):
    prune_up_to: Path | None = None  # also remove folders left empty, up to (not including) this one

    def describe(self) -> str:
        return f"remove {self.path}"

    def apply(self) -> str:
        if not self.path.exists():
            return "absent"
        self.path.unlink()
        folder = self.path.parent
        while self.prune_up_to is not None and folder != self.prune_up_to and self.prune_up_to in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
        return "removed"


@dataclass
class EditBlock(Action):
    """Put ``block`` between the focuspull markers of a text file (None removes it)."""

    block: str | None = None

    def describe(self) -> str:
        return f"{'edit  ' if self.block is not None else 'clean '} {self.path} (focuspull block)"

    def apply(self) -> str:
        text = self.path.read_text(encoding="utf-8") if self.path.is_file() else ""
        before, old, after = split_block(text)
        if self.block is None:
            if old is None:
                return "absent"
            new_text = (before.rstrip("\n") + "\n" + after.lstrip("\n")).strip("\n")
            new_text = new_text + "\n" if new_text else ""
            if not new_text and self.path.is_file():
                self.path.unlink()  # the file only ever held our block
                return "removed"
            self.path.write_text(new_text, encoding="utf-8")
            return "removed"
        wrapped = f"{BEGIN_MARK}\n{self.block.rstrip()}\n{END_MARK}\n"
        if old is not None and old == wrapped:
            return "unchanged"
        if old is None:
            head = text if not text or text.endswith("\n") else text + "\n"
            new_text = head + ("\n" if head else "") + wrapped
        else:
            new_text = before + wrapped + after
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(new_text, encoding="utf-8")
        return "updated" if old is not None or text else "created"


def split_block(text: str) -> tuple[str, str | None, str]:
    """(before, the marked block with its markers or None, after)."""
    start = text.find(BEGIN_MARK)
    if start < 0:
        return text, None, ""
    end = text.find(END_MARK, start)
    if end < 0:
        return text, None, ""
    end = text.find("\n", end)
    end = len(text) if end < 0 else end + 1
    return text[:start], text[start:end], text[end:]


@dataclass
class WorkerSettings(Action):
    """Record (or forget) which Python runs the worker for ``host``, in ``worker.json``."""

    host: str = ""
    python: str | None = None  # None: forget the host

    def describe(self) -> str:
        if self.python is None:
            return f"forget {self.host} in {self.path}"
        return f"record worker python {self.python} for {self.host} in {self.path}"

    def apply(self) -> str:
        data: dict[str, Any] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError:
                data = {}
        hosts = [h for h in data.get("hosts", []) if h != self.host]
        if self.python is None:
            if not self.path.is_file():
                return "absent"
            if not hosts:
                self.path.unlink()
                return "removed"
            data["hosts"] = hosts
        else:
            data.update(python=self.python, focuspull=__version__, hosts=sorted(hosts + [self.host]))
        text = json.dumps(data, indent=2) + "\n"
        if self.path.is_file() and self.path.read_text(encoding="utf-8") == text:
            return "unchanged"
        existed = self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(text, encoding="utf-8")
        return "updated" if existed else "created"


@dataclass
class Plan:
    """What an installer will do for one host."""

    host: str
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        return [a.describe() for a in self.actions]

    def apply(self) -> list[tuple[Action, str]]:
        return [(action, action.apply()) for action in self.actions]


def settings_file(home: Path | None) -> Path:
    """``worker.json``: under ``home/.focuspull`` when a home is given, else where the hosts look."""
    if home is not None:
        return Path(home) / ".focuspull" / "worker.json"
    env = os.environ.get("FOCUSPULL_CONFIG_DIR")
    return Path(env) / "worker.json" if env else Path.home() / ".focuspull" / "worker.json"


def worker_python(explicit: str | None = None) -> str:
    """The interpreter the hosts will start: ``explicit``, else this one (it has focuspull)."""
    python = explicit or sys.executable
    if not Path(python).is_file():
        from focuspull.errors import JobError

        raise JobError(f"--worker-python: {python} does not exist")
    return str(Path(python).absolute())


def plugin_file_bytes(path: Path) -> bytes:
    """What to install for a plugin file: its bytes, except the job schema and the Fusion files
    made from it, generated fresh from this focuspull so the host-side controls and checks
    always match the worker they start."""
    if path.name == "focuspull_job.schema.json":
        from focuspull.install.export_schema import schema_text

        return schema_text().encode("utf-8")
    from focuspull.install import fusion_macro

    if path.name in (fusion_macro.SETTING_NAME, fusion_macro.CONTROLS_NAME):
        from focuspull.job import schema

        return fusion_macro.generated(schema())[path.name].encode("utf-8")
    return path.read_bytes()
