"""The shipped job schema: checking jobs against it, and the controls every host makes from it.

``focuspull_job.schema.json`` (next to this package) is exported from the
core's job definition (``focuspull schema``); installers write a fresh export.
Both hosts build their controls from it (Nuke knobs, the Fusion macro), so an
option the core adds shows up in both without host code changes.

A control is named by its job field, ``"<section>.<field>"`` (``focus.value``,
``aperture.blades``); a few fields the hosts set through their own inputs or
pickers are EXPLICIT and left out of the generic options.
"""

import json
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import InvalidJob

SCHEMA_ID = "focuspull.job/1"
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "focuspull_job.schema.json")

# Sections whose remaining fields become generic controls.
OPTION_SECTIONS = ("depth", "focus", "strength", "aperture")
# Fields the hosts handle through their own controls, inputs or the job builder's decisions.
EXPLICIT_FIELDS = {
    "depth": ("source", "channel", "pattern", "kind", "percentiles"),
    "focus": ("value", "mode", "x", "y", "origin", "matte"),
    "strength": ("value", "mode"),
    "aperture": (),
}
# Menus whose entries are not (all) the schema's: depth 'sequence' is chosen by
# connecting a depth input; 'distance' and 'far_zero' are aliases of depth kinds.
HIDDEN_CHOICES = {"depth.source": ("sequence",), "depth.kind": ("distance", "far_zero")}
# The schema leaves engine names and devices open (engines register themselves).
FIXED_CHOICES = {"engine.name": ["physical", "neural"], "engine.device": ["auto", "cpu", "cuda"]}
# Curve fields carry no default in the schema (the core builds one); neutral values here.
CURVE_FALLBACK_DEFAULTS = {"aspect": 1.0, "rotation_deg": 0.0}

_schema_cache = {}  # type: Dict[str, Dict[str, Any]]


def load_schema(path: str = SCHEMA_FILE) -> Dict[str, Any]:
    if path not in _schema_cache:
        with open(path, encoding="utf-8") as f:
            _schema_cache[path] = json.load(f)
    return _schema_cache[path]


# -- the schema as controls --------------------------------------------------------
def section(schema: Dict[str, Any], name: str) -> Dict[str, Any]:
    """The object schema of a job section (focus and strength also accept a bare curve)."""
    spec = schema.get("properties", {}).get(name, {})  # type: Dict[str, Any]
    for option in spec.get("anyOf", []):
        if option.get("type") == "object" and "mode" in option.get("properties", {}):
            return dict(option)
    return spec


def field_spec(schema: Dict[str, Any], key: str) -> Dict[str, Any]:
    """The schema of ``"section.field"`` ({} when the schema has no such field)."""
    name, _, field = key.partition(".")
    found = section(schema, name).get("properties", {}).get(field, {})  # type: Dict[str, Any]
    return found


def enum_of(spec: Dict[str, Any]) -> List[str]:
    if "enum" in spec:
        return [str(v) for v in spec["enum"]]
    for option in spec.get("anyOf", []) + spec.get("oneOf", []):
        if "enum" in option:
            return [str(v) for v in option["enum"]]
    return []


def choices(schema: Dict[str, Any], key: str) -> List[str]:
    """The entries of the menu of ``key``, in the order every host shows them (a combo's index)."""
    if key in FIXED_CHOICES:
        return list(FIXED_CHOICES[key])
    hidden = HIDDEN_CHOICES.get(key, ())
    return [v for v in enum_of(field_spec(schema, key)) if v not in hidden]


def _types(spec: Dict[str, Any]) -> List[str]:
    out = [spec["type"]] if isinstance(spec.get("type"), str) else []
    for option in spec.get("anyOf", []):
        if isinstance(option.get("type"), str):
            out.append(option["type"])
    return out


def is_curve(spec: Dict[str, Any]) -> bool:
    """A keyframeable field: a number or {keys} or {frames, values} (maybe also null)."""
    options = spec.get("oneOf", []) + [o for a in spec.get("anyOf", []) for o in a.get("oneOf", [a])]
    return any(o.get("type") == "number" for o in options) and any("keys" in o.get("properties", {}) for o in options)


