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
from ugc import registry, storage
from ugc.inference import cpu_bf16
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


@pytest.mark.parametrize("target", ["cpu", "gpu"])
def test_configs_parse_and_the_ensemble_wires_real_tensors(target):
    import tritonclient.grpc.model_config_pb2 as mc

    parsed = {name: text_format.Parse(txt, mc.ModelConfig()) for name, txt in
              deploy_mod.configs(["negative", "neutral", "positive"], 48, target).items()}
    assert tuple(parsed) == deploy_mod.models(target)
    if target == "gpu":
        assert parsed["sentiment_model"].platform == "onnxruntime_onnx"
        assert parsed["sentiment_model"].instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    else:  # one python hop: text in, probabilities and label out, size limits checked inside
        clf = parsed["sentiment_classifier"]
        assert clf.backend == "python" and len(parsed["sentiment"].ensemble_scheduling.step) == 1
        assert int(clf.parameters["max_text_bytes"].string_value) == 8192
        # One single-threaded instance per core by default (over-subscribed threads served 3-5x less).
        assert (clf.instance_group[0].count, clf.parameters["intra_op_threads"].string_value) == (2, "1")
        other = text_format.Parse(deploy_mod.configs(["a", "b"], 8, "cpu", cpu_instances=4, intra_op_threads=0)[
            "sentiment_classifier"], mc.ModelConfig())
        assert (other.instance_group[0].count, other.parameters["intra_op_threads"].string_value) == (4, "0")
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
    # The classifier step also answers embeddings to a caller that asks (nightly drift): torch's own, in order;
    # both models name the registered version they serve.
    from ugc.inference import embed

    with SentimentClient(triton.grpc_url, "sentiment_classifier", batch_size=2) as c:
        probs, emb = c.probabilities(mixed, concurrency=3, embeddings=True)
        assert c.registry_version() == registry.production(tiny_registry)["version"]
    np.testing.assert_allclose(probs, bulk, atol=1e-6)
    np.testing.assert_allclose(emb, embed(m, tok, mixed, registry.read_label_map(model_dir)["max_length"]), atol=1e-4)
    with SentimentClient(triton.grpc_url) as c:
        assert c.registry_version() == registry.production(tiny_registry)["version"]
        from tritonclient.utils import InferenceServerException

        with pytest.raises(InferenceServerException, match="embedding"):  # the ensemble does not carry it
            c.probabilities(TEXTS, embeddings=True)


@pytest.mark.skipif(not cpu_bf16(), reason="bf16 is measured and served only on a CPU with AMX/AVX512-BF16")
def test_the_bf16_variant_is_served_by_torch_inside_triton(tiny_registry, model_dir, triton, monkeypatch):
    # Served whatever its measured speed (the choice itself: tests/serving/test_variants.py).
    monkeypatch.setattr(deploy_mod.variants, "pick", lambda measured, *a: "bf16")
    out = deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=triton.repo, triton_url=triton.grpc_url,
                              variants=["fp32", "bf16"], variant_eval_rows=50))
    assert out["variants"]["served"] == "bf16" and out["loaded"]
    files = repository.tree(storage.join(triton.repo, "sentiment_classifier", str(out["triton_version"])))
    assert {"model.py", "runners.py", "tokenizer.json", "hf/config.json", "hf/model.safetensors"} <= set(files)
    assert "model.onnx" not in files
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    served = storage.join(triton.repo, "sentiment_classifier", str(out["triton_version"]), "hf", "model.safetensors")
    assert {w.dtype for w in load_file(served).values()} == {torch.bfloat16}
    m = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    with torch.inference_mode():
        ref = torch.softmax(m(**tok(TEXTS, padding=True, return_tensors="pt")).logits, -1).numpy()
    with SentimentClient(triton.grpc_url, batch_size=2) as c:
        got = c.probabilities(TEXTS[::-1] + TEXTS, concurrency=3)
    # bf16 keeps 8 bits of mantissa: probabilities within 0.02 of fp32 torch, in the caller's order.
    np.testing.assert_allclose(got, np.concatenate([ref[::-1], ref]), atol=0.02)
    from ugc.inference import embed

    with SentimentClient(triton.grpc_url, "sentiment_classifier", batch_size=2) as c:
        _, emb = c.probabilities(TEXTS, embeddings=True)
    want = embed(m, tok, TEXTS, registry.read_label_map(model_dir)["max_length"])
    cos = (emb * want).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() > 0.995, cos


