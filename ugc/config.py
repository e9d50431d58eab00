"""One typed, validating config layer for every stage (pydantic v2), named recipes, one override syntax.

Each stage's config is a frozen ``Config`` subclass whose fields carry their defaults and the reason for
them (``Field(description=...)``). The same class checks CLI flags, ``--set`` overrides, recipe files,
Airflow Params and run confs, and its JSON schema *is* the DAG's Param schema (``param_schema``), so the
two cannot disagree.

    cfg = TrainConfig.from_dict({"lake_uri": "data/lake", "epochs": "2"})   # strings coerced, typos refused
    cfg = TrainConfig.from_dict(merged(recipe("sentiment-demo"), parse_overrides(["lr=3e-5", "gate.margin=0.01"])))
"""

from __future__ import annotations

import json
import os
import tomllib
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from ugc import settings
from ugc.errors import ConfigError

RECIPES_DIR = os.path.join(settings.ROOT, "configs")


def _csv(v: Any) -> Any:
    """"a,b" -> ("a", "b"): Params, --set and env vars give lists as comma-separated strings."""
    if isinstance(v, str):
        return tuple(x.strip() for x in v.split(",") if x.strip())
    return v


# A tuple of strings that also accepts "a,b".
StrTuple = Annotated[tuple[str, ...], BeforeValidator(_csv)]


def check_day(v: str) -> str:
    """YYYY-MM-DD or a ValueError saying so (dates stay strings: they name lake partitions)."""
    from datetime import date

    s = str(v)
    try:
        if len(s) != 10:
            raise ValueError
        date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"must be YYYY-MM-DD, got {v!r}") from None
    return s


