"""How the sentiment classifier is served, in one place: published beside every python-backend model of the
``sentiment`` release (classifier.py on the CPU target; tokenizer.py and postprocess.py on the GPU target; the
generator's too, for ``compute_heap``) and imported by deploy (serving/export.py's parity tokenizer,
serving/variants.py's measurement), so what deploy checked and measured is what Triton runs. numpy at import;
tokenizers, onnxruntime or torch only inside the function that needs them.

Size limits: a request's texts are checked before anything is decoded (``checked_texts``), so a caller that
skips the client library cannot make the server tokenize megabytes.

Length buckets: the tokenizer pads every text to max_length so requests batch together, and Triton's dynamic
batcher merges requests of any lengths. Run as it is, such a batch spends most of its compute on padding (UGC
runs from a word to a paragraph). Rows are sorted by real length and run in sub-batches of similar length,
each trimmed to its own longest text; masked positions do not change a row's logits, so the answers are the
same, in the caller's order.

Routed versions (``routes.json`` and ``experts/<key>/``, see ugc/lang.py): each text goes to its language's
expert (``lang.route``, the rule ingest and training use; lang.py is published beside this file), each expert
with its own tokenizer and weights; ``Served`` hides the difference from the models that call it.
"""

import json
import os

import numpy as np


def model_args(args) -> tuple[str, dict[str, str], tuple[int, int] | None, dict]:
    """What a python-backend model's ``initialize(args)`` needs: (its version directory, its config
    parameters, its (max_text_bytes, max_request_bytes) limits, None for a model that takes no text, the
    version's label_map.json)."""
    here = os.path.join(args["model_repository"], args["model_version"])
    params = {k: v["string_value"] for k, v in json.loads(args["model_config"]).get("parameters", {}).items()}
    limits = (int(params["max_text_bytes"]), int(params["max_request_bytes"])) if "max_text_bytes" in params \
        else None
    with open(os.path.join(here, "label_map.json"), encoding="utf-8") as f:
        return here, params, limits, json.load(f)


# glibc's own ceiling for its adaptive mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX), and its trim
# threshold at twice that, as its adaptation would set them.
COMPUTE_MMAP_THRESHOLD = 32 << 20


def compute_heap(mmap_threshold: int = COMPUTE_MMAP_THRESHOLD) -> bool:
    """Let this stub's allocations below ``mmap_threshold`` reuse the heap again (glibc ``mallopt``); False where
    there is no glibc. The server starts with a 128 KB mmap threshold (serving/server.py: a refused 64 MB request
    must go back to the OS) and every stub inherits it, so each activation tensor of a forward pass became an
    mmap, page faults and munmap: torch ran the classifier 1.6x slower inside Triton than outside (409 vs 654
    texts/s, one thread, measured in bench/serve.py's texts)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
        return bool(libc.mallopt(m_mmap_threshold, mmap_threshold)) and \
            bool(libc.mallopt(m_trim_threshold, 2 * mmap_threshold))
    except (OSError, AttributeError):
        return False


def tokenizer(tokenizer_json: str, max_length: int):
    """The registered tokenizer, truncating and padding to ``max_length`` so requests batch together."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer_json)
    tok.enable_truncation(max_length)
    tok.enable_padding(length=max_length, pad_id=tok.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    return tok


def encode(tok, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), int64, one row per text."""
    enc = tok.encode_batch(texts)
    return (np.array([e.ids for e in enc], dtype=np.int64), np.array([e.attention_mask for e in enc], dtype=np.int64))


def checked_texts(raw, max_text_bytes: int, max_request_bytes: int) -> list[str]:
    """A request's TEXT values decoded, after checking the byte limits (ValueError naming the limit)."""
    sizes = [len(t) if isinstance(t, bytes) else len(str(t).encode()) for t in raw]
    if sizes and max(sizes) > max_text_bytes:
        raise ValueError(f"TEXT[{int(np.argmax(sizes))}] is {max(sizes)} bytes; the limit is {max_text_bytes}")
    if sum(sizes) > max_request_bytes:
        raise ValueError(f"request is {sum(sizes)} bytes of text; the limit is {max_request_bytes}")
    return [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in raw]


def invalid(pb_utils, message: str):
    """An INVALID_ARG error response (older stubs have no error codes: then a plain error)."""
    code = getattr(pb_utils.TritonError, "INVALID_ARG", None)
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message, *([code] if code is not None else [])))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities, computed in float64, returned as float32."""
    logits = np.asarray(logits, dtype=np.float64)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def length_runs(lengths, rows: int = 32, slack: float = 0.1, min_rows: int = 4) -> list[tuple[int, int]]:
    """[start, stop) runs over ascending ``lengths``: at most ``rows`` each, and a run of ``min_rows`` or more
    closes before a row that would make its padded tokens (rows x its longest) exceed (1 + ``slack``) x its real
    ones. Runs of a fixed 32 padded the small batches Triton merges (an expert's ~40 texts of a 64-text batch,
    mixed UGC lengths) to the widest text of each half: by padding, m3e-small ran 352 -> 414 texts/s and
    all-MiniLM 489 -> 524 on such batches, one thread, and a whole sorted day the same as before (442 -> 449,
    564 -> 565). slack 0.05-0.5 and min_rows 2-8 measured within noise of these. A loop over rows: ~0.3 s per
    million texts, against ~2 ms of model time per text."""
    out, start, real = [], 0, 0
    for i, n in enumerate(lengths):
        count = i - start + 1
        if count > rows or (count > min_rows and n * count > (1 + slack) * (real + n)):
            out.append((start, i))
            start, real = i, 0
        real += n
    if len(lengths):
        out.append((start, len(lengths)))
    return out


def run_bucketed(run, ids: np.ndarray, mask: np.ndarray, rows: int = 32, multiple: int = 1, slack: float = 0.1):
    """``run(ids, mask) -> (n, labels) logits`` (or a tuple of per-row arrays, e.g. logits and embeddings)
    applied to length-sorted sub-batches (``length_runs``: at most ``rows``, padding within ``slack``), each
    trimmed to its longest text rounded up to ``multiple``; the same shape of answer, rows in input order."""
    lengths = mask.sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    parts = []
    for s, e in length_runs(lengths[order].tolist(), rows, slack):
        idx = order[s:e]
        longest = max(int(lengths[idx].max()), 1)
        longest = min(-(-longest // multiple) * multiple, ids.shape[1])
        parts.append(run(ids[idx, :longest], mask[idx, :longest]))
    if not parts:
        return np.zeros((0, 0), np.float32)
    single = not isinstance(parts[0], tuple)
    outs = []
    for col in ([parts] if single else zip(*parts, strict=True)):
        out = np.empty((len(ids), np.shape(col[0])[1]), np.float32)
        out[order] = np.concatenate([np.asarray(c, dtype=np.float32) for c in col])
        outs.append(out)
    return outs[0] if single else tuple(outs)


def mean_pool(hidden, mask):
    """Mean of the (torch) last hidden states over real tokens: the sentence embedding drift compares, the
    arithmetic of ugc.inference.embed."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1)


