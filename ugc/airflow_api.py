"""Platform engineers' retrain triggers: a small client for Airflow's REST API (v2) and the /ugc plugin.

    ugc retrain [--model sentiment|generator] [--base-model M] [--epochs N] [--lr X] [--conf JSON] [--wait]
    ugc status  [--model sentiment|generator]

Connection: UGC_AIRFLOW_URL (default http://127.0.0.1:8080), UGC_AIRFLOW_USER (default admin) and
UGC_AIRFLOW_PASSWORD, else the password in the platform's generated passwords file
(``ugc platform up`` writes {AIRFLOW_HOME}/secrets/passwords.json). A bearer token comes from POST /auth/token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

TRAINING_DAGS = {"sentiment": "sentiment_training", "generator": "generation_training"}


class ApiError(RuntimeError):
    def __init__(self, status: int, detail):
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail = status, detail


class ConfRejected(ApiError):
    """Airflow refused the run's conf (400): nothing was queued."""


def _password(user: str) -> str:
    if os.environ.get("UGC_AIRFLOW_PASSWORD"):
        return os.environ["UGC_AIRFLOW_PASSWORD"]
    from ugc.platform import ROOT

    home = os.environ.get("AIRFLOW_HOME") or os.path.join(ROOT, "airflow_home")
    try:
        with open(os.path.join(home, "secrets", "passwords.json")) as f:
            return json.load(f)[user]
    except (OSError, KeyError) as e:
        raise ApiError(401, f"no password for {user!r}: set UGC_AIRFLOW_PASSWORD") from e


class AirflowAPI:
    def __init__(self, url: str | None = None, user: str | None = None, password: str | None = None,
                 timeout_s: float = 30.0):
        import httpx

        self.url = (url or os.environ.get("UGC_AIRFLOW_URL") or "http://127.0.0.1:8080").rstrip("/")
        self.user = user or os.environ.get("UGC_AIRFLOW_USER") or "admin"
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
        deadline = time.time() + timeout_s
        while True:
            r = self.run(dag_id, run_id)
            if r["state"] in ("success", "failed") or time.time() > deadline:
                return r
            time.sleep(poll_s)

    def close(self) -> None:
        self._http.close()


def _detail(r) -> str:
    try:
        return json.dumps(r.json().get("detail", r.json()), ensure_ascii=False)
    except ValueError:
        return r.text[:500]


def retrain_conf(model: str, a) -> dict:
    """The run conf from CLI flags, checked against the same config class the DAG builds (clear errors first)."""
    conf = json.loads(a.conf) if a.conf else {}
    for key in ("base_model", "epochs", "lr", "batch_size", "max_steps", "method", "lake_uri"):
        if getattr(a, key, None) is not None:
            conf[key] = getattr(a, key)
    if model == "sentiment":
        from training.config import TrainConfig as Cfg
    else:
        from generation.config import GenConfig as Cfg
    # Only keys that are config fields are checked here; Airflow validates the Params schema too (400).
    fields = Cfg.__dataclass_fields__
    Cfg.from_dict({"lake_uri": "validate-only", **{k: v for k, v in conf.items() if k in fields}})
    return conf


def main(argv: list[str] | None = None, command: str = "retrain") -> int:
    ap = argparse.ArgumentParser(prog=f"ugc {command}", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=sorted(TRAINING_DAGS), default="sentiment")
    ap.add_argument("--url", help="Airflow api-server (default UGC_AIRFLOW_URL or http://127.0.0.1:8080)")
    if command == "retrain":
        ap.add_argument("--base-model", dest="base_model")
        ap.add_argument("--epochs", type=int)
        ap.add_argument("--lr", type=float)
        ap.add_argument("--batch-size", dest="batch_size", type=int)
        ap.add_argument("--max-steps", dest="max_steps", type=int)
        ap.add_argument("--method", choices=("lora", "full"))
        ap.add_argument("--lake", dest="lake_uri")
        ap.add_argument("--conf", help="extra conf as JSON (any of the DAG's Params)")
        ap.add_argument("--wait", action="store_true", help="wait for the run to finish")
    a = ap.parse_args(argv)
    import httpx

    from ugc.errors import ConfigError

    api = AirflowAPI(a.url)
    dag_id = TRAINING_DAGS[a.model]
    try:
        if command == "retrain":
            run = api.trigger(dag_id, retrain_conf(a.model, a))
            if a.wait:
                run = api.wait(dag_id, run["dag_run_id"])
            out = {k: run.get(k) for k in ("dag_id", "dag_run_id", "state", "conf")}
        else:
            out = {"dag_id": dag_id, "runs": [{k: r.get(k) for k in ("dag_run_id", "run_type", "state", "start_date",
                                                                       "end_date")} for r in api.runs(dag_id)],
                   "registry": api.request("GET", f"/ugc/api/registry/{a.model}")}
    except (ConfigError, ValueError) as e:  # json errors included
        print(f"ugc {command}: invalid conf: {e}", file=sys.stderr)
        return 2
    except ConfRejected as e:
        print(f"ugc {command}: Airflow rejected the conf (nothing queued): {e}", file=sys.stderr)
        return 2
    except (ApiError, OSError, httpx.HTTPError) as e:
        print(f"ugc {command}: {e}", file=sys.stderr)
        return 1
    finally:
        api.close()
    print(json.dumps(out, indent=1, ensure_ascii=False, default=str))
    return 0 if out.get("state") != "failed" else 3
