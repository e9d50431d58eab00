"""Deploy a registered sentiment classifier to Triton as the ``sentiment`` ensemble (TEXT -> probabilities, label).

CPU target, one python-backend hop (tokenizer, model and softmax in one process):
    {repo}/sentiment_classifier/config.pbtxt, <v>/model.py, runners.py, tokenizer.json, label_map.json,
                                              and model.onnx (fp32/int8), hf/ (bf16) or model.onnx +
                                              model.int8.onnx + cascade.json: the variant deploy chose;
                                              also answers ``embedding`` to callers that ask (nightly drift);
                                              a routed model: lang.py, routes.json, experts/<key>/ (tokenizer.json
                                              and variant each) in place of tokenizer.json and the weights
    {repo}/sentiment/config.pbtxt,            <v>/model.json   (ensemble of the one step)
GPU target, the model on Triton's native onnxruntime between two python steps:
    {repo}/sentiment_tokenizer/  <v>/model.py, tokenizer.json, label_map.json
    {repo}/sentiment_model/      <v>/model.onnx (platform onnxruntime_onnx, KIND_GPU)
    {repo}/sentiment_postprocess/ <v>/model.py, label_map.json
    {repo}/sentiment/            <v>/model.json

``deploy(DeployConfig, registry_version) -> dict``: fetch -> ONNX export -> parity with torch -> serving
variant chosen by measurement (serving/variants.py) -> publish version N+1 of every model -> load ->
smoke -> (rollback), the same from pytest, the CLI and Airflow.
"""

from __future__ import annotations

import json
import os
import tempfile

from serving import export, repository, rollout, variants
from serving.config import DeployConfig
from serving.triton_models.runners import CASCADE
from ugc import lang, registry
from ugc.vocab import MAX_TEXT_BYTES

LAYOUTS = {"cpu": ("sentiment_classifier", "sentiment"),
           "gpu": ("sentiment_tokenizer", "sentiment_model", "sentiment_postprocess", "sentiment")}
SMOKE = ("这个手机真的太好用了，五星好评", "Worst delivery ever, want a refund")
_CODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "triton_models")


def models(target: str) -> tuple[str, ...]:
    """The models of one release, steps before the ensemble that uses them."""
    if target not in LAYOUTS:
        raise ValueError(f"target must be cpu or gpu, got {target!r}")
    return LAYOUTS[target]


def _io(coll, name, dtype, dims):
    t = coll.add(name=name, data_type=dtype)
    t.dims.extend(dims)