def field_kind(spec: Dict[str, Any]) -> Optional[str]:
    """enum | curve | int | float | bool | string, or None for what a control cannot hold."""
    if enum_of(spec):
        return "enum"
    if is_curve(spec):
        return "curve"
    types = _types(spec)
    for kind, name in (("integer", "int"), ("number", "float"), ("boolean", "bool"), ("string", "string")):
        if kind in types:
            return name
    return None


def field_default(name: str, spec: Dict[str, Any]) -> Any:
    if "default" in spec:
        return spec["default"]
    return CURVE_FALLBACK_DEFAULTS.get(name) if is_curve(spec) else None


def option_fields(schema: Dict[str, Any], name: str) -> List[Tuple[str, Dict[str, Any], str]]:
    """(field, spec, kind) of the fields of a job section that get generic controls."""
    skip = EXPLICIT_FIELDS.get(name, ())
    out = []
    for field, spec in section(schema, name).get("properties", {}).items():
        kind = field_kind(spec)
        if field not in skip and kind is not None:
            out.append((field, spec, kind))
    return out


def option_keys(schema: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any], str]]:
    """(``"section.field"``, spec, kind) of every generic option, section by section."""
    return [(name + "." + field, spec, kind) for name in OPTION_SECTIONS for field, spec, kind in option_fields(schema, name)]


def label_of(field: str) -> str:
    """``rotation_deg`` -> ``rotation (deg)``: units in brackets, words spaced."""
    return field.replace("_deg", " (deg)").replace("_mm", " (mm)").replace("_px", " (px)").replace("_", " ")


# -- checking a job ---------------------------------------------------------------------
def validate_job(job: Any, schema: Optional[Dict[str, Any]] = None) -> List[str]:
    """Problems of ``job`` against the job schema (empty when valid), each naming its field.

    A small validator for the JSON Schema keywords the exported schema uses,
    so host code can reject a bad node setting before a worker starts.
    """
    return _check(job, schema if schema is not None else load_schema(), "job")


def check_job(job: Any, schema: Optional[Dict[str, Any]] = None) -> None:
    problems = validate_job(job, schema)
    if problems:
        raise InvalidJob("; ".join(problems[:5]))


_TYPES = {  # type: Dict[str, Callable[[Any], bool]]
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, (list, tuple)),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer(),
}


def _check(value: Any, schema: Dict[str, Any], where: str) -> List[str]:
    errors = []  # type: List[str]
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](value) for k in kinds):
            return ["{}: expected {}, got {}".format(where, " or ".join(kinds), _show(value))]
    if "const" in schema and value != schema["const"]:
        errors.append("{}: expected {!r}, got {}".format(where, schema["const"], _show(value)))
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        errors.append("{}: {} is not one of {}".format(where, _show(value), ", ".join(repr(e) for e in schema["enum"])))
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append("{}: {} is below the minimum {}".format(where, value, schema["minimum"]))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append("{}: {} must be greater than {}".format(where, value, schema["exclusiveMinimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append("{}: {} is above the maximum {}".format(where, value, schema["maximum"]))
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            errors.append("{}: {} must be less than {}".format(where, value, schema["exclusiveMaximum"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append("{}.{}: required field is missing".format(where, name))
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                errors.extend(_check(item, props[name], "{}.{}".format(where, name)))
            elif extra is False:
                errors.append("{}: unknown field {!r}; expected one of {}".format(where, name, ", ".join(props)))
            elif isinstance(extra, dict):
                errors.extend(_check(item, extra, "{}.{}".format(where, name)))
    if isinstance(value, (list, tuple)):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append("{}: expected at least {} item(s), got {}".format(where, schema["minItems"], len(value)))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append("{}: expected at most {} item(s), got {}".format(where, schema["maxItems"], len(value)))
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if isinstance(sub, dict):
                errors.extend(_check(item, sub, "{}[{}]".format(where, i)))
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            results = [_check(value, option, where) for option in schema[combinator]]
            passed = sum(1 for r in results if not r)
            if passed == 0:
                # The branch with the fewest problems is the one the author most likely meant.
                best = min(results, key=len)
                errors.append("{}: {} matches none of the allowed forms ({})".format(where, _show(value), best[0]))
            elif combinator == "oneOf" and passed > 1:
                errors.append("{}: {} matches more than one allowed form".format(where, _show(value)))
    for option in schema.get("allOf", []):
        errors.extend(_check(value, option, where))
    return errors


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (_TYPES["number"](a) and _TYPES["number"](b) and a == b)


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, tuple) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


