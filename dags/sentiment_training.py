"""Sentiment fine-tuning: prepare data -> train (GPU queue) -> champion/challenger gate -> promote.

Runs when ``ugc_ingest`` publishes a validated partition (Asset ``ugc_clean``), when the nightly drift
check fails (Asset ``drift_alert``), and on demand:

    airflow dags trigger sentiment_training --conf '{"epochs": 3, "lr": 3e-5, "margin": 0.01}'
    airflow dags trigger sentiment_training --conf "$(ugc recipe sentiment-demo)"   # any TrainConfig key

A rejected challenger fails ``gate`` (no retry) and nothing after it runs: production is unchanged.
A promotion emits Asset ``sentiment_model_production`` with the new version, which deployment
listens to.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from ops import dagkit
from training.config import GateConfig, TrainConfig
from ugc import assets, settings
from ugc.errors import ConfigError

UGC_CLEAN, DRIFT_ALERT = dagkit.asset(assets.UGC_CLEAN), dagkit.asset(assets.DRIFT_ALERT)
SENTIMENT_PRODUCTION = dagkit.asset(assets.SENTIMENT_PRODUCTION)

PARAMS = {
    **dagkit.params(TrainConfig, ["lake_uri", "registry_uri", "days", "base_model", "epochs", "lr", "batch_size",
                                  "max_length", "max_train_samples"], {"lake_uri": settings.LAKE_URI.get()}),
    "lookback_days": Param(30, type="integer", minimum=1, maximum=3650,
                           description="with no days: the partitions of the last lookback_days before the newest"),
    **dagkit.params(GateConfig, ["margin", "min_macro_f1"]),
    "overrides": dagkit.overrides_param(TrainConfig),
}
# Deployment-wide Param defaults (e.g. a small model on a CPU-only staging platform) from the
# environment, as JSON {param: value}; a run's conf still wins. Unknown names fail DAG parsing loudly.
for _k, _v in json.loads(settings.TRAINING_DEFAULTS.get() or "{}").items():
    if _k not in PARAMS:
        raise KeyError(f"UGC_TRAINING_DEFAULTS names unknown param {_k!r}; known: {sorted(PARAMS)}")
    PARAMS[_k] = Param(_v, **PARAMS[_k].schema)


def _config(params: dict, run_id: str, **extra) -> TrainConfig:
    return dagkit.build_config(TrainConfig, params, run_id=dagkit.safe_run_id(run_id), **extra)


@dag(
    dag_id="sentiment_training",
    schedule=(UGC_CLEAN | DRIFT_ALERT),  # either event starts a run
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one promoter at a time: the registry's expected-current check is the backstop
    default_args=dagkit.default_args(retries=1),
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

        events = [e for evs in (triggering_asset_events or {}).values() for e in evs]
        newest = max((e.extra.get("day") for e in events if e.extra.get("day")), default=None)
        with dagkit.non_retryable(ConfigError, prefix="invalid training config or data: "):
            days = list(params["days"]) or select_days(params["lake_uri"], newest, params["lookback_days"])
            return {"days": days, **prepare_data(_config(params, run_id, days=days))}

    train, gate, promote = dagkit.lifecycle_tasks("training.pipeline", _config, SENTIMENT_PRODUCTION, ("days",))
    promote(gate(train(prepare())))


sentiment_training()
