"""Airflow names, defined once: the Assets (data events) that connect the DAGs, and the training DAG ids.

Plain strings: DAG files wrap them in ``airflow.sdk.Asset``; the library never imports airflow.

    ugc_ingest.validate          --UGC_CLEAN-->             sentiment_training
    nightly_reports.drift_alert  --DRIFT_ALERT-->           sentiment_training
    sentiment_training.promote   --SENTIMENT_PRODUCTION-->  sentiment_deploy
    sentiment_deploy.deploy      --SENTIMENT_SERVING-->     (services, dashboards)
    generation_training.promote  --GENERATOR_PRODUCTION-->  (generation_training.publish runs in the same DAG)
"""

from __future__ import annotations

# A validated lake partition: extra = {partition_uri, day, rows, quarantined, snapshot_id}.
UGC_CLEAN = "ugc_clean"
# A failed nightly drift check: extra = {day, failed, values, model_version, report, lake_uri, registry_uri}.
DRIFT_ALERT = "drift_alert"
# A promoted sentiment model: extra = {version, previous, registry_uri}.
SENTIMENT_PRODUCTION = "sentiment_model_production"
# A sentiment model serving in Triton: extra = {registry_version, triton_version, loaded}.
SENTIMENT_SERVING = "sentiment_serving"
# A promoted generation model: extra = {version, registry_uri}.
GENERATOR_PRODUCTION = "generator_model_production"

ALL = (UGC_CLEAN, DRIFT_ALERT, SENTIMENT_PRODUCTION, SENTIMENT_SERVING, GENERATOR_PRODUCTION)

# The DAG that trains each registry's model (operators trigger it; editing it is the right to promote).
TRAINING_DAG = {"sentiment": "sentiment_training", "generator": "generation_training"}
