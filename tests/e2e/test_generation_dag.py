"""generation_training through Airflow's dag.test(): pairs -> train -> gate -> promote -> publish to a repository."""

import os
from datetime import UTC, datetime

import pytest

from tests.e2e.test_training_dag import _events, _states
from tests.generation.conftest import TINY_GEN
from ugc import registry

pytestmark = pytest.mark.slow


def test_trigger_with_conf_promotes_and_publishes(airflow_db, small_lake, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder="dags/generation_training.py").get_dag("generation_training")
    reg, repo = str(tmp_path / "registry"), str(tmp_path / "model_repository")
    before = len(_events("generator_model_production"))
    overrides = {k: v for k, v in TINY_GEN.items()
                 if k not in ("base_model", "method", "lr", "epochs", "batch_size", "max_pairs_per_task")}
    dr = dag.test(logical_date=datetime.now(UTC), run_conf={
        "lake_uri": small_lake, "registry_uri": reg, "repo_uri": repo, "triton_url": "", "tasks": ["reply", "rewrite"],
        "base_model": "tiny-random", "method": "full", "lr": TINY_GEN["lr"], "epochs": 3, "batch_size": 16,
        "max_pairs_per_task": 200, "overrides": overrides})
    assert _states(dr) == {"prepare_pairs": "success", "train": "success", "gate": "success", "promote": "success",
                           "publish": "success"}
    prod = registry.production(reg)
    assert prod["tasks"] == ["reply", "rewrite"] and prod["test"]["perplexity"] < prod["test"]["base_perplexity"]
    assert os.path.exists(os.path.join(repo, "generator", "1", "hf", "model.safetensors"))
    assert _events("generator_model_production")[before:] == [{"version": prod["version"], "registry_uri": reg}]
