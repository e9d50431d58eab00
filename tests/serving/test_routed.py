"""A routed model (experts by language) deployed to a REAL tritonserver: each text answered by its expert."""

import json

import numpy as np
import pytest

from serving import repository
from serving.config import DeployConfig
from serving.rollout import DeployError
from serving.sentiment_deploy import deploy, summary
from serving.server import TritonServer
from ugc import lang, registry, storage
from ugc.inference import embed, load_classifier, predict_probs
from ugc.sentiment_client import SentimentClient

pytestmark = pytest.mark.services
TEXTS = ["这个手机真的太好用了😍", "Love this phone, totally worth it!", "快递太慢了，再也不买了",
         "The delivery was late and the box was broken.", "iPhone这次真的翻车了 so bad", "😀😀😀", "I love 北京 so much"]


@pytest.fixture(scope="module")
def triton(tmp_path_factory):
    with TritonServer(str(tmp_path_factory.mktemp("model_repository"))) as server:
        yield server


def test_each_text_is_answered_by_its_languages_expert(routed_registry, triton, tmp_path):
    out = deploy(DeployConfig(registry_uri=routed_registry, repo_uri=triton.repo, triton_url=triton.grpc_url,
                              variants=["fp32"]))
    assert out["loaded"] and set(out["experts"]) == {"default", "en"}
    assert all(e["parity"]["label_mismatches"] == 0 for e in out["experts"].values())
    files = set(repository.tree(storage.join(triton.repo, "sentiment_classifier", str(out["triton_version"]))))
    assert {"model.py", "runners.py", "lang.py", "routes.json", "label_map.json", "experts/default/tokenizer.json",
            "experts/default/model.onnx", "experts/en/tokenizer.json", "experts/en/model.onnx"} <= files
    model_dir = registry.fetch(routed_registry, registry.production(routed_registry)["version"], str(tmp_path / "m"))
    model, tok, labels, max_length = load_classifier(model_dir)
    keys = lang.route(["default", "en"], TEXTS)
    assert set(keys) == {"default", "en"}
    ref = predict_probs(model, tok, TEXTS, max_length)
    with SentimentClient(triton.grpc_url, batch_size=3) as c:
        got = c.probabilities(TEXTS[::-1] + TEXTS, concurrency=2)
    np.testing.assert_allclose(got, np.concatenate([ref[::-1], ref]), atol=1e-4)
    # The experts really differ: each text's answer is its own expert's, not the other's.
    other = {"default": "en", "en": "default"}
    for i, k in enumerate(keys):
        m, t, _, _ = load_classifier(lang.expert_dir(model_dir, other[k]))
        assert np.abs(predict_probs(m, t, [TEXTS[i]], max_length)[0] - ref[i]).max() > 1e-4
    with SentimentClient(triton.grpc_url, "sentiment_classifier", batch_size=3) as c:
        probs, emb = c.probabilities(TEXTS, embeddings=True)
    np.testing.assert_allclose(probs, ref, atol=1e-4)
    np.testing.assert_allclose(emb, embed(model, tok, TEXTS, max_length), atol=1e-4)


def test_each_expert_gets_its_own_variant_judged_on_its_own_rows(routed_registry, triton):
    out = deploy(DeployConfig(registry_uri=routed_registry, repo_uri=triton.repo, triton_url=triton.grpc_url,
                              variants=["fp32", "int8"], variant_eval_rows=120))
    rows = {k: e["variants"]["rows"] for k, e in out["experts"].items()}
    assert rows["default"] > 0 and rows["en"] > 0 and sum(rows.values()) == 120
    # The brief record the DAG returns as its XCom (and the demo prints): the variant each expert serves and the
    # worst parity gap of any of them.
    brief = json.loads(json.dumps(summary(out)))
    assert brief["variants"] == {k: e["variants"]["served"] for k, e in out["experts"].items()}
    assert brief["parity_max_abs_diff"] == max(e["parity"]["max_abs_diff"] for e in out["experts"].values())
    assert brief["loaded"] and "experts" not in brief
    with SentimentClient(triton.grpc_url) as c:
        assert [p.label for p in c.classify(TEXTS)] and c.registry_version() == \
            registry.production(routed_registry)["version"]


def test_the_gpu_layout_refuses_a_routed_model(routed_registry, tmp_path):
    with pytest.raises(DeployError, match="routes texts to experts"):
        deploy(DeployConfig(registry_uri=routed_registry, repo_uri=str(tmp_path), triton_url="127.0.0.1:1",
                            target="gpu"))


def test_the_deploy_dag_serves_a_routed_model(routed_registry, triton, airflow_db):
    """The demo's default model is routed: the DAG's task must publish it and return its brief record (it once
    failed on the single-model record's `parity` key)."""
    from datetime import UTC, datetime

    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder="dags/sentiment_deploy.py").get_dag("sentiment_deploy")
    dr = dag.test(logical_date=datetime.now(UTC), run_conf={
        "registry_uri": routed_registry, "repo_uri": triton.repo, "triton_url": triton.grpc_url})
    (ti,) = dr.get_task_instances()
    assert ti.state == "success"
    brief = ti.xcom_pull(task_ids="deploy")
    assert set(brief["variants"]) == {"default", "en"} and brief["parity_max_abs_diff"] < 1e-3
    with SentimentClient(triton.grpc_url) as c:
        assert c.registry_version() == brief["registry_version"]
    with pytest.raises(RuntimeError, match="is closed"):  # a closed client says so, and closing again is harmless
        c.classify(["still there?"])
    c.close()
