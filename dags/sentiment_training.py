"""Sentiment fine-tuning: prepare data -> train (GPU queue) -> champion/challenger gate -> promote.

Runs when ``ugc_ingest`` publishes a validated partition (Asset ``ugc_clean``), when the nightly drift
check fails (Asset ``drift_alert``), and on demand:

    airflow dags trigger sentiment_training --conf '{"epochs": 3, "lr": 3e-5, "margin": 0.01}'

A rejected challenger fails ``gate`` (no retry) and nothing after it runs: production is unchanged.
A promotion emits Asset ``sentiment_model_production`` with the new version, which deployment
listens to.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from ugc.dag_defaults import default_args

_DATA = Path(__file__).resolve().parents[1] / "data"
UGC_CLEAN = Asset("ugc_clean")
DRIFT_ALERT = Asset("drift_alert")
SENTIMENT_PRODUCTION = Asset("sentiment_model_production")

DEFAULT_ARGS = default_args(retries=1)

PARAMS = {
    "lake_uri": Param(os.environ.get("UGC_LAKE_URI", str(_DATA / "lake")), type="string"),
    "registry_uri": Param("", type="string", description="default {lake_uri}/registry/sentiment"),
    "days": Param([], type="array", items={"type": "string", "format": "date"},
                  description="partitions to train on; empty = the last lookback_days before the newest"),
    "lookback_days": Param(30, type="integer", minimum=1, maximum=3650),
    "base_model": Param("m3e-small", type="string", description="catalog name or local checkpoint directory"),
    "epochs": Param(3, type="integer", minimum=1, maximum=50),
    "lr": Param(5e-5, type="number", exclusiveMinimum=0, maximum=0.1),
    "batch_size": Param(32, type="integer", minimum=1, maximum=4096),
    "max_length": Param(64, type="integer", minimum=8, maximum=512),
    "max_train_samples": Param(0, type="integer", minimum=0),
    "margin": Param(0.005, type="number", minimum=0, maximum=1, description="macro-F1 gain needed over production"),
    "min_macro_f1": Param(0.6, type="number", minimum=0, maximum=1),
    "overrides": Param({}, type="object", description="any other TrainConfig keys (see training/config.py)"),
}
# Deployment-wide Param defaults (e.g. a small model on a CPU-only staging platform) from the
# environment, as JSON {param: value}; a run's conf still wins. Unknown names fail DAG parsing loudly.
for _k, _v in json.loads(os.environ.get("UGC_TRAINING_DEFAULTS") or "{}").items():
    if _k not in PARAMS:
        raise KeyError(f"UGC_TRAINING_DEFAULTS names unknown param {_k!r}; known: {sorted(PARAMS)}")
    PARAMS[_k] = Param(_v, **PARAMS[_k].schema)


def _config(params: dict, run_id: str, days: list[str] | None = None):
    from training.config import TrainConfig

    d = {"lake_uri": params["lake_uri"], "registry_uri": params["registry_uri"], "base_model": params["base_model"],
         "epochs": params["epochs"], "lr": params["lr"], "batch_size": params["batch_size"],
         "max_length": params["max_length"], "max_train_samples": params["max_train_samples"],
         "run_id": re.sub(r"[^A-Za-z0-9_.-]", "_", run_id), **params["overrides"]}
    d["gate"] = {**d.get("gate", {}), "margin": params["margin"], "min_macro_f1": params["min_macro_f1"]}
    if days is not None:
        d["days"] = days
    return TrainConfig.from_dict(d)


@dag(
    dag_id="sentiment_training",
    schedule=(UGC_CLEAN | DRIFT_ALERT),  # either event starts a run
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one promoter at a time: the registry's expected-current check is the backstop
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=12),
    tags=["ugc", "training", "sentiment"],
    params=PARAMS,
    doc_md=__doc__,
)
def sentiment_training():
    @task(execution_timeout=timedelta(minutes=30))
    def prepare(params=None, run_id=None, triggering_asset_events=None) -> dict:
        from training.data import select_days
        from training.pipeline import prepare_data
        from ugc.errors import ConfigError

        events = [e for evs in (triggering_asset_events or {}).values() for e in evs]
        newest = max((e.extra.get("day") for e in events if e.extra.get("day")), default=None)
        try:
            days = params["days"] or select_days(params["lake_uri"], newest, params["lookback_days"])
            return {"days": days, **prepare_data(_config(params, run_id, days))}
        except ConfigError as e:
            raise AirflowFailException(f"invalid training config or data: {e}") from e

    # GPU workers: a CeleryExecutor worker started with `--queues gpu` takes this task; gpu_pool caps
    # how many run at once. Retries resume from the last checkpoint instead of starting over.
    @task(queue="gpu", pool="gpu_pool", retries=2, execution_timeout=timedelta(hours=6))
    def train(prep: dict, params=None, run_id=None) -> dict:
        from training.pipeline import train_candidate
        from ugc.errors import ConfigError

        try:
            return train_candidate(_config(params, run_id, prep["days"]), prep["manifest_uri"])
        except ConfigError as e:  # e.g. a checkpoint from a different config: retrying cannot help
            raise AirflowFailException(str(e)) from e

    @task(retries=0, execution_timeout=timedelta(minutes=30))
    def gate(candidate: dict, params=None, run_id=None) -> dict:
        from training.pipeline import gate_candidate

        decision = gate_candidate(_config(params, run_id), candidate["version"])
        if not decision["promote"]:
            raise AirflowFailException(f"challenger {candidate['version']} rejected: {'; '.join(decision['reasons'])}")
        return {k: decision[k] for k in ("version", "champion", "challenger_macro_f1", "decision_uri")}

    @task(retries=0, outlets=[SENTIMENT_PRODUCTION], execution_timeout=timedelta(minutes=10))
    def promote(decision: dict, params=None, run_id=None) -> dict:
        from training.pipeline import promote_candidate
        from training.registry import RegistryError

        cfg = _config(params, run_id)
        try:
            result = promote_candidate(cfg, decision["decision_uri"])
        except RegistryError as e:
            raise AirflowFailException(str(e)) from e
        get_current_context()["outlet_events"][SENTIMENT_PRODUCTION].extra = {
            "version": result["production"], "previous": result["previous"], "registry_uri": cfg.registry}
        return result

    promote(gate(train(prepare())))


sentiment_training()
