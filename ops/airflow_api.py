"""Platform engineers' retrain triggers: a small client for Airflow's REST API (v2) and the /ugc plugin.

    ugc retrain [--model sentiment|generator] [--config RECIPE] [--base-model M] [--epochs N] [--conf JSON] [--wait]
    ugc status  [--model sentiment|generator]

Connection: UGC_AIRFLOW_URL (default http://127.0.0.1:8080), UGC_AIRFLOW_USER (default admin) and
UGC_AIRFLOW_PASSWORD, else the password in the platform's generated passwords file
(``ugc platform up`` writes {AIRFLOW_HOME}/secrets/passwords.json). A bearer token comes from POST /auth/token.
"""

from __future__ import annotations

import json
import os

from ugc import settings
from ugc.assets import TRAINING_DAG


class ApiError(RuntimeError):
    def __init__(self, status: int, detail):
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail = status, detail


class ConfRejected(ApiError):
    """Airflow refused the run's conf (400): nothing was queued."""


def _password(user: str) -> str:
    if settings.AIRFLOW_PASSWORD.is_set():
        return settings.AIRFLOW_PASSWORD.get()
    home = os.environ.get("AIRFLOW_HOME") or os.path.join(settings.ROOT, "airflow_home")
    try:
        with open(os.path.join(home, "secrets", "passwords.json")) as f:
            return json.load(f)[user]
    except (OSError, KeyError) as e:
        raise ApiError(401, f"no password for {user!r}: set UGC_AIRFLOW_PASSWORD") from e


class AirflowAPI:
    def __init__(self, url: str | None = None, user: str | None = None, password: str | None = None,
                 timeout_s: float = 30.0):
        import httpx

        self.url = (url or settings.AIRFLOW_URL.get()).rstrip("/")
        self.user = user or settings.AIRFLOW_USER.get()
        self._password = password
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s)
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            r = self._http.post("/auth/token", json={"username": self.user,
                                                     "password": self._password or _password(self.user)})
            if r.status_code >= 300:
                raise ApiError(r.status_code, _detail(r))
            self._token = r.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, **kw):
        r = self._http.request(method, path, headers={"Authorization": f"Bearer {self.token()}"}, **kw)
        if r.status_code in (400, 422):
            raise ConfRejected(r.status_code, _detail(r))
        if r.status_code >= 300:
            raise ApiError(r.status_code, _detail(r))
        return r.json() if r.content else None

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict) -> dict:
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def runs(self, dag_id: str, limit: int = 5) -> list[dict]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns",
                            params={"limit": limit, "order_by": "-run_after"})["dag_runs"]

    def wait(self, dag_id: str, run_id: str, timeout_s: float = 3600, poll_s: float = 5) -> dict:
        """The run once it succeeded or failed (or as it is after ``timeout_s``)."""
        from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

        return Retrying(retry=retry_if_result(lambda r: r["state"] not in ("success", "failed")),
                        stop=stop_after_delay(timeout_s), wait=wait_fixed(poll_s),
                        retry_error_callback=lambda state: state.outcome.result())(self.run, dag_id, run_id)

    def close(self) -> None:
        self._http.close()


def _detail(r) -> str:
    try:
        return json.dumps(r.json().get("detail", r.json()), ensure_ascii=False)
    except ValueError:
        return r.text[:500]


def check_conf(model: str, conf: dict) -> dict:
    """Check a run conf against the same config class the DAG builds (clear errors before anything is sent).
    Only keys that are config fields are checked here; Airflow validates the Params schema too (HTTP 400)."""
    if model == "sentiment":
        from training.config import TrainConfig as Cfg
    else:
        from generation.config import GenConfig as Cfg
    Cfg.from_dict({"lake_uri": "validate-only", **{k: v for k, v in conf.items() if k in Cfg.model_fields}})
    return conf


def retrain(model: str, conf: dict, url: str | None = None, wait: bool = False) -> tuple[int, dict]:
    """Trigger the model's training DAG with ``conf`` (checked locally first); optionally wait for it."""
    dag_id = TRAINING_DAG[model]
    check_conf(model, conf)

    api = AirflowAPI(url)
    try:
        run = api.trigger(dag_id, conf)
        if wait:
            run = api.wait(dag_id, run["dag_run_id"])
    finally:
        api.close()
    out = {k: run.get(k) for k in ("dag_id", "dag_run_id", "state", "conf")}
    return (3 if out["state"] == "failed" else 0), out


def status(model: str, url: str | None = None) -> tuple[int, dict]:
    """The model's latest training runs and its registry (production, versions), over REST."""
    dag_id = TRAINING_DAG[model]

    api = AirflowAPI(url)
    try:
        runs = [{k: r.get(k) for k in ("dag_run_id", "run_type", "state", "start_date", "end_date")}
                for r in api.runs(dag_id)]
        return 0, {"dag_id": dag_id, "runs": runs, "registry": api.request("GET", f"/ugc/api/registry/{model}")}
    finally:
        api.close()
