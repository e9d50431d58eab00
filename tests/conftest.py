"""Shared fixtures: an isolated Airflow home (SQLite) and a real S3-compatible server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import tempfile
from datetime import date

import pytest

# Airflow reads its configuration at import time, so the isolated home must exist before any
# test module imports airflow.
_AF_HOME = tempfile.mkdtemp(prefix="ugc-airflow-")
os.environ.update({
    "AIRFLOW_HOME": _AF_HOME,
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(os.path.dirname(os.path.dirname(__file__)), "dags"),
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "GX_ANALYTICS_ENABLED": "false",
})

DAY = date(2026, 11, 20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3-compatible HTTP server, reached over real sockets through boto3."""
    from moto.server import ThreadedMotoServer

    from ugc import storage

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"UGC_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    storage.ensure_bucket("s3://ugc-test")
    yield "s3://ugc-test"
    server.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path):
    """A storage root on local disk and on the S3 server, for tests that must pass on both."""
    if request.param == "local":
        return str(tmp_path)
    bucket = request.getfixturevalue("s3_server")
    return f"{bucket}/{request.node.name.replace('[', '_').replace(']', '')}-{os.urandom(4).hex()}"


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils import db

    db.initdb()
    return _AF_HOME


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory) -> str:
    """Two generated days (~1,000 labelled posts), ingested once; tests only read it."""
    from tests.helpers import build_lake

    return build_lake(str(tmp_path_factory.mktemp("lake")))


@pytest.fixture(scope="session")
def routed_registry(small_lake, tmp_path_factory):
    """A promoted tiny routed model: English texts to an all-MiniLM-architecture expert, the rest to m3e-small's."""
    from tests.helpers import TINY
    from training import pipeline
    from training.config import TrainConfig
    from ugc import registry

    reg = str(tmp_path_factory.mktemp("routed-registry"))
    cfg = TrainConfig.from_dict({**TINY, "lake_uri": small_lake, "registry_uri": reg, "epochs": 2, "run_id": "routed",
                                 "experts": {"en": "all-minilm-l6-v2"}})
    cand = pipeline.train_candidate(cfg, pipeline.prepare_data(cfg)["manifest_uri"])
    registry.promote(reg, cand["version"], expected_current=None)
    return reg
