"""Run FocusPull's Lua in a real Lua runtime (lupa: LuaJIT 2.1 and PUC Lua 5.1) against the Python fakes.

Lua's ``obj:Method(a)`` calls ``obj.Method(obj, a)``; on a Python bound method
that would pass ``obj`` twice, so attribute reads hand Lua a wrapper that drops
it, as Fusion's own Lua binding does. Lua tables passed to Python become
dicts (or lists for 1..n), Python dicts and lists returned to Lua become Lua
tables (Fusion answers tables: ``GetAttrs``, ``GetToolList``).
"""

from __future__ import annotations

import importlib
import time
from typing import Any, Callable

RUNTIMES = ("luajit21", "lua51")


def available(name: str) -> bool:
    try:
        importlib.import_module(f"lupa.{name}")
        return True
    except ImportError:
        return False


class LuaHost:
    def __init__(self, runtime: str = "luajit21") -> None:
        module = importlib.import_module(f"lupa.{runtime}")
        self.lupa = module
        self.printed: list[str] = []
        self.rt = module.LuaRuntime(unpack_returned_tuples=True,
                                    attribute_handlers=(self._get_attr, self._set_attr))
        g = self.rt.globals()
        g.print = lambda *args: self.printed.append(" ".join(self._text(a) for a in args))
        g.bmd = self.to_lua({"wait": lambda seconds: time.sleep(float(seconds))})

    # -- conversions ----------------------------------------------------------------
    def _text(self, value: Any) -> str:
        return "nil" if value is None else str(value)

    def to_python(self, value: Any) -> Any:
        if self.lupa.lua_type(value) != "table":
            return value
        items = dict(value.items())
        if items and all(isinstance(k, (int, float)) for k in items) and sorted(items) == list(range(1, len(items) + 1)):
            return [self.to_python(items[k]) for k in sorted(items)]
        return {k: self.to_python(v) for k, v in items.items()}

    def to_lua(self, value: Any) -> Any:
        if isinstance(value, dict):
            table = self.rt.table()
            for k, v in value.items():
                key = int(k) if isinstance(k, float) and k.is_integer() else k
                table[key] = self.to_lua(v)
            return table
        if isinstance(value, (list, tuple)):
            table = self.rt.table()
            for i, v in enumerate(value, 1):
                table[i] = self.to_lua(v)
            return table
        return value

    def _wrap(self, owner: Any, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if args and args[0] is owner:
                args = args[1:]  # obj:Method(...) passes obj first
            return self.to_lua(method(*[self.to_python(a) for a in args]))

        return call

    def _get_attr(self, obj: Any, name: str) -> Any:
        if isinstance(obj, dict):
            return self.to_lua(obj.get(name))
        value = getattr(obj, name, None)
        if callable(value) and hasattr(value, "__self__"):
            return self._wrap(obj, value)
        if callable(value):
            return value
        return self.to_lua(value)

    def _set_attr(self, obj: Any, name: str, value: Any) -> None:
        setattr(obj, name, self.to_python(value))

    # -- running ------------------------------------------------------------------------
    def run_file(self, path: str, **globals_: Any) -> Any:
        g = self.rt.globals()
        for key, value in globals_.items():
            g[key] = value
        return self.rt.eval("dofile")(str(path))

    def module(self, libdir: str) -> Any:
        """``focuspull_fusion.lua`` set up from ``libdir``, as the comp scripts load it."""
        return self.rt.eval("dofile")(libdir + "/focuspull_fusion.lua").setup(libdir)
