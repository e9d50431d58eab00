"""Daily UGC ingest: landing drop -> clean lake partition -> GX validation -> Asset ``ugc_clean``.

Manual runs: ``airflow dags trigger ugc_ingest --conf '{"day": "2026-11-20"}'``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from ingestion.config import IngestConfig
from ops import dagkit
from ugc import assets, settings

UGC_CLEAN = dagkit.asset(assets.UGC_CLEAN)

PARAMS = {
    "landing_root": Param(settings.LANDING_URI.get(), type="string",
                          description="Root of landing drops; the day's drop is {landing_root}/dt=YYYY-MM-DD"),
    **dagkit.params(IngestConfig, ["lake_uri", "max_text_bytes", "dedupe_lookback_days"],
                    {"lake_uri": settings.LAKE_URI.get()}),
    "day": Param(None, type=["null", "string"], description="YYYY-MM-DD; default: the run's logical date"),
}


@dag(
    dag_id="ugc_ingest",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # Retries are for the transient: a late landing drop, S3 hiccups.
    default_args=dagkit.default_args(retries=2, retry_delay=timedelta(minutes=1)),
    dagrun_timeout=timedelta(hours=3),
    tags=["ugc", "ingest", "validation"],
    params=PARAMS,
    doc_md=__doc__,
)
def ugc_ingest():
    @task(execution_timeout=timedelta(hours=1))
    def ingest(params=None, ds=None) -> dict:
        from ingestion.pipeline import ingest_day
        from ugc.errors import ConfigError

        with dagkit.non_retryable(ConfigError, prefix="invalid ingest config: "):
            cfg = dagkit.build_config(IngestConfig, params, day=params.get("day") or ds)
        return ingest_day(cfg, f"{params['landing_root'].rstrip('/')}/dt={cfg.day.isoformat()}")

    @task(outlets=[UGC_CLEAN], retries=0, execution_timeout=timedelta(minutes=30))
    def validate(summary: dict) -> dict:
        from ingestion.config import ValidateConfig
        from ingestion.validate import ValidationFailed, validate_partition

        with dagkit.non_retryable(ValidationFailed):  # bad data does not get better on retry
            result = validate_partition(ValidateConfig(day=summary["day"]), summary["partition_uri"])
        extra = {"partition_uri": summary["partition_uri"], "day": summary["day"], "rows": summary["rows"],
                 "quarantined": summary["quarantined_total"], "snapshot_id": summary["snapshot_id"]}
        get_current_context()["outlet_events"][UGC_CLEAN].extra = extra
        return {**extra, "results_uri": result["results_uri"], "warnings": len(result["warnings"])}

    validate(ingest())


ugc_ingest()
