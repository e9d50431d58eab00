"""Run Airflow the way production does: PostgreSQL metadata DB, LocalExecutor or CeleryExecutor + Redis.

    ugc platform up   [--mode local|celery] [--home DIR] [--port 8080] [--db-url URL] [--broker URL]
    ugc platform down [--home DIR]
    ugc platform env  [...]            print the environment (source it to use the `airflow` CLI)

``up`` creates the database if missing, runs ``airflow db migrate``, creates ``gpu_pool``, then starts
api-server, scheduler, dag-processor and triggerer (celery mode: plus a worker on queue ``default``
and one started with ``--queues gpu`` that takes only GPU tasks). Each is a real Airflow process with
its pid in {home}/run and its log in {home}/logs; nothing here schedules anything itself.
Secrets (JWT secret, passwords) are generated into {home}, never written in code.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from ugc import settings
from ugc.config import Config
from ugc.settings import ROOT

DEFAULT_DB = "postgresql+psycopg2://postgres@127.0.0.1:5432/ugc_airflow"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


class PlatformConfig(Config):
    what = "platform"
    mode: Literal["local", "celery"] = Field("local", description="LocalExecutor, or CeleryExecutor + Redis")
    home: str = Field(os.path.join(ROOT, "airflow_home"), description="AIRFLOW_HOME: config, logs, pids, secrets")
    port: int = Field(8080, ge=1, le=65535, description="api-server port")
    db_url: str = Field(DEFAULT_DB, description="metadata database (created when missing)")
    broker_url: str = Field(DEFAULT_BROKER, description="Celery broker")
    gpu_slots: int = Field(1, ge=1, description="gpu_pool size: GPU tasks that may run at once")
    extra_env: dict[str, str] = Field(default_factory=dict, description="e.g. UGC_LAKE_URI for the DAGs and the plugin")

    def components(self) -> dict[str, list[str]]:
        procs = {"api-server": ["api-server", "--port", str(self.port)], "scheduler": ["scheduler"],
                 "dag-processor": ["dag-processor"], "triggerer": ["triggerer"]}
        if self.mode == "celery":
            procs["worker-default"] = ["celery", "worker", "--queues", "default", "--concurrency", "2",
                                       "--celery-hostname", "default@%h"]
            procs["worker-gpu"] = ["celery", "worker", "--queues", "gpu", "--concurrency", str(self.gpu_slots),
                                   "--celery-hostname", "gpu@%h"]
        return procs


def _secret(home: str, name: str) -> str:
    path = os.path.join(home, "secrets", name)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(32))
    with open(path) as f:
        return f.read().strip()


def passwords_file(home: str) -> str:
    """SimpleAuthManager's users (admin, and ops with the 'op' role); generated once per home."""
    path = os.path.join(home, "secrets", "passwords.json")
    if not os.path.exists(path):
        _secret(home, "jwt")  # creates the directory
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            json.dump({"admin": secrets.token_urlsafe(12), "ops": secrets.token_urlsafe(12)}, f)
    return path