def test_the_cascade_variant_is_served_inside_triton(tiny_registry, model_dir, triton, monkeypatch):
    """int8 with fp32 on the rows near the boundary: Triton answers what the published files answer in process
    (the same runners.py on the same batch), with torch's labels."""
    from serving.triton_models import runners

    monkeypatch.setattr(deploy_mod.variants, "pick", lambda measured, *a: "cascade")
    out = deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=triton.repo, triton_url=triton.grpc_url,
                              variants=["fp32", "cascade"], variant_eval_rows=80))
    assert out["variants"]["served"] == "cascade" and out["loaded"] and "int8" not in out["variants"]["variants"]
    version = storage.join(triton.repo, "sentiment_classifier", str(out["triton_version"]))
    assert {"model.onnx", "model.int8.onnx", "cascade.json", "tokenizer.json"} <= set(repository.tree(version))
    margin = json.loads(storage.read_bytes(storage.join(version, "cascade.json")))["margin"]
    assert margin == out["variants"]["variants"]["cascade"]["margin"] > 0
    max_length = registry.read_label_map(model_dir)["max_length"]
    with SentimentClient(triton.grpc_url, batch_size=len(TEXTS)) as c:  # one request: the batch deploy would see
        got = np.array([[p.probabilities[k] for k in ("negative", "neutral", "positive")] for p in c.classify(TEXTS)])
    served = runners.Served(version, max_length, 1)
    np.testing.assert_allclose(got, served(TEXTS), atol=1e-5)
    # Hostile texts take the same two graphs: a lone symbol, control and zero-width characters, a truncated
    # over-long text (under the 8 KB limit), a replacement character; one request, the same answers as in
    # process, all finite.
    odd = ["?", "\x00\x07\u200b\u202e", "好" * 2700, "a\ufffdb", "😀" * 50, "[PHONE] [EMAIL]"]
    with SentimentClient(triton.grpc_url, batch_size=len(odd)) as c:
        probs = c.probabilities(odd)
    assert np.isfinite(probs).all() and np.allclose(probs.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(probs, served(odd), atol=1e-5)
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    m = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    with torch.inference_mode():
        ref = torch.softmax(m(**tok(TEXTS, padding=True, return_tensors="pt")).logits, -1).numpy()
    assert (got.argmax(1) == ref.argmax(1)).all()


def test_the_gpu_targets_python_steps_tokenize_limit_and_softmax_in_triton(model_dir, tmp_path):
    # The GPU target's model step needs Triton's onnxruntime backend (not in the wheel); its two python steps run
    # here on the CPU, called one by one: they share runners.py with the CPU classifier.
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    labels = ["negative", "neutral", "positive"]
    max_length = registry.read_label_map(model_dir)["max_length"]
    onnx_path = export.export_onnx(model_dir, str(tmp_path / "m.onnx"))
    with TritonServer(str(tmp_path / "repo")) as server:
        deploy_mod.publish(server.repo, model_dir, onnx_path, deploy_mod.configs(labels, max_length, "gpu"), "gpu")
        c = grpcclient.InferenceServerClient(server.grpc_url)
        for m in ("sentiment_tokenizer", "sentiment_postprocess"):
            c.load_model(m)

        def call(model, name, arr, dtype, outs):
            inp = grpcclient.InferInput(name, list(arr.shape), dtype)
            inp.set_data_from_numpy(arr)
            r = c.infer(model, [inp])
            return [r.as_numpy(o) for o in outs]

        text = np.array([t.encode() for t in TEXTS], dtype=object).reshape(-1, 1)
        ids, mask = call("sentiment_tokenizer", "TEXT", text, "BYTES", ["input_ids", "attention_mask"])
        want = export.tokenize_like_triton(f"{model_dir}/tokenizer.json", TEXTS, max_length)
        np.testing.assert_array_equal(ids, want[0])
        np.testing.assert_array_equal(mask, want[1])
        with pytest.raises(InferenceServerException, match="bytes; the limit is 8192"):
            call("sentiment_tokenizer", "TEXT", np.array([b"x" * 9000], dtype=object).reshape(-1, 1), "BYTES", [])
        logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 5.0]], np.float32)
        probs, label = call("sentiment_postprocess", "logits", logits, "FP32", ["probabilities", "label"])
        z = np.exp(logits - logits.max(1, keepdims=True))
        np.testing.assert_allclose(probs, z / z.sum(1, keepdims=True), rtol=1e-6)
        assert [x.decode() for x in label.reshape(-1)] == ["negative", "positive"]
        c.close()


def test_a_broken_version_is_rolled_back(tiny_registry, triton, monkeypatch):
    deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=triton.repo, triton_url=triton.grpc_url))
    before = repository.versions(triton.repo, "sentiment")
    configs = {m: storage.read_bytes(storage.join(triton.repo, m, "config.pbtxt")) for m in deploy_mod.models("cpu")}

    def broken_export(model_dir, out_path, opset=17):
        with open(out_path, "wb") as f:
            f.write(b"not an onnx model")
        return out_path

    monkeypatch.setattr(deploy_mod.export, "export_onnx", broken_export)
    monkeypatch.setattr(deploy_mod.export, "parity_check", lambda *a, **k: {"skipped": "test"})
    with pytest.raises(DeployError, match="rolled back"):  # fp32 only: the broken graph goes as far as Triton
        deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=triton.repo, triton_url=triton.grpc_url,
                            variants=["fp32"], max_batch_size=16))  # a release that also changes every config
    assert repository.versions(triton.repo, "sentiment") == before
    # The configs the live version was served with come back too.
    assert {m: storage.read_bytes(storage.join(triton.repo, m, "config.pbtxt")) for m in configs} == configs
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
    assert repository.versions(repo, "sentiment_classifier") == [1, 2]
    repository.remove_version(repo, 2, deploy_mod.models("cpu"))
    assert repository.versions(repo, "sentiment_classifier") == [1]


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
