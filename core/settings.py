"""Frozen dataclasses <-> JSON, validated once at the boundary.

One definition serves three purposes: typed settings in code, validation of
JSON with messages that name the exact field (``engine.options.blades``), and
the JSON Schema that host code and tests use without importing the core.

Field metadata understood here: ``doc`` (description), ``minimum``,
``exclusive_minimum``, ``maximum`` (numbers), ``min_items`` (tuples).
A field typed ``Curve`` accepts anything ``Curve.from_json`` accepts.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from focuspull.curves import Curve
from focuspull.errors import CurveError, JobError

T = TypeVar("T")

CURVE_SCHEMA: dict[str, Any] = {
    "description": "A keyframed value: a number, {'keys': [[frame, value, interpolation], ...]} "
    "or dense per-frame {'frames': [...], 'values': [...]}.",
    "oneOf": [
        {"type": "number"},
        {
            "type": "object",
            "properties": {
                "keys": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 3,
                        "prefixItems": [
                            {"type": "number"},
                            {"type": "number"},
                            {"enum": ["constant", "linear", "smooth"]},
                        ],
                    },
                }
            },
            "required": ["keys"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "frames": {"type": "array", "items": {"type": "number"}, "minItems": 1},
                "values": {"type": "array", "items": {"type": "number"}, "minItems": 1},
            },
            "required": ["frames", "values"],
            "additionalProperties": False,
        },
    ],
}


def from_mapping(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass ``cls`` from JSON-like ``data``; errors name ``where.field``."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise JobError(f"{where}: expected an object, got {_show(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise JobError(f"{where}: unknown field(s) {', '.join(unknown)}; expected {', '.join(fields)}")
    values = {}
    for name, f in fields.items():
        path = f"{where}.{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise JobError(f"{path}: required field is missing")
            continue
        values[name] = _convert(hints[name], data[name], path, f.metadata)
    try:
        return cls(**values)
    except JobError:
        raise
    except (ValueError, TypeError) as err:
        raise JobError(f"{where}: {err}") from err


def to_mapping(obj: Any) -> Any:
    """The JSON form of a settings dataclass (curves as curve JSON)."""
    if isinstance(obj, Curve):
        return obj.to_json()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, (tuple, list)):
        return [to_mapping(x) for x in obj]
    if isinstance(obj, Mapping):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj


def json_schema(cls: type) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a settings dataclass."""
    hints = get_type_hints(cls)
    props: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        schema = _schema(hints[f.name])
        schema.update(_constraints(f.metadata))
        if "doc" in f.metadata:
            schema["description"] = f.metadata["doc"]
        if f.default is not dataclasses.MISSING:
            schema.setdefault("default", to_mapping(f.default))
        elif f.default_factory is not dataclasses.MISSING:
            schema.setdefault("default", to_mapping(f.default_factory()))
        else:
            required.append(f.name)
        props[f.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if cls.__doc__:
        out["description"] = " ".join(cls.__doc__.split())
    if required:
        out["required"] = required
    return out


# -- conversion -------------------------------------------------------------
def _convert(tp: Any, value: Any, path: str, meta: Mapping[str, Any]) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise JobError(f"{path}: must not be null")
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path, meta)
            except JobError as err:
                errors.append(str(err))
        raise JobError(errors[0] if len(errors) == 1 else f"{path}: {_show(value)} matches none of the allowed forms")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise JobError(f"{path}: {_show(value)} is not one of {', '.join(map(repr, allowed))}")
        return value
    if tp is Curve:
        try:
            return Curve.from_json(value, where=path)
        except CurveError as err:
            raise JobError(str(err)) from err
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, path)
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise JobError(f"{path}: expected a list, got {_show(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            items = tuple(_convert(args[0], v, f"{path}[{i}]", {}) for i, v in enumerate(value))
        else:
            if len(value) != len(args):
                raise JobError(f"{path}: expected {len(args)} items, got {len(value)}")
            items = tuple(_convert(a, v, f"{path}[{i}]", {}) for i, (a, v) in enumerate(zip(args, value)))
        if len(items) < meta.get("min_items", 0):
            raise JobError(f"{path}: expected at least {meta['min_items']} item(s)")
        return items
    if origin in (dict, Mapping, typing.Mapping) or tp in (dict, Any):
        if tp is Any:
            return value
        if not isinstance(value, Mapping):
            raise JobError(f"{path}: expected an object, got {_show(value)}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise JobError(f"{path}: expected true or false, got {_show(value)}")
        return value
    if tp in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if tp is int and ok and not float(value).is_integer():
            ok = False
        if not ok or not math.isfinite(value):
            raise JobError(f"{path}: expected {'an integer' if tp is int else 'a number'}, got {_show(value)}")
        value = tp(value)
        _check_range(value, path, meta)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise JobError(f"{path}: expected a string, got {_show(value)}")
        return value
    raise TypeError(f"settings: unsupported field type {tp!r} at {path}")


def _check_range(value: float, path: str, meta: Mapping[str, Any]) -> None:
    if "minimum" in meta and value < meta["minimum"]:
        raise JobError(f"{path}: {value} is below the minimum {meta['minimum']}")
    if "exclusive_minimum" in meta and value <= meta["exclusive_minimum"]:
        raise JobError(f"{path}: {value} must be greater than {meta['exclusive_minimum']}")
    if "maximum" in meta and value > meta["maximum"]:
        raise JobError(f"{path}: {value} is above the maximum {meta['maximum']}")


def _schema(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema(a) for a in get_args(tp)]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if tp is Curve:
        return dict(CURVE_SCHEMA)
    if dataclasses.is_dataclass(tp):
        return json_schema(tp)
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _schema(args[0])}
        return {"type": "array", "prefixItems": [_schema(a) for a in args], "minItems": len(args), "maxItems": len(args)}
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        return {"type": "object"}
    if tp is Any:
        return {}
    return {
        type(None): {"type": "null"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
    }[tp]


def _constraints(meta: Mapping[str, Any]) -> dict[str, Any]:
    names = {"minimum": "minimum", "exclusive_minimum": "exclusiveMinimum", "maximum": "maximum", "min_items": "minItems"}
    return {names[k]: v for k, v in meta.items() if k in names}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