def airflow_env(cfg: PlatformConfig) -> dict[str, str]:
    base = f"http://127.0.0.1:{cfg.port}"
    env = {
        "AIRFLOW_HOME": cfg.home,
        "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(ROOT, "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": os.path.join(ROOT, "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",  # never inherit a test runner's setting
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if cfg.mode == "celery" else "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": cfg.db_url,
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__PORT": str(cfg.port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(cfg.home, "jwt"),  # shared by every component
        "AIRFLOW__API__SECRET_KEY": _secret(cfg.home, "api"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,ops:op",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": passwords_file(cfg.home),
        "AIRFLOW__CELERY__BROKER_URL": cfg.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + cfg.db_url,
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": "default",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p),
    }
    return {**env, **{k: str(v) for k, v in cfg.extra_env.items()}}


def _admin_sql(db_url: str, statements) -> None:
    """Run ``statements(cursor, db_name)`` on the server's ``postgres`` database (CREATE/DROP DATABASE
    cannot run inside the database itself, nor in a transaction)."""
    import psycopg2

    u = urlsplit(db_url.replace("+psycopg2", ""))
    conn = psycopg2.connect(host=u.hostname or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                            password=u.password, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            statements(cur, u.path.lstrip("/"))
    finally:
        conn.close()


def ensure_database(db_url: str) -> None:
    """CREATE DATABASE for the metadata DB when it does not exist (PostgreSQL only)."""
    def create(cur, name):
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')

    _admin_sql(db_url, create)


def drop_database(db_url: str) -> None:
    _admin_sql(db_url, lambda cur, name: cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Platform:
    """``with Platform(cfg) as p: p.url`` starts every component and stops all of them on exit."""

    def __init__(self, cfg: PlatformConfig):
        self.cfg = cfg
        os.makedirs(os.path.join(cfg.home, "run"), exist_ok=True)
        os.makedirs(os.path.join(cfg.home, "logs"), exist_ok=True)
        self.env = {**os.environ, **airflow_env(cfg)}
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.cfg.port}"

    def airflow(self, *args: str, timeout: float = 600) -> str:
        r = subprocess.run([os.path.join(os.path.dirname(sys.executable), "airflow"), *args], env=self.env,
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
        return r.stdout

    def start_component(self, name: str) -> None:
        args = self.cfg.components()[name]
        log = open(os.path.join(self.cfg.home, "logs", f"{name}.log"), "ab")
        # Workers say which queues they serve (tasks and logs can show where they ran).
        env = {**self.env, settings.WORKER_QUEUES.name: args[args.index("--queues") + 1]} if "--queues" in args \
            else self.env
        p = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "airflow"), *args], env=env,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = p
        with open(os.path.join(self.cfg.home, "run", f"{name}.pid"), "w") as f:
            f.write(str(p.pid))

    def kill_component(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one component's whole process group (fault tests: a crashed scheduler or worker)."""
        p = self.procs.pop(name)
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        p.wait(timeout=60)

    def start(self, timeout: float = 300) -> Platform:
        if self.cfg.db_url.startswith("postgresql"):
            ensure_database(self.cfg.db_url)
        self.airflow("db", "migrate")
        self.airflow("pools", "set", "gpu_pool", str(self.cfg.gpu_slots), "GPU workers (queue gpu)")
        for name in self.cfg.components():
            self.start_component(name)
        self.wait_healthy(timeout)
        return self

    def health(self) -> dict | None:
        """The api-server's health JSON (None while it is not answering); a dead component raises."""
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}; see {self.cfg.home}/logs/{name}.log")
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def wait_healthy(self, timeout: float = 300) -> dict:
        from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

        def unhealthy(h) -> bool:
            return not h or not all(h.get(c, {}).get("status") == "healthy" for c in ("metadatabase", "scheduler"))

        try:
            return Retrying(retry=retry_if_result(unhealthy), stop=stop_after_delay(timeout), wait=wait_fixed(1))(
                self.health)
        except RetryError as e:
            raise RuntimeError(f"platform not healthy after {timeout}s: {e.last_attempt.result()}") from None

    def stop(self) -> None:
        # Signal whole process groups: task processes started by LocalExecutor/Celery live in them.
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for name, p in list(self.procs.items()):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            # The leader exiting is not enough: a task process in its group may still be shutting down.
            if not group_gone(p.pid, timeout=30):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                group_gone(p.pid, timeout=10)
            self.procs.pop(name)
        for f in os.listdir(os.path.join(self.cfg.home, "run")):
            os.remove(os.path.join(self.cfg.home, "run", f))

    def __enter__(self) -> Platform:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def group_gone(pgid: int, timeout: float) -> bool:
    """Wait until no process is left in group ``pgid``; False if some still are after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def stop_from_pidfiles(home: str) -> list[str]:
    """``ugc platform down``: SIGTERM every recorded component's process group."""
    stopped = []
    run = os.path.join(home, "run")
    for f in sorted(os.listdir(run)) if os.path.isdir(run) else []:
        with open(os.path.join(run, f)) as fh:
            pid = int(fh.read())
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped.append(f[:-4])
        except ProcessLookupError:
            pass
        os.remove(os.path.join(run, f))
    return stopped
