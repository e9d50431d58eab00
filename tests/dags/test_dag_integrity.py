import subprocess
import sys

import pytest

DAGS = {"ugc_ingest", "sentiment_training", "sentiment_deploy", "nightly_reports", "generation_training"}


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder="dags")


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert DAGS <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(DAGS))
def test_dag_defaults(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.tags and not dag.catchup
    assert dag.dagrun_timeout is not None  # no run can hang forever
    assert dag.default_args["on_failure_callback"].__name__ == "on_task_failure"
    assert dag.default_args["retry_exponential_backoff"] is True
    for t in dag.tasks:
        assert t.execution_timeout is not None, t.task_id
    gates = {"ugc_ingest": "validate", "sentiment_training": "gate", "sentiment_deploy": "deploy",
             "nightly_reports": "drift_alert", "generation_training": "gate"}
    assert dag.get_task(gates[dag_id]).retries == 0  # a failed gate must not be retried


def test_ingest_dag_shape(dagbag):
    dag = dagbag.get_dag("ugc_ingest")
    assert dag.get_task("validate").upstream_task_ids == {"ingest"}
    assert [o.name for o in dag.get_task("validate").outlets] == ["ugc_clean"]
    assert {"landing_root", "lake_uri", "day", "max_text_bytes"} <= set(dag.params.keys())


def test_training_dag_shape(dagbag):
    dag = dagbag.get_dag("sentiment_training")
    # A validated partition or a failed nightly drift check each start a retrain.
    assert type(dag.timetable.asset_condition).__name__ == "AssetAny"
    assert [a.name for a in dag.timetable.asset_condition.objects] == ["ugc_clean", "drift_alert"]
    train = dag.get_task("train")
    assert (train.queue, train.pool, train.retries) == ("gpu", "gpu_pool", 2)
    assert dag.get_task("promote").upstream_task_ids == {"gate"}
    assert [o.name for o in dag.get_task("promote").outlets] == ["sentiment_model_production"]
    assert {"base_model", "epochs", "lr", "batch_size", "days", "margin"} <= set(dag.params.keys())


def test_generation_dag_shape(dagbag):
    dag = dagbag.get_dag("generation_training")
    assert type(dag.timetable).__name__ == "NullTimetable"  # engineers trigger it
    train = dag.get_task("train")
    assert (train.queue, train.pool) == ("gpu", "gpu_pool")
    assert dag.get_task("promote").upstream_task_ids == {"gate"}
    assert dag.get_task("publish").upstream_task_ids == {"promote"}
    assert [o.name for o in dag.get_task("promote").outlets] == ["generator_model_production"]
    assert {"base_model", "method", "tasks", "lora_r", "max_steps", "margin", "triton_url"} <= set(dag.params.keys())


def test_nightly_dag_shape(dagbag):
    dag = dagbag.get_dag("nightly_reports")
    assert type(dag.timetable).__name__ == "CronTriggerTimetable" and not dag.catchup
    assert dag.get_task("sentiment_report").upstream_task_ids == {"score"}
    assert dag.get_task("drift_alert").upstream_task_ids == {"drift_report"}
    assert [o.name for o in dag.get_task("drift_alert").outlets] == ["drift_alert"]
    assert {"day", "lake_uri", "scoring", "triton_url", "baseline_days"} <= set(dag.params.keys())


@pytest.mark.parametrize("path", ["dags/ugc_ingest.py", "dags/sentiment_training.py", "dags/sentiment_deploy.py",
                                  "dags/nightly_reports.py", "dags/generation_training.py"])
def test_parsing_the_dags_does_not_import_heavy_libraries(path):
    code = (f"import sys, runpy; runpy.run_path({path!r});"
            "bad=[m for m in ('torch','transformers','great_expectations','pyarrow','tritonclient','onnx','peft')"
            " if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


CONFIGS = {"ugc_ingest": ("ingestion.config:IngestConfig",),
           "sentiment_training": ("training.config:TrainConfig", "training.config:GateConfig"),
           "generation_training": ("generation.config:GenConfig", "generation.config:GenGateConfig",
                                   "serving.config:GeneratorDeployConfig"),
           "nightly_reports": ("monitoring.config:ReportConfig",),
           "sentiment_deploy": ("serving.config:DeployConfig",)}


@pytest.mark.parametrize("dag_id", sorted(DAGS))
def test_params_are_the_config_fields_with_the_same_defaults(dagbag, dag_id):
    import importlib

    from pydantic_core import PydanticUndefined

    models = [getattr(importlib.import_module(m), c) for m, c in (s.split(":") for s in CONFIGS[dag_id])]
    dag = dagbag.get_dag(dag_id)
    checked = 0
    for name in dag.params.keys():
        field = next((m.model_fields[name] for m in models if name in m.model_fields), None)
        if field is None or field.default is PydanticUndefined:  # DAG-only, required or env-derived
            continue
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert dag.params[name] == default, name
        checked += 1
    assert checked >= 2


def test_every_dag_takes_the_triton_url_from_one_variable(tmp_path):
    """dags/generation_training.py once read UGC_TRITON_URL while the other DAGs read UGC_TRITON_GRPC_URL."""
    import json
    import os

    code = ("import json; from airflow.dag_processing.dagbag import DagBag; b = DagBag(dag_folder='dags');"
            "print(json.dumps({d: b.get_dag(d).params['triton_url'] for d in "
            "('generation_training', 'sentiment_deploy', 'nightly_reports')}))")
    env = {**os.environ, "UGC_TRITON_GRPC_URL": "10.1.2.3:9001"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert set(json.loads(r.stdout.strip().splitlines()[-1]).values()) == {"10.1.2.3:9001"}
