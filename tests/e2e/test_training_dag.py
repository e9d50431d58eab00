"""sentiment_training through Airflow's dag.test(): promote on a first run, then a rejected challenger."""

from datetime import UTC, datetime

import pytest

from tests.helpers import TINY
from ugc import registry, storage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def training_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder="dags/sentiment_training.py").get_dag("sentiment_training")


def _states(dr):
    return {ti.task_id: ti.state for ti in dr.get_task_instances()}


def _events(name):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        q = select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.name == name)
        return [e.extra for e in s.scalars(q.order_by(AssetEvent.id))]


def _run(dag, lake, registry_uri, **conf):
    overrides = {k: v for k, v in TINY.items() if k not in ("lr", "batch_size", "max_length", "base_model")}
    overrides["gate"] = {k: v for k, v in TINY["gate"].items() if k != "min_macro_f1"}
    return dag.test(logical_date=datetime.now(UTC), run_conf={
        "lake_uri": lake, "registry_uri": registry_uri, "epochs": 3, "lr": TINY["lr"], "max_length": 48,
        "min_macro_f1": 0.3, "overrides": overrides, **conf})


def test_first_run_promotes_then_a_worse_challenger_is_rejected(training_dag, small_lake, tmp_path):
    reg = str(tmp_path / "registry")
    before = len(_events("sentiment_model_production"))
    dr = _run(training_dag, small_lake, reg)
    assert _states(dr) == {"prepare": "success", "train": "success", "gate": "success", "promote": "success"}
    prod = registry.production(reg)
    assert prod is not None and prod["test"]["macro_f1"] >= 0.3
    for f in ("model.safetensors", "tokenizer.json", "label_map.json", "train_config.json", "metrics.json",
              "lineage.json", "baseline.json"):
        assert f in prod["files"], f
    lineage = storage.read_bytes(f"{reg}/models/{prod['version']}/lineage.json").decode()
    assert "snapshot_id" in lineage and prod["data_snapshot_id"] in lineage
    events = _events("sentiment_model_production")[before:]
    assert events == [{"version": prod["version"], "previous": None, "registry_uri": reg}]

    # Demanding a +100-point gain can never pass: the gate fails loudly and production does not move.
    dr = _run(training_dag, small_lake, reg, margin=1.0)
    assert _states(dr) == {"prepare": "success", "train": "success", "gate": "failed", "promote": "upstream_failed"}
    assert registry.production(reg)["version"] == prod["version"]
    assert len(registry.versions(reg)) == 2  # the challenger is kept for inspection, not promoted
    assert len(_events("sentiment_model_production")) == before + 1


def test_invalid_conf_fails_prepare_without_retry(training_dag, small_lake, tmp_path):
    dr = _run(training_dag, small_lake, str(tmp_path / "r"), overrides={"split_key": "post_id"})
    assert _states(dr)["prepare"] == "failed" and _states(dr)["train"] == "upstream_failed"
