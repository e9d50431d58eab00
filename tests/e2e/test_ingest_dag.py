"""The ingest DAG end to end through Airflow's dag.test(), on a local lake and on S3."""

import json
from datetime import UTC

import pytest

from ingestion import synth
from tests.conftest import DAY
from ugc import lake, storage

pytestmark = pytest.mark.slow


def _run(dag, landing, lake_uri, **conf):
    from datetime import datetime

    return dag.test(logical_date=datetime(2026, 11, 20, tzinfo=UTC),
                    run_conf={"landing_root": landing, "lake_uri": lake_uri, **conf})


@pytest.fixture(scope="module")
def ingest_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder="dags/ugc_ingest.py").get_dag("ugc_ingest")


def _states(dr):
    return {ti.task_id: ti.state for ti in dr.get_task_instances()}


def _asset_events():
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        return [(e.extra or {}) for e in s.scalars(select(AssetEvent).order_by(AssetEvent.id))]


def test_ingest_dag_end_to_end(ingest_dag, root):
    landing, lake_uri = storage.join(root, "landing"), storage.join(root, "lake")
    info = synth.generate(landing, DAY, days=1, posts=600, seed=11)[0]
    before = len(_asset_events())
    dr = _run(ingest_dag, landing, lake_uri)
    assert _states(dr) == {"ingest": "success", "validate": "success"}
    part = lake.partition_uri(lake_uri, DAY)
    manifest = lake.read_manifest(part)
    assert manifest["rows"] == info["records"]
    assert manifest["ingest"]["quarantined"] == info["planted"]
    results = json.loads(storage.read_bytes(storage.join(part, "_validation", "results.json")))
    assert results["summary"]["success"]
    assert storage.exists(storage.join(part, "_validation", "data_docs", "index.html"))
    events = _asset_events()[before:]
    assert len(events) == 1 and events[0]["partition_uri"] == part
    assert events[0]["rows"] == info["records"] and events[0]["snapshot_id"] == manifest["snapshot_id"]


def test_failed_validation_stops_the_run_and_emits_nothing(ingest_dag, tmp_path):
    landing, lake_uri = str(tmp_path / "landing"), str(tmp_path / "lake")
    # Every row is bad: the partition is empty, so the row-count expectation (critical) fails.
    storage.write_bytes(f"{landing}/dt={DAY.isoformat()}/a.jsonl", b'{"broken json\n')
    before = len(_asset_events())
    dr = _run(ingest_dag, landing, lake_uri)
    assert _states(dr) == {"ingest": "success", "validate": "failed"}
    assert len(_asset_events()) == before
    assert storage.exists(storage.join(lake.partition_uri(lake_uri, DAY), "_validation", "results.json"))
