"""Deploy the production sentiment model to Triton: export -> parity -> publish -> load -> smoke (-> rollback).

Runs whenever ``sentiment_training`` promotes a model (Asset ``sentiment_model_production``), and on demand:

    airflow dags trigger sentiment_deploy --conf '{"version": "v20261122T101500-1a2b3c4d"}'

One task on purpose: publish, load and rollback must happen together, so a failure anywhere leaves
the previous version serving. A failed parity check or smoke test fails the run without retry.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from ugc.dag_defaults import default_args

_ROOT = Path(__file__).resolve().parents[1]
SENTIMENT_PRODUCTION = Asset("sentiment_model_production")
SENTIMENT_SERVING = Asset("sentiment_serving")


@dag(
    dag_id="sentiment_deploy",
    schedule=[SENTIMENT_PRODUCTION],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two deploys must not interleave their publish/load/rollback
    default_args=default_args(retries=0),
    dagrun_timeout=timedelta(hours=1),
    tags=["ugc", "serving", "triton"],
    params={
        "registry_uri": Param(os.environ.get("UGC_REGISTRY_URI", str(_ROOT / "data" / "lake" / "registry" / "sentiment")),
                              type="string"),
        "repo_uri": Param(os.environ.get("UGC_MODEL_REPOSITORY", str(_ROOT / "model_repository")), type="string",
                          description="Triton model repository (directory or s3://)"),
        "triton_url": Param(os.environ.get("UGC_TRITON_GRPC_URL", ""), type="string",
                            description="host:port of Triton's gRPC endpoint; empty = publish without loading"),
        "target": Param("cpu", enum=["cpu", "gpu"]),
        "version": Param(None, type=["null", "string"], description="registry version; default: the promoted one"),
    },
    doc_md=__doc__,
)
def sentiment_deploy():
    @task(execution_timeout=timedelta(minutes=30), outlets=[SENTIMENT_SERVING])
    def deploy(params=None, triggering_asset_events=None) -> dict:
        from serving.deploy import DeployConfig, DeployError, deploy
        from serving.export import ParityError
        from training.registry import RegistryError

        events = [e for evs in (triggering_asset_events or {}).values() for e in evs]
        version = params["version"] or (events[-1].extra.get("version") if events else None)
        cfg = DeployConfig(params["registry_uri"], params["repo_uri"], params["triton_url"], params["target"])
        try:
            result = deploy(cfg, version)
        except (DeployError, ParityError, RegistryError) as e:
            raise AirflowFailException(str(e)) from e
        get_current_context()["outlet_events"][SENTIMENT_SERVING].extra = {
            k: result[k] for k in ("registry_version", "triton_version", "loaded")}
        return {k: v for k, v in result.items() if k != "parity"} | {"parity_max_abs_diff": result["parity"]["max_abs_diff"]}

    deploy()


sentiment_deploy()
