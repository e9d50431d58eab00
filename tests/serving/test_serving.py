"""Export, repository configs, and a REAL tritonserver (from nvidia-pytriton) serving over gRPC."""

import json
import os
import shutil

import numpy as np
import pytest
from google.protobuf import text_format

from serving import export, repository
from serving import sentiment_deploy as deploy_mod
from serving.config import DeployConfig
from serving.rollout import DeployError
from serving.sentiment_deploy import deploy
from serving.server import TritonServer, free_port
from ugc import registry
from ugc.sentiment_client import SentimentClient
from ugc.triton_client import ClientInputError, ServingUnavailable

pytestmark = pytest.mark.services
TEXTS = ["这个手机真的太好用了😍", "快递太慢了，再也不买了", "Love this phone, totally worth it!",
         "The delivery was late and the box was broken.", "iPhone这次真的翻车了 so bad"]


@pytest.fixture(scope="module")
def model_dir(tiny_registry, tmp_path_factory):
    return registry.fetch(tiny_registry, registry.production(tiny_registry)["version"],
                          str(tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="module")
def triton(tmp_path_factory):
    repo = str(tmp_path_factory.mktemp("model_repository"))
    with TritonServer(repo) as server:
        yield server


def test_configs_parse_and_the_ensemble_wires_real_tensors():
    import tritonclient.grpc.model_config_pb2 as mc

    parsed = {name: text_format.Parse(txt, mc.ModelConfig()) for name, txt in
              deploy_mod.configs(["negative", "neutral", "positive"], 48, "gpu").items()}
    assert set(parsed) == set(deploy_mod.MODELS)
    assert parsed["sentiment_model"].platform == "onnxruntime_onnx"
    assert parsed["sentiment_model"].instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    for c in parsed.values():
        assert c.version_policy.latest.num_versions == 2
    ens = parsed["sentiment"]
    produced = {t.name for t in ens.input}
    for step in ens.ensemble_scheduling.step:
        model = parsed[step.model_name]
        assert set(step.input_map) == {t.name for t in model.input}
        assert set(step.input_map.values()) <= produced  # every step input is produced upstream
        assert set(step.output_map) <= {t.name for t in model.output}
        produced |= set(step.output_map.values())
    assert {t.name for t in ens.output} <= produced
    assert json.loads(ens.parameters["labels"].string_value) == ["negative", "neutral", "positive"]
    with pytest.raises(ValueError, match="target"):
        deploy_mod.configs(["a", "b"], 8, "tpu")


def test_export_parity_and_a_tampered_model_is_refused(model_dir, tmp_path):
    onnx_path = export.export_onnx(model_dir, str(tmp_path / "model.onnx"))
    r = export.parity_check(model_dir, onnx_path)
    assert r["max_abs_diff"] < 1e-4 and r["label_mismatches"] == 0
    import onnx

    assert [i.name for i in onnx.load(onnx_path).graph.input] == ["input_ids", "attention_mask"]
    # Same ONNX, different torch weights: the check must fail loudly.
    bad = str(tmp_path / "bad")
    shutil.copytree(model_dir, bad)
    from safetensors.torch import load_file, save_file

    w = load_file(f"{bad}/model.safetensors")
    w["classifier.bias"] = w["classifier.bias"] + 1.0
    save_file(w, f"{bad}/model.safetensors")
    with pytest.raises(export.ParityError):
        export.parity_check(bad, onnx_path)


def test_deploy_then_classify_over_grpc_matches_torch(tiny_registry, model_dir, triton):
    # fp32: the served graph is torch's to 1e-4 (the int8 variant is judged by agreement: tests/serving/test_variants.py)
    out = deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=triton.repo, triton_url=triton.grpc_url,
                              variants=["fp32"]))
    assert out["loaded"] and out["triton_version"] >= 1 and set(out["smoke"].values()) <= {"negative", "neutral", "positive"}
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    m = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    with torch.inference_mode():
        ref = torch.softmax(m(**tok(TEXTS, padding=True, return_tensors="pt")).logits, -1).numpy()
    with SentimentClient(triton.grpc_url, batch_size=2) as c:  # 3 gRPC batches
        preds = c.classify(TEXTS)
    got = np.array([[p.probabilities[k] for k in ("negative", "neutral", "positive")] for p in preds])
    np.testing.assert_allclose(got, ref, atol=1e-4)
    # Bulk scoring sends length-sorted batches (less padding) and must still answer in the caller's order.
    mixed = TEXTS[::-1] + TEXTS
    with SentimentClient(triton.grpc_url, batch_size=2) as c:
        bulk = c.probabilities(mixed, concurrency=3)
    np.testing.assert_allclose(bulk, np.concatenate([ref[::-1], ref]), atol=1e-4)
    assert [p.label for p in preds] == [m.config.id2label[i] for i in ref.argmax(1)]


