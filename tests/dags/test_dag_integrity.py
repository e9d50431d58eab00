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