def configs(labels: list[str], max_length: int, target: str = "cpu", max_batch_size: int = 64,
            env_path: str | None = None, cpu_instances: int | None = None,
            intra_op_threads: int | None = None, registry_version: str = "") -> dict[str, str]:
    """config.pbtxt text for each model of ``target``'s layout (``models(target)``); CPU instances and their
    threads default to DeployConfig's. ``registry_version`` is published as a parameter of the models callers
    address (the ensemble, the CPU classifier), so a caller can tell which registered model answers."""
    fields = DeployConfig.model_fields
    cpu_instances = fields["cpu_instances"].default if cpu_instances is None else cpu_instances
    intra_op_threads = fields["intra_op_threads"].default if intra_op_threads is None else intra_op_threads
    names = models(target)
    mc = repository.model_config()
    num_labels = len(labels)

    def base(name, backend=None, platform=None, instances=1, batching=True, kind=mc.ModelInstanceGroup.KIND_CPU):
        c = mc.ModelConfig(name=name, max_batch_size=max_batch_size)
        if backend:
            c.backend = backend
        if platform:
            c.platform = platform
        c.version_policy.latest.num_versions = 2  # the live version and the one to roll back to
        if batching:
            c.dynamic_batching.preferred_batch_size.extend([8, 16, 32])
            c.dynamic_batching.max_queue_delay_microseconds = 2000
        if platform != "ensemble":
            c.instance_group.add(kind=kind, count=instances)
        if backend == "python" and env_path:
            c.parameters["EXECUTION_ENV_PATH"].string_value = env_path
        return c

    def limits(c):
        # Checked inside the model before decoding (the client checks the same first): see triton_models/.
        c.parameters["max_text_bytes"].string_value = str(MAX_TEXT_BYTES)
        c.parameters["max_request_bytes"].string_value = str(MAX_TEXT_BYTES * max_batch_size)
        _io(c.input, "TEXT", mc.TYPE_STRING, [1])

    def outputs(c):
        _io(c.output, "probabilities", mc.TYPE_FP32, [num_labels])
        _io(c.output, "label", mc.TYPE_STRING, [1])

    def describe(c):  # clients read the probability order and the registered version here
        c.parameters["labels"].string_value = json.dumps(list(labels))
        c.parameters["registry_version"].string_value = registry_version

    steps, out = [], []
    if target == "cpu":
        clf = base("sentiment_classifier", backend="python", instances=cpu_instances)
        clf.parameters["intra_op_threads"].string_value = str(intra_op_threads)  # read by classifier.py
        limits(clf)
        outputs(clf)
        describe(clf)
        _io(clf.output, "embedding", mc.TYPE_FP32, [-1])  # hidden size: the model's own
        steps.append(("sentiment_classifier", {"TEXT": "TEXT"}, {"probabilities": "probabilities", "label": "label"}))
        out.append(clf)
    else:
        tok = base("sentiment_tokenizer", backend="python", instances=2)
        limits(tok)
        _io(tok.output, "input_ids", mc.TYPE_INT64, [max_length])
        _io(tok.output, "attention_mask", mc.TYPE_INT64, [max_length])
        model = base("sentiment_model", platform="onnxruntime_onnx", kind=mc.ModelInstanceGroup.KIND_GPU)
        _io(model.input, "input_ids", mc.TYPE_INT64, [-1])
        _io(model.input, "attention_mask", mc.TYPE_INT64, [-1])
        _io(model.output, "logits", mc.TYPE_FP32, [num_labels])
        _io(model.output, "embedding", mc.TYPE_FP32, [-1])
        w = model.model_warmup.add(name="zeros", batch_size=8)
        for name in ("input_ids", "attention_mask"):
            w.inputs[name].data_type = mc.TYPE_INT64
            w.inputs[name].dims.extend([max_length])
            w.inputs[name].zero_data = True
        post = base("sentiment_postprocess", backend="python")
        _io(post.input, "logits", mc.TYPE_FP32, [num_labels])
        outputs(post)
        steps += [("sentiment_tokenizer", {"TEXT": "TEXT"}, {"input_ids": "_ids", "attention_mask": "_mask"}),
                  ("sentiment_model", {"input_ids": "_ids", "attention_mask": "_mask"}, {"logits": "_logits"}),
                  ("sentiment_postprocess", {"logits": "_logits"}, {"probabilities": "probabilities", "label": "label"})]
        out += [tok, model, post]
    ens = base("sentiment", platform="ensemble", batching=False)
    _io(ens.input, "TEXT", mc.TYPE_STRING, [1])
    outputs(ens)
    describe(ens)
    for name, inp, outp in steps:
        s = ens.ensemble_scheduling.step.add(model_name=name, model_version=-1)
        s.input_map.update(inp)
        s.output_map.update(outp)
    out.append(ens)
    assert tuple(c.name for c in out) == names
    return {c.name: repository.to_text(c) for c in out}