def onnx_runner(path: str, threads: int = 0, spin: bool = True):
    """(run, multiple) for an ONNX graph on onnxruntime's CPU provider (``threads`` 0 = its default);
    ``run(ids, mask)`` returns logits, ``run(ids, mask, embeddings=True)`` (logits, embedding): the export's
    second output. ``spin=False``: idle pool threads sleep instead of spinning (for two sessions that take
    turns in one process, where one's spinning threads would take the cores from the other's work)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    def run(ids, mask, embeddings=False):
        out = sess.run(["logits", "embedding"] if embeddings else ["logits"], {"input_ids": ids, "attention_mask": mask})
        return tuple(out) if embeddings else out[0]

    return run, 1


def torch_bf16_runner(hf_dir: str, threads: int = 0):
    """(run, multiple) for the classifier saved in ``hf_dir``, run by torch in bf16 (AMX/AVX512-BF16 units),
    ``run`` as onnx_runner's. Lengths round up to 8 so oneDNN meets few distinct shapes and reuses its kernels."""
    import torch
    from transformers import AutoModelForSequenceClassification

    if threads:
        torch.set_num_threads(threads)
    model = AutoModelForSequenceClassification.from_pretrained(hf_dir, dtype=torch.bfloat16).eval()

    def run(ids, mask, embeddings=False):
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
        with torch.inference_mode():
            out = model(input_ids=ids, attention_mask=mask, output_hidden_states=embeddings)
            logits = out.logits.float().numpy()
            return (logits, mean_pool(out.hidden_states[-1].float(), mask).numpy()) if embeddings else logits

    return run, 8


# The cascade variant's files (serving/variants.py writes them): the int8 graph beside the fp32 one, and the
# top-two logit margin under which a row's int8 answer is not trusted.
CASCADE, INT8_ONNX = "cascade.json", "model.int8.onnx"


