"""Building frozen config dataclasses from Params/CLI/JSON dicts with clear errors (shared by every stage)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields

from ugc.errors import ConfigError


class StageConfig:
    """Mixin for a stage's frozen config dataclass: registry/work locations, dict round trip.

    Subclasses set ``_registry_name`` (the registry's folder under {lake}/registry), ``_gate_cls`` and
    ``_what`` (used in error messages), and implement ``_check``.
    """

    _registry_name = ""
    _gate_cls: type
    _what = ""

    @property
    def registry(self) -> str:
        return self.registry_uri or f"{self.lake_uri.rstrip('/')}/registry/{self._registry_name}"

    @property
    def work(self) -> str:
        return self.work_uri or f"{self.registry}/runs/{self.run_id}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Build from Params/CLI/JSON with clear errors; unknown keys are rejected, not ignored."""
        cfg = build(cls, cls._gate_cls, d, cls._what)
        cfg._check()
        return cfg


def build(cls, gate_cls, d: dict, what: str):
    """``cls(**d, gate=gate_cls(**d['gate']))`` with values coerced to the field types.

    Unknown keys are a ConfigError (a typo must not be silently ignored), as is a missing lake_uri.
    """
    d = {k: v for k, v in dict(d).items() if v is not None}
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"unknown {what} config keys: {sorted(unknown)}")
    if not d.get("lake_uri"):
        raise ConfigError("lake_uri is required")
    gate = d.pop("gate", {}) or {}
    if isinstance(gate, gate_cls):
        gate = asdict(gate)
    bad = set(gate) - {f.name for f in fields(gate_cls)}
    if bad:
        raise ConfigError(f"unknown gate keys: {sorted(bad)}")
    try:
        gate = gate_cls(**{k: float(v) for k, v in gate.items()})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"gate values must be numbers: {e}") from e
    types = {f.name: f.type for f in fields(cls)}
    for k, v in list(d.items()):
        t = types[k]
        try:
            if t == "int":
                d[k] = int(v)
            elif t == "float":
                d[k] = float(v)
            elif t.startswith("tuple"):
                d[k] = tuple(str(x) for x in (v.split(",") if isinstance(v, str) else v) if str(x))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{k} must be {t}, got {v!r}") from e
    return cls(**d, gate=gate)


def check_days(days) -> None:
    for day in days:
        if len(day) != 10 or day[4] != "-" or day[7] != "-":
            raise ConfigError(f"days must be YYYY-MM-DD, got {day!r}")


def merged(path: str | None, overrides: dict | None) -> dict:
    """A JSON config file (optional) updated with the non-None overrides; UGC_LAKE_URI fills lake_uri."""
    d: dict = {}
    if path:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    d.update({k: v for k, v in (overrides or {}).items() if v is not None})
    d.setdefault("lake_uri", os.environ.get("UGC_LAKE_URI", ""))
    return d