def _version_files(model_dir: str, served: str | dict[str, str], target: str) -> dict[str, dict[str, str]]:
    """model -> {relative file name in the version dir: local source path}. ``served``: an ONNX file, the
    directory of the bf16 variant (published under hf/) or of the cascade (its files published as they are);
    for a routed model, expert key -> any of them."""
    lm, tj = os.path.join(model_dir, registry.LABEL_MAP), os.path.join(model_dir, "tokenizer.json")
    runners = os.path.join(_CODE, "runners.py")  # tokenizer, limits, softmax: one copy for every python step
    if target == "gpu":
        return {"sentiment_tokenizer": {"model.py": os.path.join(_CODE, "tokenizer.py"), "runners.py": runners,
                                        "tokenizer.json": tj, "label_map.json": lm},
                "sentiment_model": {"model.onnx": served},
                "sentiment_postprocess": {"model.py": os.path.join(_CODE, "postprocess.py"), "runners.py": runners,
                                          "label_map.json": lm},
                "sentiment": {}}

    def weights(path: str, prefix: str = "") -> dict[str, str]:
        if os.path.isfile(os.path.join(path, CASCADE)):  # both graphs and the margin, beside the tokenizer
            return {f"{prefix}{f}": os.path.join(path, f) for f in sorted(os.listdir(path))}
        if os.path.isdir(path):
            return {f"{prefix}hf/{f}": os.path.join(path, f) for f in sorted(os.listdir(path))}
        return {f"{prefix}model.onnx": path}

    files = {"model.py": os.path.join(_CODE, "classifier.py"), "runners.py": runners, "label_map.json": lm}
    if isinstance(served, dict):  # routed: the routing rule travels with the experts it routes to
        files.update({"lang.py": lang.__file__, lang.ROUTES: os.path.join(model_dir, lang.ROUTES)})
        for key, path in served.items():
            prefix = lang.expert_dir("", key) + "/"  # experts/<key>/ inside the version directory
            files.update({f"{prefix}tokenizer.json": os.path.join(lang.expert_dir(model_dir, key), "tokenizer.json"),
                          **weights(path, prefix)})
    else:
        files.update({"tokenizer.json": tj, **weights(served)})
    return {"sentiment_classifier": files, "sentiment": {}}


def publish(repo: str, model_dir: str, served: str | dict[str, str], cfgs: dict[str, str], target: str = "cpu",
            meta: dict | None = None) -> int:
    """Write version N+1 of every model (configs first: they only name tensors both versions share)."""
    names = models(target)
    version = repository.next_version(repo, names)
    files = _version_files(model_dir, served, target)
    for name in names:
        repository.write_config(repo, name, cfgs[name])
        body = repository.read_files(files[name])
        if name == "sentiment":
            body["model.json"] = json.dumps(meta or {}, indent=1).encode()  # which registry version this is
        repository.write_version(repo, name, version, body)
    return version


def _smoke(cfg: DeployConfig, labels: list[str]) -> dict:
    from ugc.sentiment_client import SentimentClient

    with SentimentClient(cfg.triton_url, timeout_s=30) as sc:
        preds = sc.classify(list(SMOKE))
    for p in preds:
        if p.label not in labels or abs(sum(p.probabilities.values()) - 1) > 1e-3:
            raise rollout.DeployError(f"smoke inference returned nonsense: {p}")
    return {t: p.label for t, p in zip(SMOKE, preds, strict=True)}


def _eval_rows(cfg: DeployConfig, card: dict) -> tuple[list[str], list[str], list[str]]:
    if cfg.target == "cpu" and set(cfg.variants) - {"fp32"}:
        return variants.eval_rows(cfg.registry_uri, card, cfg.variant_eval_rows)
    return [], [], []


