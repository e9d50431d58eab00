"""Daily UGC ingest: landing drop -> clean lake partition -> GX validation -> Asset ``ugc_clean``.

Manual runs: ``airflow dags trigger ugc_ingest --conf '{"day": "2026-11-20"}'``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from ugc.dag_defaults import default_args

_DATA = Path(__file__).resolve().parents[1] / "data"
UGC_CLEAN = Asset("ugc_clean")

# Retries are for the transient: a late landing drop, S3 hiccups.
DEFAULT_ARGS = default_args(retries=2, retry_delay=timedelta(minutes=1))


@dag(
    dag_id="ugc_ingest",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=3),
    tags=["ugc", "ingest", "validation"],
    params={
        "landing_root": Param(os.environ.get("UGC_LANDING_URI", str(_DATA / "landing")), type="string",
                              description="Root of landing drops; the day's drop is {landing_root}/dt=YYYY-MM-DD"),
        "lake_uri": Param(os.environ.get("UGC_LAKE_URI", str(_DATA / "lake")), type="string"),
        "day": Param(None, type=["null", "string"], description="YYYY-MM-DD; default: the run's logical date"),
        "max_text_bytes": Param(8192, type="integer", minimum=1),
        "dedupe_lookback_days": Param(7, type="integer", minimum=0, maximum=90),
    },
    doc_md=__doc__,
)
def ugc_ingest():
    @task(execution_timeout=timedelta(hours=1))
    def ingest(params=None, ds=None) -> dict:
        from ingestion.pipeline import ConfigError, IngestConfig, ingest_day

        day = params.get("day") or ds
        try:
            cfg = IngestConfig.from_dict({
                "lake_uri": params["lake_uri"], "day": day, "max_text_bytes": params["max_text_bytes"],
                "dedupe_lookback_days": params["dedupe_lookback_days"]})
        except ConfigError as e:
            raise AirflowFailException(f"invalid ingest config: {e}") from e
        return ingest_day(cfg, f"{params['landing_root'].rstrip('/')}/dt={cfg.day.isoformat()}")

    @task(outlets=[UGC_CLEAN], retries=0, execution_timeout=timedelta(minutes=30))
    def validate(summary: dict, params=None) -> dict:
        from datetime import date

        from ingestion.validate import ValidateConfig, ValidationFailed, validate_partition

        cfg = ValidateConfig(day=date.fromisoformat(summary["day"]))
        try:
            result = validate_partition(cfg, summary["partition_uri"])
        except ValidationFailed as e:  # bad data does not get better on retry
            raise AirflowFailException(str(e)) from e
        extra = {"partition_uri": summary["partition_uri"], "day": summary["day"], "rows": summary["rows"],
                 "quarantined": summary["quarantined_total"], "snapshot_id": summary["snapshot_id"]}
        get_current_context()["outlet_events"][UGC_CLEAN].extra = extra
        return {**extra, "results_uri": result["results_uri"], "warnings": len(result["warnings"])}

    validate(ingest())


ugc_ingest()
