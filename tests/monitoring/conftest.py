"""A small lake for the nightly reports: 3 normal days, a crisis day, a drifted day, and a promoted tiny model."""

from __future__ import annotations

import email
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import DAY
from tests.helpers import TINY

NORMAL = [DAY + timedelta(days=i) for i in range(3)]
CRISIS, SHIFT = DAY + timedelta(days=3), DAY + timedelta(days=4)


@pytest.fixture(scope="session")
def mon_lake(tmp_path_factory) -> dict:
    from ingestion import synth
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day
    from training import pipeline
    from training.config import TrainConfig
    from ugc import registry, storage

    root = str(tmp_path_factory.mktemp("mon"))
    landing, lake_uri = storage.join(root, "landing"), storage.join(root, "lake")
    for day, scenario in [(d, "normal") for d in NORMAL] + [(CRISIS, "crisis"), (SHIFT, "shift")]:
        synth.generate_day(landing, day, 500, seed=3, scenario=scenario)
        ingest_day(IngestConfig.from_dict({"lake_uri": lake_uri, "day": day}), storage.join(landing, f"dt={day}"))
    reg = storage.join(lake_uri, "registry", "sentiment")
    cfg = TrainConfig.from_dict({**TINY, "lake_uri": lake_uri, "days": [str(d) for d in NORMAL[:2]], "epochs": 4,
                                 "run_id": "mon"})
    cand = pipeline.train_candidate(cfg, pipeline.prepare_data(cfg)["manifest_uri"])
    registry.promote(reg, cand["version"], expected_current=None)
    return {"lake": lake_uri, "registry": reg, "version": cand["version"]}


@pytest.fixture(scope="session")
def served_repo(tmp_path_factory) -> str:
    """The model repository ``served`` deploys into (its releases outlive the server)."""
    return str(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="session")
def served(mon_lake, served_repo):
    """The promoted model deployed to a REAL tritonserver (the default variants); yields its gRPC URL."""
    from serving.config import DeployConfig
    from serving.sentiment_deploy import deploy
    from serving.server import TritonServer

    with TritonServer(served_repo) as server:
        deploy(DeployConfig(registry_uri=mon_lake["registry"], repo_uri=server.repo, triton_url=server.grpc_url))
        yield server.grpc_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """aiosmtpd on 127.0.0.1 and a JSON webhook endpoint that can be told to fail its next N requests."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.mail: list[email.message.Message] = []
        self.posts: list[dict] = []
        self.fail_next = 0
        self.requests = 0
        outer = self

        class Smtp:
            async def handle_DATA(self, server, session, envelope):
                outer.mail.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests += 1
                if outer.fail_next:
                    outer.fail_next -= 1
                    self.send_response(503)
                else:
                    outer.posts.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.smtp_port = free_port()
        self.smtp = Controller(Smtp(), hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def env(self, webhook_port: int | None = None) -> dict:
        port = webhook_port or self.http.server_address[1]
        return {"AIRFLOW_CONN_UGC_ALERTS_SMTP": json.dumps({
                    "conn_type": "smtp", "host": "127.0.0.1", "port": self.smtp_port,
                    "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "ugc@localhost",
                              "to": "ops@example.com", "retry_limit": 0}}),
                "AIRFLOW_CONN_UGC_ALERTS_WEBHOOK": json.dumps({"conn_type": "http",
                                                               "host": f"http://127.0.0.1:{port}/alerts"})}

    def mail_ids(self) -> list[str]:
        return [m["X-UGC-Alert-Id"] for m in self.mail]

    def post_ids(self) -> list[str]:
        return [p["id"] for p in self.posts]

    def close(self):
        self.smtp.stop()
        self.http.shutdown()


@pytest.fixture
def servers(monkeypatch):
    s = Servers()
    for k, v in s.env().items():
        monkeypatch.setenv(k, v)
    yield s
    s.close()
