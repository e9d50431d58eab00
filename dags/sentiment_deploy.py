"""Deploy the production sentiment model to Triton: export -> parity -> publish -> load -> smoke (-> rollback).

Runs whenever ``sentiment_training`` promotes a model (Asset ``sentiment_model_production``), and on demand:

    airflow dags trigger sentiment_deploy --conf '{"version": "v20261122T101500-1a2b3c4d"}'

One task on purpose: publish, load and rollback must happen together, so a failure anywhere leaves
the previous version serving. A failed parity check or smoke test fails the run without retry.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from ops import dagkit
from serving.config import DeployConfig
from ugc import assets, registry, settings

SENTIMENT_PRODUCTION = dagkit.asset(assets.SENTIMENT_PRODUCTION)
SENTIMENT_SERVING = dagkit.asset(assets.SENTIMENT_SERVING)

PARAMS = {
    **dagkit.params(DeployConfig, ["registry_uri", "repo_uri", "triton_url", "target"], {
        "registry_uri": settings.REGISTRY_URI.get(registry.registry_uri(settings.LAKE_URI.get(), "sentiment")),
        "repo_uri": settings.MODEL_REPOSITORY.get(), "triton_url": settings.TRITON_GRPC_URL.get("")}),
    "version": Param(None, type=["null", "string"], description="registry version; default: the promoted one"),
}


@dag(
    dag_id="sentiment_deploy",
    schedule=[SENTIMENT_PRODUCTION],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two deploys must not interleave their publish/load/rollback
    default_args=dagkit.default_args(retries=0),
    dagrun_timeout=timedelta(hours=1),
    tags=["ugc", "serving", "triton"],
    params=PARAMS,
    doc_md=__doc__,
)
def sentiment_deploy():
    @task(execution_timeout=timedelta(minutes=30), outlets=[SENTIMENT_SERVING])
    def deploy(params=None, triggering_asset_events=None) -> dict:
        from serving.export import ParityError
        from serving.rollout import DeployError
        from serving.sentiment_deploy import deploy, summary
        from ugc.errors import ConfigError
        from ugc.registry import RegistryError

        events = [e for evs in (triggering_asset_events or {}).values() for e in evs]
        version = params["version"] or (events[-1].extra.get("version") if events else None)
        with dagkit.non_retryable(DeployError, ParityError, RegistryError, ConfigError):
            result = deploy(dagkit.build_config(DeployConfig, params), version)
        get_current_context()["outlet_events"][SENTIMENT_SERVING].extra = {
            k: result[k] for k in ("registry_version", "triton_version", "loaded")}
        return summary(result)

    deploy()


sentiment_deploy()