class Config(BaseModel):
    """Base of every stage config: frozen, unknown keys refused, clear one-line errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())
    what: ClassVar[str] = "stage"  # named in "unknown <what> config keys"

    @classmethod
    def from_dict(cls, d: dict | None) -> Self:
        """Build from Params/CLI/JSON; None and "" mean "the default". Raises ConfigError."""
        clean = {k: v for k, v in dict(d or {}).items() if v is not None and v != ""}
        try:
            return cls.model_validate(clean)
        except ValidationError as e:
            raise ConfigError(explain(cls, e)) from None

    def to_dict(self) -> dict:
        """JSON-safe resolved config (saved with every artifact)."""
        return self.model_dump(mode="json")

    def replace(self, **changes) -> Self:
        """A copy with ``changes``, validated like any other input (secrets excluded from to_dict kept)."""
        return type(self).from_dict({**dict(self), **changes})


# -- errors ---------------------------------------------------------------------------------------------

_TYPES = {"int": "int (must be an integer number)", "float": "float (a number)", "bool": "true or false",
          "string": "a string", "tuple": "a list", "list": "a list", "dict": "an object", "date": "YYYY-MM-DD"}


def _field_bounds(model: type[BaseModel], loc: tuple) -> str:
    """The allowed interval of a numeric field, from its constraints: ">= 1", "in (0, 0.1]"."""
    info = None
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return ""
        info = model.model_fields[part]
        model = info.annotation
    lo = hi = None
    for m in info.metadata if info else ():
        for attr, side in (("ge", "["), ("gt", "(")):
            if getattr(m, attr, None) is not None:
                lo = (side, getattr(m, attr))
        for attr, side in (("le", "]"), ("lt", ")")):
            if getattr(m, attr, None) is not None:
                hi = (side, getattr(m, attr))
    if lo and hi:
        return f"in {lo[0]}{lo[1]}, {hi[1]}{hi[0]}"
    if lo:
        return (">= " if lo[0] == "[" else "> ") + str(lo[1])
    if hi:
        return ("<= " if hi[0] == "]" else "< ") + str(hi[1])
    return ""


def explain(model: type[BaseModel], err: ValidationError) -> str:
    """One readable line per problem, e.g. "epochs must be >= 1, got 0 (out of range)"."""
    unknown: dict[str, list[str]] = {}
    lines = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if not isinstance(p, int))
        name = ".".join(map(str, loc)) or "config"
        kind, value = e["type"], e.get("input")
        if kind == "extra_forbidden":
            unknown.setdefault(".".join(map(str, loc[:-1])), []).append(str(loc[-1]))
        elif kind == "missing":
            lines.append(f"{name} is required")
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            lines.append(f"{name} must be {_field_bounds(model, loc)}, got {value!r} (out of range)")
        elif kind == "literal_error":
            allowed = e.get("ctx", {}).get("expected", "")
            lines.append(f"{name} must be one of {allowed}, got {value!r}")
        elif kind.startswith(("date_", "datetime_")):
            lines.append(f"{name} must be YYYY-MM-DD, got {value!r}")
        elif kind in ("value_error", "assertion_error"):  # our own validators: their message names the field
            msg = str(e["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
            lines.append(f"{name} {msg}" if loc and not msg.startswith(loc[-1]) else msg)
        elif "_" in kind and kind.split("_")[0] in _TYPES:
            lines.append(f"{name} must be {_TYPES[kind.split('_')[0]]}, got {value!r}")
        else:
            lines.append(f"{name}: {e['msg']} (got {value!r})")
    for parent, keys in unknown.items():
        where = f"{parent} keys" if parent else f"{getattr(model, 'what', 'config')} config keys"
        lines.insert(0, f"unknown {where}: {sorted(keys)}")
    return "; ".join(lines)


# -- recipes and overrides ------------------------------------------------------------------------------

def recipe(name_or_path: str) -> dict:
    """A named recipe from configs/ (``sentiment-demo`` -> configs/sentiment-demo.toml), or a TOML/JSON file."""
    path = name_or_path
    if not os.path.isfile(path):
        for ext in (".toml", ".json"):
            if os.path.isfile(os.path.join(RECIPES_DIR, name_or_path + ext)):
                path = os.path.join(RECIPES_DIR, name_or_path + ext)
                break
        else:
            known = sorted(f.rsplit(".", 1)[0] for f in os.listdir(RECIPES_DIR)) if os.path.isdir(RECIPES_DIR) else []
            raise ConfigError(f"no recipe or config file {name_or_path!r}; recipes: {known}")
    with open(path, "rb") as f:
        try:
            return tomllib.load(f) if path.endswith(".toml") else json.load(f)
        except (tomllib.TOMLDecodeError, ValueError) as e:
            raise ConfigError(f"{path}: {e}") from e


def parse_overrides(pairs: list[str]) -> dict:
    """``["lr=3e-5", "gate.margin=0.01", "labels=negative,positive"]`` -> nested dict (values parsed as JSON
    when they are JSON, else kept as strings). The one ``--set`` syntax of every command."""
    out: dict = {}
    for p in pairs:
        if "=" not in p:
            raise ConfigError(f"--set expects key=value, got {p!r}")
        key, raw = p.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        *parents, leaf = key.strip().split(".")
        for k in parents:
            node = node.setdefault(k, {})
        node[leaf] = value
    return out


def merged(*layers: dict | None) -> dict:
    """Later layers win; nested dicts (``gate``) merge key by key; None values are skipped; an empty dict
    replaces (``--set experts={}`` turns a recipe's experts off)."""
    out: dict = {}
    for layer in layers:
        for k, v in (layer or {}).items():
            if v is None:
                continue
            out[k] = merged(out[k], v) if isinstance(v, dict) and v and isinstance(out.get(k), dict) else v
    return out


# -- Airflow Params -------------------------------------------------------------------------------------

def param_schema(model: type[BaseModel], name: str) -> dict:
    """JSON schema (Airflow Param kwargs) of one field: type, bounds, enum, description, default."""
    schema = model.model_json_schema()
    prop = dict(schema["properties"][name])
    if "$ref" in prop or "allOf" in prop:
        raise ValueError(f"{name} is a nested model; expose its fields one by one")
    prop.pop("title", None)
    if "anyOf" in prop and all("$ref" not in s for s in prop["anyOf"]):  # Optional[x] -> type [x, null]
        types = [s.get("type") for s in prop["anyOf"]]
        if all(types):
            prop["type"] = types
            for s in prop.pop("anyOf"):
                prop.update({k: v for k, v in s.items() if k != "type"})
    return prop
