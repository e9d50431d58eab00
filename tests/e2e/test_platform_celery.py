"""CeleryExecutor mode: Redis broker, PostgreSQL, and a worker started with ``--queues gpu`` that takes
exactly the GPU tasks (a probe DAG records which worker's queues each task ran under)."""

import json
import os
import textwrap

import pytest

from ops import airflow_api
from ops.platform import Platform, PlatformConfig, drop_database
from serving.server import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]

PROBE = textwrap.dedent('''
    import os
    import pendulum
    from airflow.sdk import dag, task

    @dag(dag_id="queue_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
    def queue_probe():
        @task
        def cpu_step():
            return os.environ.get("UGC_WORKER_QUEUES")

        @task(queue="gpu", pool="gpu_pool")
        def gpu_step(cpu):
            return {"cpu": cpu, "gpu": os.environ.get("UGC_WORKER_QUEUES")}

        gpu_step(cpu_step())

    queue_probe()
''')


def test_gpu_tasks_run_on_the_gpu_worker_only(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "queue_probe.py").write_text(PROBE)
    db = f"postgresql+psycopg2://postgres@127.0.0.1:5432/ugc_celery_{os.urandom(4).hex()}"
    cfg = PlatformConfig(mode="celery", home=str(tmp_path / "home"), port=free_port(), db_url=db,
                         broker_url="redis://127.0.0.1:6379/7",
                         extra_env={"AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                                    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"})
    p = Platform(cfg)
    try:
        p.start(timeout=300)
        assert {"worker-default", "worker-gpu"} <= set(p.procs)
        with open(os.path.join(cfg.home, "secrets", "passwords.json")) as f:
            api = airflow_api.AirflowAPI(p.url, "admin", json.load(f)["admin"], timeout_s=60)
        from tests.e2e.test_platform import _dag_parsed, _wait

        _wait(lambda: _dag_parsed(api, "queue_probe"), 240, "the probe DAG")
        run = api.trigger("queue_probe", {})
        done = api.wait("queue_probe", run["dag_run_id"], timeout_s=300, poll_s=2)
        assert done["state"] == "success", done
        x = api.request("GET", f"/api/v2/dags/queue_probe/dagRuns/{run['dag_run_id']}/taskInstances/gpu_step/"
                               "xcomEntries/return_value")
        value = x["value"] if isinstance(x["value"], dict) else json.loads(x["value"])
        assert value == {"cpu": "default", "gpu": "gpu"}
        ti = api.request("GET", f"/api/v2/dags/queue_probe/dagRuns/{run['dag_run_id']}/taskInstances/gpu_step")
        assert (ti["queue"], ti["pool"]) == ("gpu", "gpu_pool")
        api.close()
    finally:
        p.stop()
        drop_database(db)
