"""Triton model repository layout for the sentiment ensemble, config.pbtxt generation, atomic publishing.

    {repo}/sentiment_tokenizer/config.pbtxt, <v>/model.py, tokenizer.json, label_map.json
    {repo}/sentiment_model/config.pbtxt,     <v>/model.onnx (+ model.py on the CPU target)
    {repo}/sentiment_postprocess/config.pbtxt, <v>/model.py, label_map.json
    {repo}/sentiment/config.pbtxt,           <v>/   (ensemble: TEXT -> probabilities, label)

Every publish writes version <v> of all four under one number. Locally, each version directory is
staged beside the repository and renamed into place (atomic); on S3, files are uploaded and the
version is only loaded (explicit model control) after the last upload, so Triton never sees it half-written.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

from google.protobuf import text_format

from ugc import storage

log = logging.getLogger(__name__)
MODELS = ("sentiment_tokenizer", "sentiment_model", "sentiment_postprocess", "sentiment")
_CODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "triton_models")


def _mc():
    import tritonclient.grpc.model_config_pb2 as mc

    return mc


def _io(coll, name, dtype, dims):
    t = coll.add(name=name, data_type=dtype)
    t.dims.extend(dims)


def configs(labels: list[str], max_length: int, target: str = "cpu", max_batch_size: int = 64,
            env_path: str | None = None) -> dict[str, str]:
    """config.pbtxt text for each model. ``target``: cpu (python+onnxruntime) or gpu (native onnxruntime)."""
    if target not in ("cpu", "gpu"):
        raise ValueError(f"target must be cpu or gpu, got {target!r}")
    import json

    mc = _mc()
    num_labels = len(labels)
    kind = mc.ModelInstanceGroup.KIND_GPU if target == "gpu" else mc.ModelInstanceGroup.KIND_CPU
    out = {}

    def base(name, backend=None, platform=None, instances=1, batching=True):
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
            c.instance_group.add(kind=kind if name == "sentiment_model" else mc.ModelInstanceGroup.KIND_CPU,
                                 count=instances)
        if backend == "python" and env_path:
            c.parameters["EXECUTION_ENV_PATH"].string_value = env_path
        return c

    tok = base("sentiment_tokenizer", backend="python", instances=2)
    _io(tok.input, "TEXT", mc.TYPE_STRING, [1])
    _io(tok.output, "input_ids", mc.TYPE_INT64, [max_length])
    _io(tok.output, "attention_mask", mc.TYPE_INT64, [max_length])
    model = (base("sentiment_model", platform="onnxruntime_onnx") if target == "gpu"
             else base("sentiment_model", backend="python"))
    _io(model.input, "input_ids", mc.TYPE_INT64, [-1])
    _io(model.input, "attention_mask", mc.TYPE_INT64, [-1])
    _io(model.output, "logits", mc.TYPE_FP32, [num_labels])
    w = model.model_warmup.add(name="zeros", batch_size=8)
    for name in ("input_ids", "attention_mask"):
        w.inputs[name].data_type = mc.TYPE_INT64
        w.inputs[name].dims.extend([max_length])
        w.inputs[name].zero_data = True
    post = base("sentiment_postprocess", backend="python")
    _io(post.input, "logits", mc.TYPE_FP32, [num_labels])
    _io(post.output, "probabilities", mc.TYPE_FP32, [num_labels])
    _io(post.output, "label", mc.TYPE_STRING, [1])
    ens = base("sentiment", platform="ensemble", batching=False)
    _io(ens.input, "TEXT", mc.TYPE_STRING, [1])
    _io(ens.output, "probabilities", mc.TYPE_FP32, [num_labels])
    _io(ens.output, "label", mc.TYPE_STRING, [1])
    ens.parameters["labels"].string_value = json.dumps(list(labels))  # clients read the probability order here
    steps = [("sentiment_tokenizer", {"TEXT": "TEXT"}, {"input_ids": "_ids", "attention_mask": "_mask"}),
             ("sentiment_model", {"input_ids": "_ids", "attention_mask": "_mask"}, {"logits": "_logits"}),
             ("sentiment_postprocess", {"logits": "_logits"}, {"probabilities": "probabilities", "label": "label"})]
    for name, inp, outp in steps:
        s = ens.ensemble_scheduling.step.add(model_name=name, model_version=-1)
        s.input_map.update(inp)
        s.output_map.update(outp)
    for c in (tok, model, post, ens):
        out[c.name] = text_format.MessageToString(c)
    return out


def versions(repo: str, model: str = "sentiment") -> list[int]:
    return sorted(int(v) for v in storage.list_dirs(storage.join(repo, model)) if v.isdigit())


def _version_files(model_dir: str, onnx_path: str, target: str) -> dict[str, dict[str, str]]:
    """model -> {relative file name in the version dir: local source path}."""
    lm, tj = os.path.join(model_dir, "label_map.json"), os.path.join(model_dir, "tokenizer.json")
    model_files = {"model.onnx": onnx_path}
    if target == "cpu":
        model_files["model.py"] = os.path.join(_CODE, "onnx_runner.py")
    return {"sentiment_tokenizer": {"model.py": os.path.join(_CODE, "tokenizer.py"), "tokenizer.json": tj,
                                    "label_map.json": lm},
            "sentiment_model": model_files,
            "sentiment_postprocess": {"model.py": os.path.join(_CODE, "postprocess.py"), "label_map.json": lm},
            "sentiment": {}}


def publish(repo: str, model_dir: str, onnx_path: str, cfgs: dict[str, str], target: str = "cpu",
            meta: dict | None = None) -> int:
    """Write version N+1 of every model (configs first: they only name tensors both versions share)."""
    import json

    version = max([0, *[v for m in MODELS for v in versions(repo, m)]]) + 1
    files = _version_files(model_dir, onnx_path, target)
    for name in MODELS:
        storage.write_bytes(storage.join(repo, name, "config.pbtxt"), cfgs[name].encode())
        body = {rel: open(src, "rb").read() for rel, src in files[name].items()}
        if name == "sentiment":
            body["model.json"] = json.dumps(meta or {}, indent=1).encode()  # which registry version this is
        write_version(repo, name, version, body)
    return version


def write_version(repo: str, name: str, version: int, body: dict[str, bytes]) -> None:
    """Write {repo}/{name}/{version}/ from {relative path: bytes}: locally staged then renamed (atomic),
    on S3 uploaded before anyone is told to load it."""
    if storage.is_s3(repo):
        for rel, data in body.items():
            storage.write_bytes(storage.join(repo, name, str(version), rel), data)
        return
    os.makedirs(os.path.join(repo, name), exist_ok=True)
    stage = tempfile.mkdtemp(prefix=f".stage-{name}-", dir=os.path.join(repo, name))
    for rel, data in body.items():
        os.makedirs(os.path.dirname(os.path.join(stage, rel)), exist_ok=True)
        with open(os.path.join(stage, rel), "wb") as f:
            f.write(data)
    os.chmod(stage, 0o755)
    os.rename(stage, os.path.join(repo, name, str(version)))  # the version appears whole or not at all


def activate_or_roll_back(repo: str, version: int, models: tuple[str, ...], load_and_smoke, error_cls):
    """``load_and_smoke(version)``; on failure delete that version, bring the newest remaining one back
    and raise ``error_cls`` (saying whether the rollback worked too)."""
    try:
        return load_and_smoke(version)
    except Exception as e:
        log.error("version %d of %s failed (%s); rolling back", version, models, e)
        remove_version(repo, version, models)
        remaining = versions(repo, models[-1])
        if remaining:
            try:
                load_and_smoke(remaining[-1])
            except Exception as e2:  # noqa: BLE001 (report both)
                raise error_cls(f"version {version} failed ({e}) and the rollback failed too ({e2})") from e
        raise error_cls(f"version {version} failed and was rolled back: {e}") from e


def remove_version(repo: str, version: int, models: tuple[str, ...] = MODELS) -> None:
    """Delete version ``version`` of every model in ``models`` (rollback of a failed publish)."""
    for name in models:
        d = storage.join(repo, name, str(version))
        if storage.is_s3(repo):
            for f in storage.list_files(d):
                storage.delete(f)
        else:
            shutil.rmtree(d, ignore_errors=True)