def top_margin(logits: np.ndarray) -> np.ndarray:
    """Each row's highest logit minus its second highest (inf for a single-label row)."""
    logits = np.asarray(logits, dtype=np.float32)
    if logits.shape[1] < 2:
        return np.full(len(logits), np.inf, np.float32)
    top2 = np.partition(logits, -2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def cascade_runner(version_dir: str, threads: int = 0):
    """(run, multiple): the int8 graph on every row, then the fp32 graph again on the rows whose int8 top-two
    margin is under ``cascade.json``'s ``margin``. A label can only differ from fp32's where int8's logit error
    spans more than that margin, and deploy calibrates the margin above the spans it measured, so the answers
    are fp32's at close to int8's cost (most UGC is far from the decision boundary). A re-run row's every output
    (logits, embedding) is fp32's."""
    with open(os.path.join(version_dir, CASCADE), encoding="utf-8") as f:
        margin = float(json.load(f)["margin"])
    fast, _ = onnx_runner(os.path.join(version_dir, INT8_ONNX), threads, spin=False)
    exact, _ = onnx_runner(os.path.join(version_dir, "model.onnx"), threads, spin=False)

    def run(ids, mask, embeddings=False):
        got = fast(ids, mask, embeddings)
        parts = list(got) if embeddings else [got]
        redo = np.flatnonzero(top_margin(parts[0]) < margin)
        if len(redo):
            again = exact(ids[redo], mask[redo], embeddings)
            for part, new in zip(parts, again if embeddings else [again], strict=True):
                part[redo] = new
        return tuple(parts) if embeddings else parts[0]

    return run, 1


def load(version_dir: str, threads: int = 0):
    """(run, multiple) for what a published version holds: hf/ (bf16 torch), cascade.json (int8 with fp32 near
    the boundary) or model.onnx (onnxruntime)."""
    hf = os.path.join(version_dir, "hf")
    if os.path.isdir(hf):
        return torch_bf16_runner(hf, threads)
    if os.path.isfile(os.path.join(version_dir, CASCADE)):
        return cascade_runner(version_dir, threads)
    return onnx_runner(os.path.join(version_dir, "model.onnx"), threads)


def _lang():
    """ugc/lang.py: published beside this file in a Triton version directory, a package module in the repo."""
    try:
        import lang  # noqa: PLC0415 - the copy in this version directory
    except ImportError:
        from ugc import lang  # noqa: PLC0415
    return lang


class Served:
    """What a published version directory classifies with: ``served(texts, embeddings)`` -> probabilities
    (float32), or (probabilities, embeddings). One classifier (tokenizer.json + model.onnx or hf/), or routed
    experts, whose embeddings stand side by side in routes.json order (zeros in the blocks of the others, as
    ugc.inference.embed computes them in-process)."""

    def __init__(self, version_dir: str, max_length: int, threads: int = 0):
        lang = _lang()
        routes = os.path.join(version_dir, lang.ROUTES)
        dirs = {None: version_dir}
        if os.path.isfile(routes):
            with open(routes, encoding="utf-8") as f:
                dirs = {k: lang.expert_dir(version_dir, k) for k in json.load(f)["experts"]}
        self.route = (lambda texts: lang.route(list(dirs), texts)) if None not in dirs else None
        self.parts = {}
        for key, d in dirs.items():
            tok = tokenizer(os.path.join(d, "tokenizer.json"), max_length)
            run, multiple = load(d, threads)
            width = None
            if self.route is not None:  # an expert's embedding block is as wide as its hidden state: ask it once
                ids, mask = encode(tok, [""])
                width = run(ids[:, :2], mask[:, :2], embeddings=True)[1].shape[1]
            self.parts[key] = (tok, run, multiple, width)

    def __call__(self, texts: list[str], embeddings: bool = False):
        if self.route is None:
            tok, run, multiple, _ = self.parts[None]
            return self._one(tok, run, multiple, texts, embeddings)
        keys = self.route(texts)
        probs, emb, col = None, None, 0
        if embeddings:
            emb = np.zeros((len(texts), sum(p[3] for p in self.parts.values())), np.float32)
        for key, (tok, run, multiple, width) in self.parts.items():
            idx = np.flatnonzero(keys == key)
            if len(idx):
                got = self._one(tok, run, multiple, [texts[i] for i in idx], embeddings)
                p = got[0] if embeddings else got
                if probs is None:
                    probs = np.zeros((len(texts), p.shape[1]), np.float32)
                probs[idx] = p
                if embeddings:
                    emb[idx, col:col + width] = got[1]
            col += width
        probs = np.zeros((0, 0), np.float32) if probs is None else probs
        return (probs, emb) if embeddings else probs

    @staticmethod
    def _one(tok, run, multiple, texts, embeddings):
        ids, mask = encode(tok, texts)
        answer = run_bucketed((lambda i, m: run(i, m, embeddings=True)) if embeddings else run, ids, mask,
                              multiple=multiple)
        return (softmax(answer[0]), answer[1]) if embeddings else softmax(answer)
