"""nightly_reports through dag.test(), scoring over gRPC on a REAL tritonserver; a planted drift queues a retrain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.monitoring.conftest import NORMAL, SHIFT
from ugc import storage

pytestmark = [pytest.mark.slow, pytest.mark.services]


@pytest.fixture(scope="module")
def dags(airflow_db):
    """Every DAG parsed and written to the metadata DB, as the dag-processor would, so asset events
    queue runs of the DAGs that consume them."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder="dags")
    sync_bag_to_db(bag, "dags-folder", None)
    return bag


def _queued_by(asset: str, dag_id: str) -> int:
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as s:
        return s.scalar(select(func.count()).select_from(AssetDagRunQueue).join(
            AssetModel, AssetDagRunQueue.asset_id == AssetModel.id).where(
            AssetModel.name == asset, AssetDagRunQueue.target_dag_id == dag_id))


def _events(name):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        q = select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.name == name)
        return [e.extra for e in s.scalars(q.order_by(AssetEvent.id))]


def _run(dag, env, url, reports, day):
    # The logical date is the night after ``day``: the DAG works out "yesterday" itself.
    when = datetime(day.year, day.month, day.day, 2, 30, tzinfo=UTC) + timedelta(days=1)
    dr = dag.test(logical_date=when, run_conf={"lake_uri": env["lake"], "triton_url": url,
                                               "overrides": {"reports_uri": reports}})
    return {ti.task_id: ti.state for ti in dr.get_task_instances()}


def test_normal_night_then_a_planted_drift_triggers_retraining(dags, mon_lake, served, tmp_path, servers):
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    dag, reports = dags.get_dag("nightly_reports"), str(tmp_path / "reports")
    alerts, queued = len(_events("drift_alert")), _queued_by("drift_alert", "sentiment_training")

    states = _run(dag, mon_lake, served, reports, NORMAL[2])
    assert states == {"score": "success", "sentiment_report": "success", "drift_report": "success",
                      "drift_alert": "skipped", "profiles": "success", "alerts": "success"}
    assert servers.mail == [] and servers.posts == []  # a normal night tells nobody anything
    scores = json.loads(storage.read_bytes(f"{reports}/dt={NORMAL[2]}/scores.json"))
    assert scores["scoring"] == "triton" and scores["triton_url"] == served and scores["rows"] > 400
    drift = json.loads(storage.read_bytes(f"{reports}/dt={NORMAL[2]}/drift.json"))
    assert drift["encoder"]["source"] == "triton" and drift["encoder"]["fallback"] is None  # the served model measured
    assert drift["encoder"]["release"] >= 1
    assert len(_events("drift_alert")) == alerts  # no drift, no event

    states = _run(dag, mon_lake, served, reports, SHIFT)
    assert states["drift_alert"] == "success", states
    extra = _events("drift_alert")[-1]
    assert extra["day"] == str(SHIFT) and "lang_psi" in extra["failed"] and extra["values"]["lang_psi"] > 0.25
    assert extra["model_version"] == mon_lake["version"]
    for name in ("scores.parquet", "sentiment.json", "sentiment.html", "drift.json", "drift.html", "terms.json",
                 "topics.json", "topic_posts.parquet", "profiles.json", "profiles.html"):
        assert storage.exists(f"{reports}/dt={SHIFT}/{name}"), name
    # The drift failure reached the real SMTP and webhook servers once, through the DAG's alerts task.
    drift_id = f"drift:{SHIFT}:all"
    assert servers.mail_ids().count(drift_id) == 1 and servers.post_ids().count(drift_id) == 1
    assert "lang_psi" in next(p for p in servers.posts if p["id"] == drift_id)["numbers"]["failed"]
    # The event queued a sentiment_training run, and the scheduler's own query says it is due now.
    assert _queued_by("drift_alert", "sentiment_training") == queued + 1
    with create_session() as s:
        _, due = DagModel.dags_needing_dagruns(s)
        assert "sentiment_training" in due


def test_missing_partition_fails_score_without_retry(dags, mon_lake, served, tmp_path):
    states = _run(dags.get_dag("nightly_reports"), mon_lake, served, str(tmp_path / "r"), NORMAL[0] - timedelta(days=30))
    assert states["score"] == "failed" and states["drift_alert"] == "upstream_failed"
    assert states["alerts"] == "success"  # all_done: nothing to tell, and it does not fail the night
