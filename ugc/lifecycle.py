"""One lifecycle for every model: prepare -> train -> gate -> promote, with the same config base, gate
checks, decision record and promotion for the sentiment classifier and the generator.

    prepare(cfg)                      -> data manifest           (stage-specific)
    train_candidate(cfg, manifest)    -> registered version      (stage-specific)
    gate_candidate(cfg, version)      -> decision record         checks from the stage, record() here
    promote_candidate(cfg, decision)  -> new production          promote() here

A decision is written to ``{work}/gate.json`` before anything acts on it, so the promote step (a separate
Airflow task) reads exactly what the gate decided, and a rejected decision can never be promoted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from ugc import registry, storage
from ugc.config import Config, check_day
from ugc.errors import ConfigError, GateFailed


class LifecycleConfig(Config):
    """Fields every trainer shares: where the data and the registry are, which partitions, the run id."""

    registry_name: ClassVar[str] = ""  # the registry's folder under {lake}/registry

    lake_uri: str = Field(description="lake root (local path or s3://)")
    registry_uri: str = Field("", description="default {lake_uri}/registry/<model>")
    days: tuple[Annotated[str, AfterValidator(check_day)], ...] = Field(
        (), description="partitions (YYYY-MM-DD) to train on; empty = every published partition")
    run_id: str = Field("manual", description="names the run's work dir: a rerun with the same id resumes it")
    work_uri: str = Field("", description="checkpoints and split files; default {registry}/runs/{run_id}")
    seed: int = Field(13, description="weight init, batch order and sampling; splits do not depend on it")
    num_threads: int = Field(0, ge=0, description="torch CPU threads; 0 = torch's default")

    @property
    def registry(self) -> str:
        return self.registry_uri or registry.registry_uri(self.lake_uri, self.registry_name)

    @property
    def work(self) -> str:
        return self.work_uri or storage.join(self.registry, "runs", self.run_id)

    def partitions(self) -> list:
        """The partition days to read (``days``, or every published one); ConfigError when there are none."""
        from datetime import date

        from ugc import lake  # pyarrow: not at DAG parse time, which imports this module

        days = [date.fromisoformat(d) for d in self.days] or lake.list_partitions(self.lake_uri)
        if not days:
            raise ConfigError(f"no published partitions under {self.lake_uri}")
        return days


@dataclass(frozen=True)
class Check:
    """One gate check: ``value`` must be ``op`` (">=" or "<=") ``limit``."""

    name: str
    value: float
    limit: float
    op: str

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.op == ">=" else self.value <= self.limit


def decide(checks: list[Check], **extra) -> dict:
    """The decision record: promote only when every check passed; each failure named with its numbers."""
    reasons = [f"{c.name}: {c.value:.4f} must be {c.op} {c.limit:.4f}" for c in checks if not c.passed]
    return {"promote": not reasons, "reasons": reasons,
            "checks": {c.name: {"passed": c.passed, "value": c.value, "limit": c.limit} for c in checks}, **extra}


def enforce(decision: dict) -> dict:
    """Raise GateFailed (with every failed check) unless the decision is to promote."""
    if not decision["promote"]:
        raise GateFailed("challenger rejected: " + "; ".join(decision["reasons"]))
    return decision


def record(cfg: LifecycleConfig, decision: dict, version: str, champion: dict | None, gate: Config) -> dict:
    """Write the decision to ``{work}/gate.json``; returns it with its ``decision_uri``."""
    decision.update(version=version, champion=champion["version"] if champion else None, gate=gate.to_dict())
    uri = storage.join(cfg.work, "gate.json")
    storage.write_bytes(uri, json.dumps(decision, indent=1).encode())
    return {**decision, "decision_uri": uri}


def promote(cfg: LifecycleConfig, decision_uri: str, reason: str) -> dict:
    """Promote the gated version; fails if the gate said no, or if production changed since it looked."""
    decision = enforce(json.loads(storage.read_bytes(decision_uri)))
    index = registry.promote(cfg.registry, decision["version"], expected_current=decision["champion"],
                             reason=reason.format(**decision))
    return {"production": index["production"], "previous": decision["champion"]}