def _prepare(cfg: DeployConfig, card: dict, model_dir: str, tmp: str,
             rows: tuple[list[str], list[str], list[str]] | None = None) -> tuple[str, dict]:
    """(what to serve, {parity, variants}) of one classifier directory: ONNX export, parity with torch (raises
    ParityError), then the fastest variant that keeps its accuracy on ``rows`` (default: the model's test rows)."""
    os.makedirs(tmp, exist_ok=True)
    onnx_path = export.export_onnx(model_dir, f"{tmp}/model.onnx")
    parity = export.parity_check(model_dir, onnx_path, atol=cfg.parity_atol)
    texts, truth, sources = rows if rows is not None else _eval_rows(cfg, card)
    if not texts:  # fp32 only, or no test row for this expert: nothing to judge a faster variant by
        return onnx_path, {"parity": parity, "variants": None}
    served, chosen = variants.choose(model_dir, onnx_path, tmp, texts, truth, cfg.variants, cfg.min_agreement,
                                     cfg.max_f1_drop, threads=cfg.intra_op_threads, cascade_safety=cfg.cascade_safety,
                                     sources=sources, slice_min_rows=cfg.variant_slice_min_rows,
                                     batch=cfg.max_batch_size)
    return served, {"parity": parity, "variants": chosen}


def _variant(record: dict) -> str:
    """The variant a _prepare record serves (fp32 where none was measured)."""
    return record["variants"]["served"] if record["variants"] else "fp32"


def experts_of(result: dict) -> dict[str, dict]:
    """Each served graph's {parity, variants} record: a routed model's per expert, a single model's as the
    ``default`` expert, so callers (the DAG, the demo, bench/serve.py) read one shape."""
    if "experts" in result:
        return result["experts"]
    return {lang.DEFAULT_EXPERT: {"parity": result["parity"], "variants": result["variants"]}}


def summary(result: dict) -> dict:
    """The deploy record in brief (an XCom, a log line): versions, smoke, the worst parity gap of any expert
    and the variant each expert serves."""
    ex = experts_of(result)
    return {**{k: v for k, v in result.items() if k not in ("parity", "variants", "experts")},
            "parity_max_abs_diff": max(e["parity"]["max_abs_diff"] for e in ex.values()),
            "variants": {k: _variant(e) for k, e in ex.items()}}


def deploy(cfg: DeployConfig, version: str | None = None) -> dict:
    """Publish registry ``version`` (default: production) as a new Triton version; roll back on failure."""
    labels: list[str] = []

    def build(model_dir: str, card: dict) -> tuple[int, dict]:
        label_map = registry.read_label_map(model_dir)
        labels.extend(label_map["labels"])
        routes = registry.read_routes(model_dir)
        if routes is not None and cfg.target != "cpu":
            raise rollout.DeployError(f"{card['version']} routes texts to experts by language, which the {cfg.target} "
                                      "layout (one ONNX graph between two python steps) cannot: deploy it to the "
                                      "cpu target")
        with tempfile.TemporaryDirectory(prefix="ugc-onnx-") as tmp:
            if routes is None:
                served, record = _prepare(cfg, card, model_dir, tmp)
                variant = _variant(record)
            else:  # every expert exported, parity-checked and measured on the test rows routed to it
                texts, truth, sources = _eval_rows(cfg, card)
                keys = lang.route(routes["experts"], texts) if texts else []
                served, record = {}, {"experts": {}}
                for key in routes["experts"]:
                    idx = [i for i, k in enumerate(keys) if k == key]
                    served[key], record["experts"][key] = _prepare(
                        cfg, card, lang.expert_dir(model_dir, key), os.path.join(tmp, key),
                        ([texts[i] for i in idx], [truth[i] for i in idx], [sources[i] for i in idx]))
                variant = {k: _variant(r) for k, r in record["experts"].items()}
            cfgs = configs(label_map["labels"], label_map["max_length"], cfg.target, cfg.max_batch_size,
                           cpu_instances=cfg.cpu_instances, intra_op_threads=cfg.intra_op_threads,
                           registry_version=card["version"])
            tv = publish(cfg.repo_uri, model_dir, served, cfgs, cfg.target,
                         meta={"registry_version": card["version"], "registry_uri": cfg.registry_uri,
                               "variant": variant})
        return tv, record

    return rollout.deploy(cfg, version, models(cfg.target), build, lambda _v: _smoke(cfg, labels))
