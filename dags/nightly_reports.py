"""Nightly public-opinion and drift reports for yesterday's partition; drift triggers retraining.

    score (Triton gRPC) -> sentiment_report (topics, opinion leaders) -> profiles (incremental user profiles)
                        -> drift_report -> drift_alert (emits Asset ``drift_alert`` only when drift fails)
    [sentiment_report, drift_report] -> alerts (e-mail + webhook notifiers, one per event, never fails)

The run at 02:30 UTC reports the day that just ended (``day`` Param overrides). Catchup is off;
backfill a range with ``airflow backfill create --dag-id nightly_reports --from-date 2026-11-01
--to-date 2026-11-07`` (each run reports the day before its logical date). ``sentiment_training`` is
scheduled on ``drift_alert``, so a failed drift check starts a retrain with no manual step.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from monitoring.config import ReportConfig
from ops import dagkit
from ugc import assets, settings
from ugc.errors import ConfigError

DRIFT_ALERT = dagkit.asset(assets.DRIFT_ALERT)

PARAMS = {
    "day": Param("", type="string", description="YYYY-MM-DD to report; empty = the day before the logical date"),
    **dagkit.params(ReportConfig, ["lake_uri", "registry_uri", "scoring", "triton_url", "baseline_days"],
                    {"lake_uri": settings.LAKE_URI.get(), "triton_url": settings.TRITON_GRPC_URL.get()}),
    "overrides": dagkit.overrides_param(ReportConfig),
}


def _config(params: dict, logical_date) -> ReportConfig:
    day = params["day"] or (logical_date - timedelta(days=1)).date().isoformat()
    with dagkit.non_retryable(ConfigError, prefix="invalid report config: "):
        return dagkit.build_config(ReportConfig, params, day=day)


@dag(
    dag_id="nightly_reports",
    # A trigger timetable: the run's logical date is when it fires, so "yesterday" is the day that ended.
    schedule=CronTriggerTimetable("30 2 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,
    default_args=dagkit.default_args(retries=2, retry_delay=timedelta(minutes=5)),
    dagrun_timeout=timedelta(hours=6),
    tags=["ugc", "monitoring"],
    params=PARAMS,
    doc_md=__doc__,
)
def nightly_reports():
    @task(execution_timeout=timedelta(hours=2))
    def score(params=None, logical_date=None) -> dict:
        from monitoring.scoring import ScoringError, ScoringUnavailable, score_day

        cfg = _config(params, logical_date)
        try:
            r = score_day(cfg)
        except ScoringUnavailable:
            raise  # Triton down: worth a retry
        except ScoringError as e:  # no partition, no production model: retrying cannot help
            raise AirflowFailException(str(e)) from e
        return {k: r[k] for k in ("scores_uri", "day", "rows", "model_version", "scoring")}

    @task(execution_timeout=timedelta(hours=1))
    def sentiment_report(scored: dict, params=None, logical_date=None) -> dict:
        from monitoring.sentiment import sentiment_report as build

        r = build(_config(params, logical_date), scored["scores_uri"])
        print(r["summary"])
        return {k: r[k] for k in ("html_uri", "json_uri", "negative_share", "spike")}

    @task(execution_timeout=timedelta(hours=1))
    def drift_report(scored: dict, params=None, logical_date=None) -> dict:
        from monitoring.drift import drift_report as build

        r = build(_config(params, logical_date), scored["scores_uri"])
        print(r["summary"])
        return r

    @task(retries=0, outlets=[DRIFT_ALERT], execution_timeout=timedelta(minutes=5))
    def drift_alert(drift: dict, params=None, logical_date=None) -> dict:
        if drift["status"] != "fail":
            raise AirflowSkipException(f"drift {drift['status']}: no retrain needed")  # skipped = no event
        cfg = _config(params, logical_date)
        extra = {"day": cfg.day, "lake_uri": cfg.lake_uri, "registry_uri": cfg.registry, "failed": drift["failed"],
                 "values": drift["values"], "model_version": drift["model_version"], "report": drift["html_uri"]}
        get_current_context()["outlet_events"][DRIFT_ALERT].extra = extra
        return extra

    @task(execution_timeout=timedelta(hours=1))
    def profiles(sentiment: dict, params=None, logical_date=None) -> dict:
        from monitoring.profiles import update_profiles

        r = update_profiles(_config(params, logical_date))
        return {k: r[k] for k in ("uri", "authors", "previous", "folded_days")}

    # all_done: a spike must still be told when the drift report broke; sends are de-duplicated by a ledger,
    # so retries and reruns never send twice, and a channel that is down is recorded, not raised.
    @task(trigger_rule="all_done", retries=1, execution_timeout=timedelta(minutes=15))
    def alerts(params=None, logical_date=None) -> dict:
        from ops import alerting

        r = alerting.send(_config(params, logical_date))
        print(r)
        return r

    scored = score()
    sentiment = sentiment_report(scored)
    profiles(sentiment)
    drift = drift_report(scored)
    drift_alert(drift)
    [sentiment, drift] >> alerts()


nightly_reports()