def test_a_broken_version_is_rolled_back(tiny_registry, triton, monkeypatch):
    deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=triton.repo, triton_url=triton.grpc_url))
    before = repository.versions(triton.repo, "sentiment")

    def broken_export(model_dir, out_path, opset=17):
        with open(out_path, "wb") as f:
            f.write(b"not an onnx model")
        return out_path

    monkeypatch.setattr(deploy_mod.export, "export_onnx", broken_export)
    monkeypatch.setattr(deploy_mod.export, "parity_check", lambda *a, **k: {"skipped": "test"})
    with pytest.raises(DeployError, match="rolled back"):  # fp32 only: the broken graph goes as far as Triton
        deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=triton.repo, triton_url=triton.grpc_url,
                            variants=["fp32"]))
    assert repository.versions(triton.repo, "sentiment") == before
    with SentimentClient(triton.grpc_url) as c:
        assert c.classify(["还能用吗"])[0].label in ("negative", "neutral", "positive")


@pytest.mark.parametrize("texts,msg", [
    ([], "empty"), ("one string", "list of strings"), (["ok", 3], r"texts\[1\] is int"),
    (["好" * 3000], "bytes; the limit is 8192"),
])
def test_client_rejects_bad_input_before_sending(texts, msg):
    c = SentimentClient(f"127.0.0.1:{free_port()}", labels=["negative", "positive"])
    with pytest.raises(ClientInputError, match=msg):
        c.classify(texts)


def test_client_retries_then_reports_unavailable():
    c = SentimentClient(f"127.0.0.1:{free_port()}", retries=2, backoff_s=0.01, timeout_s=1,
                        labels=["negative", "positive"])
    with pytest.raises(ServingUnavailable, match="after 3 tries"):
        c.classify(["hello"])


def test_publish_to_s3_writes_whole_versions(model_dir, s3_server, tmp_path):
    repo = f"{s3_server}/model-repo-{os.urandom(3).hex()}"
    onnx_path = export.export_onnx(model_dir, str(tmp_path / "m.onnx"))
    cfgs = deploy_mod.configs(["negative", "neutral", "positive"], 48)
    assert deploy_mod.publish(repo, model_dir, onnx_path, cfgs) == 1
    assert deploy_mod.publish(repo, model_dir, onnx_path, cfgs) == 2
    assert repository.versions(repo, "sentiment_model") == [1, 2]
    repository.remove_version(repo, 2, deploy_mod.MODELS)
    assert repository.versions(repo, "sentiment_model") == [1]


@pytest.mark.slow
def test_deploy_dag_publishes_loads_and_emits_serving_asset(tiny_registry, triton, airflow_db):
    from datetime import UTC, datetime

    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder="dags/sentiment_deploy.py").get_dag("sentiment_deploy")
    before = repository.versions(triton.repo, "sentiment")
    dr = dag.test(logical_date=datetime.now(UTC), run_conf={
        "registry_uri": tiny_registry, "repo_uri": triton.repo, "triton_url": triton.grpc_url})
    assert {ti.task_id: ti.state for ti in dr.get_task_instances()} == {"deploy": "success"}
    assert repository.versions(triton.repo, "sentiment") == before + [(before[-1] if before else 0) + 1]
    with SentimentClient(triton.grpc_url) as c:
        assert len(c.classify(["这个手机真的太好用了", "terrible"])) == 2
    # An unknown registry version fails the run without touching what is served.
    dr = dag.test(logical_date=datetime.now(UTC), run_conf={
        "registry_uri": tiny_registry, "repo_uri": triton.repo, "triton_url": triton.grpc_url, "version": "v-nope"})
    assert {ti.task_id: ti.state for ti in dr.get_task_instances()} == {"deploy": "failed"}
    assert len(repository.versions(triton.repo, "sentiment")) == len(before) + 1
