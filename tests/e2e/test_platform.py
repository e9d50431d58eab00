"""The platform as production runs it: real Airflow processes on PostgreSQL (LocalExecutor).

Starts api-server, scheduler, dag-processor and triggerer with ``ugc.platform``, then as a platform
engineer would: a token from /auth/token, ingest triggered over REST, the scheduler SIGKILLed while
ingest runs and restarted, the asset-triggered retrain awaited, lake and registry checked, invalid conf
refused with 400, the plugin refusing anonymous calls. Every process and the database are removed after.
"""

import json
import os
import time

import httpx
import pyarrow.compute as pc
import pytest

from ingestion import synth
from ops import airflow_api, cli
from ops.platform import Platform, PlatformConfig, drop_database
from serving.server import free_port
from tests.conftest import DAY
from tests.helpers import TINY
from ugc import lake, registry

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _wait(fn, timeout, what, poll=2.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = fn()
        if out:
            return out
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    root = tmp_path_factory.mktemp("platform")
    landing, lake_uri = str(root / "landing"), str(root / "lake")
    planted = synth.generate(landing, DAY, days=1, posts=1200, seed=3)[0]
    db = f"postgresql+psycopg2://postgres@127.0.0.1:5432/ugc_e2e_{os.urandom(4).hex()}"
    tiny = {"epochs": 4, "lr": TINY["lr"], "batch_size": TINY["batch_size"], "max_length": TINY["max_length"],
            "min_macro_f1": 0.3, "overrides": {k: v for k, v in TINY.items() if k not in ("lr", "batch_size", "max_length")}}
    tiny["overrides"]["gate"] = {k: v for k, v in TINY["gate"].items() if k != "min_macro_f1"}
    cfg = PlatformConfig(mode="local", home=str(root / "airflow_home"), port=free_port(), db_url=db, extra_env={
        "UGC_LAKE_URI": lake_uri, "UGC_LANDING_URI": landing, "UGC_TRAINING_DEFAULTS": json.dumps(tiny),
        "UGC_RETRY_DELAY_S": "2",
        # An S3 endpoint nobody listens on: s3:// URIs in this deployment are "down".
        "UGC_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
        # A task whose process died with the scheduler is noticed after this many seconds, then retried.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10"})
    p = Platform(cfg)
    try:
        p.start(timeout=300)
        with open(os.path.join(cfg.home, "secrets", "passwords.json")) as f:
            password = json.load(f)["admin"]
        api = airflow_api.AirflowAPI(p.url, "admin", password, timeout_s=60)
        _wait(lambda: _dag_parsed(api, "sentiment_training") and _dag_parsed(api, "ugc_ingest"), 240, "DAG parsing")
        yield {"p": p, "api": api, "lake": lake_uri, "landing": landing, "planted": planted, "password": password}
        api.close()
    finally:
        pids = [proc.pid for proc in p.procs.values()]
        p.stop()
        drop_database(db)
        for pid in pids:  # nothing left behind
            with pytest.raises(ProcessLookupError):
                os.killpg(pid, 0)


def _dag_parsed(api, dag_id):
    try:
        return api.request("GET", f"/api/v2/dags/{dag_id}")
    except airflow_api.ApiError:
        return None


def test_anonymous_requests_are_refused(platform):
    url = platform["p"].url
    for path in ("/api/v2/dags", "/ugc/", "/ugc/api/registry/sentiment", "/ugc/api/reports/latest"):
        assert httpx.get(url + path).status_code == 401, path
    r = httpx.post(url + "/ugc/api/registry/sentiment/rollback", json={})
    assert r.status_code == 401
    bad = httpx.post(url + "/auth/token", json={"username": "admin", "password": "wrong"})
    assert bad.status_code == 401


def test_hostile_plugin_input_is_a_4xx_and_changes_nothing(platform):
    url, token = platform["p"].url, platform["api"].token()
    auth = {"Authorization": f"Bearer {token}"}
    reg = f"{platform['lake']}/registry/sentiment"
    before = registry.read_index(reg)
    promote = url + "/ugc/api/registry/sentiment/promote"
    for version in ("../../../../../evilreg/models/pwned", "../models/v1", "v1/../../x", "a\x00b", "v" * 5000, "",
                    ".hidden", "v1..2"):
        r = httpx.post(promote, json={"version": version}, headers=auth)
        assert r.status_code in (404, 422), (version[:40], r.status_code, r.text[:200])
    assert httpx.post(promote, json={"version": "v20260101T000000-deadbeef"}, headers=auth).status_code == 404
    big = httpx.post(promote, json={"version": "v1", "reason": "x" * (2 << 20)}, headers=auth)
    assert big.status_code == 413
    assert httpx.post(promote, json={"version": "v1", "reason": "x" * 1001}, headers=auth).status_code == 422
    assert httpx.post(promote, json={"version": "v1", "extra": 1}, headers=auth).status_code == 422
    deep = b"[" * 8000 + b"]" * 8000
    anon = httpx.post(promote, content=deep, headers={"content-type": "application/json"})
    assert anon.status_code == 401  # authentication first: an anonymous body is never parsed
    assert httpx.post(promote, content=deep, headers={**auth, "content-type": "application/json"}).status_code == 400
    assert httpx.post(promote, content=b"[" * 100_000, headers=auth).status_code == 413
    assert registry.read_index(reg) == before  # nothing moved, nothing stored


def test_invalid_conf_is_a_400_and_queues_nothing(platform, monkeypatch, capsys):
    api = platform["api"]
    before = len(api.runs("sentiment_training", limit=100))
    with pytest.raises(airflow_api.ConfRejected, match="lookback_days"):
        api.trigger("sentiment_training", {"lookback_days": 0})
    monkeypatch.setenv("UGC_AIRFLOW_URL", platform["p"].url)
    monkeypatch.setenv("UGC_AIRFLOW_PASSWORD", platform["password"])
    assert cli.main(["retrain", "--conf", '{"epochs": 0}']) == 2  # refused before any HTTP call
    assert "epochs must be >= 1" in capsys.readouterr().err
    assert cli.main(["retrain", "--conf", '{"lookback_days": 0}']) == 2  # refused by Airflow
    assert "rejected the conf" in capsys.readouterr().err
    assert len(api.runs("sentiment_training", limit=100)) == before


def test_ingest_survives_a_scheduler_kill_and_its_asset_retrains(platform, monkeypatch, capsys):
    api, p = platform["api"], platform["p"]
    for dag_id in ("ugc_ingest", "sentiment_training"):
        api.unpause(dag_id)
    run = api.trigger("ugc_ingest", {"day": DAY.isoformat(), "landing_root": platform["landing"],
                                     "lake_uri": platform["lake"]})
    ti = f"/api/v2/dags/ugc_ingest/dagRuns/{run['dag_run_id']}/taskInstances/ingest"
    seen = _wait(lambda: (t := api.request("GET", ti))["state"] in ("running", "success") and t, 240,
                 "ingest to start", poll=0.5)
    p.kill_component("scheduler")  # the scheduler and the LocalExecutor task processes it spawned
    time.sleep(3)
    p.start_component("scheduler")
    done = api.wait("ugc_ingest", run["dag_run_id"], timeout_s=480, poll_s=3)
    assert done["state"] == "success", done
    if seen["state"] == "running":  # the kill took the running attempt with it: a second one finished
        assert api.request("GET", ti)["try_number"] == 2

    part = lake.read_partition(lake.partition_uri(platform["lake"], DAY))
    assert part.num_rows == platform["planted"]["records"]  # nothing lost
    assert pc.count_distinct(part["post_id"]).as_py() == part.num_rows  # nothing duplicated

    # Asset ugc_clean -> sentiment_training, with the deployment's tiny overrides.
    retrain = _wait(lambda: [r for r in api.runs("sentiment_training", limit=10) if r["run_type"] == "asset_triggered"],
                    120, "the asset-triggered training run")[0]
    done = api.wait("sentiment_training", retrain["dag_run_id"], timeout_s=600, poll_s=3)
    assert done["state"] == "success", done
    reg = f"{platform['lake']}/registry/sentiment"
    prod = registry.production(reg)
    assert prod is not None and prod["data_snapshot_id"]
    lineage = json.loads(open(f"{reg}/models/{prod['version']}/lineage.json").read())
    assert [x["day"] for x in lineage["partitions"]] == [DAY.isoformat()]

    # The plugin and `ugc status` show the same production model; rollback has nowhere to go (409).
    view = api.request("GET", "/ugc/api/registry/sentiment")
    assert view["production"] == prod["version"] and view["versions"][0]["production"]
    with pytest.raises(airflow_api.ApiError, match="409"):
        api.request("POST", "/ugc/api/registry/sentiment/rollback", json={"reason": "drill"})
    with pytest.raises(airflow_api.ApiError, match="409"):  # a stale expected_current loses
        api.request("POST", "/ugc/api/registry/sentiment/promote", json={"version": prod["version"],
                                                                         "expected_current": "v-stale"})
    promoted = api.request("POST", "/ugc/api/registry/sentiment/promote",
                           json={"version": prod["version"], "expected_current": prod["version"], "reason": "re-pin"})
    assert promoted == {"production": prod["version"]}
    assert registry.read_index(reg)["history"][-1]["reason"] == "admin via /ugc: re-pin"
    assert "<h1>ugc-mlops" in api._http.get("/ugc/", headers={"Authorization": f"Bearer {api.token()}"}).text
    monkeypatch.setenv("UGC_AIRFLOW_URL", p.url)
    monkeypatch.setenv("UGC_AIRFLOW_PASSWORD", platform["password"])
    assert cli.main(["status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["registry"]["production"] == prod["version"]
    assert any(r["run_type"] == "asset_triggered" and r["state"] == "success" for r in status["runs"])


def test_s3_down_is_retried_then_fails_clearly(platform):
    api = platform["api"]
    run = api.trigger("ugc_ingest", {"day": DAY.isoformat(), "landing_root": "s3://landing-down/ugc",
                                     "lake_uri": platform["lake"]})
    done = api.wait("ugc_ingest", run["dag_run_id"], timeout_s=300, poll_s=3)
    assert done["state"] == "failed"
    base = f"/api/v2/dags/ugc_ingest/dagRuns/{run['dag_run_id']}/taskInstances"
    ti = api.request("GET", f"{base}/ingest")
    assert (ti["state"], ti["try_number"]) == ("failed", 3)  # retries=2: transient errors are retried
    assert api.request("GET", f"{base}/validate")["state"] == "upstream_failed"
    log = json.dumps(api.request("GET", f"{base}/ingest/logs/3", params={"full_content": True}))
    assert "S3 endpoint error on s3://landing-down/ugc" in log
    assert "UGC_TASK_FAILED dag=ugc_ingest task=ingest" in log
