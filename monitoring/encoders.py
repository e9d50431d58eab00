"""What the drift report measures texts with: the production model's probabilities and sentence embeddings.

    triton  the served ``sentiment_classifier`` over gRPC (its ``embedding`` output, computed in the same pass
            as the probabilities by the variant deploy chose): the report's process never imports torch;
    served  the same release in this process (monitoring.served): ``scoring: inprocess`` with a deployed
            production model; each release has its own cached reference profile (the variant may differ);
    torch   the registered model in this process (fp32), when no release of it is deployed.

``scoring: triton`` measures with Triton, so the day's predictions, the reference's predictions and both
embedding samples come from one model; it falls back to torch, saying why in the report, when the deployment
cannot answer for the production version (a deploy lagging a promotion, the GPU layout that serves no
``embedding``). ``scoring: inprocess`` measures with the served release, else torch. The reference profile is
cached per model version, source and release (``triton-3``, ``served-3``, ``torch``): two sources or two releases
of one version may differ by the served variant's rounding, which the domain classifier could learn.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitoring.config import ReportConfig
from ugc import lang, registry

log = logging.getLogger(__name__)


@dataclass
class Encoder:
    source: str                                   # "triton" or "torch"
    labels: list[str]
    probs: Callable[[list[str]], np.ndarray]      # texts -> (n, labels) probabilities
    embed: Callable[[list[str]], np.ndarray]      # texts -> (n, hidden) mean-pooled embeddings
    tokenizer: object                             # tokenizers.Tokenizer (no padding), or {expert: one}
    fallback: str | None = None                   # why this is not the configured source
    release: int | None = None                    # the model repository release that answers (served, triton)
    close: Callable[[], None] = lambda: None


def registered_tokenizer(model_dir: str, max_length: int):
    """The registered tokenizer (``tokenizers``, no torch), truncating at ``max_length`` and never padding:
    what the unknown-token rate counts. A routed model: {expert key: its tokenizer}."""
    from tokenizers import Tokenizer

    routes = registry.read_routes(model_dir)
    if routes is not None:
        return {k: registered_tokenizer(lang.expert_dir(model_dir, k), max_length) for k in routes["experts"]}
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(max_length)
    tok.no_padding()
    return tok


def unk_rate(tokenizer, texts: list[str]) -> float:
    """Share of real (non-special) tokens that are the tokenizer's unknown token (a routed model's: each text
    counted by the tokenizer of the expert it goes to)."""
    unk, total = _unk_counts(tokenizer, texts)
    return unk / total if total else 0.0


def _unk_counts(tokenizer, texts: list[str]) -> tuple[int, int]:
    if isinstance(tokenizer, dict):
        keys = lang.route(list(tokenizer), texts)
        counts = [_unk_counts(tok, [t for t, k in zip(texts, keys, strict=True) if k == key])
                  for key, tok in tokenizer.items()]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)
    if not texts:
        return 0, 0
    unk = tokenizer.token_to_id(getattr(tokenizer.model, "unk_token", "[UNK]") or "[UNK]")
    ids = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    total = sum(len(e) for e in ids)
    return (sum(e.count(unk) for e in ids) if unk is not None else 0), total


def _torch(model_dir: str, fallback: str | None = None) -> Encoder:
    from ugc.inference import embed, load_classifier, predict_probs

    model, tok, labels, max_length = load_classifier(model_dir)
    return Encoder("torch", labels, lambda t: predict_probs(model, tok, t, max_length, 128),
                   lambda t: embed(model, tok, t, max_length), registered_tokenizer(model_dir, max_length), fallback)


def _inprocess(cfg: ReportConfig, version: str, model_dir: str) -> Encoder:
    """The served release in this process (scoring.open_served), else torch saying why."""
    if cfg.inprocess_model != "served":
        return _torch(model_dir)
    from monitoring.scoring import open_served

    release, why = open_served(cfg, version)
    if release is None:
        return _torch(model_dir, fallback=why)
    return Encoder("served", release.labels, release.probs, release.embed,
                   registered_tokenizer(model_dir, release.max_length), release=release.release)


def _triton_refusal(client, version: str) -> str | None:
    """Why the deployment cannot stand in for registry ``version`` (None: it can)."""
    from tritonclient.utils import InferenceServerException

    try:
        served = client.registry_version()
    except InferenceServerException as e:  # no such model (the GPU layout) or not loaded
        return f"Triton has no {client.model} to ask for embeddings ({e.message()})"
    if served != version:
        return f"Triton serves {served or 'an unrecorded version'}, production is {version}"
    return None


def open_encoder(cfg: ReportConfig, version: str, model_dir: str) -> Encoder:
    """The encoder for the day's drift report (``model_dir``: the fetched production model ``version``).
    Raises ServingUnavailable (retryable) when Triton is configured and unreachable."""
    if cfg.scoring != "triton":
        return _inprocess(cfg, version, model_dir)
    from ugc.sentiment_client import SentimentClient

    client = SentimentClient(cfg.triton_url, cfg.triton_embedding_model, cfg.timeout_s, cfg.batch_size)
    why = _triton_refusal(client, version)
    if why:
        client.close()
        log.warning("drift embeddings in process (torch): %s", why)
        return _torch(model_dir, fallback=why)
    max_length = registry.read_label_map(model_dir)["max_length"]
    labels = client.labels()

    def probs(texts):
        return client.probabilities(texts, concurrency=4) if texts else np.zeros((0, len(labels)), np.float32)

    def embed(texts):  # the probabilities come in the same pass; only the embeddings are kept
        return client.probabilities(texts, concurrency=4, embeddings=True)[1] if texts else \
            np.zeros((0, 1), np.float32)

    # The release answering: a re-deploy of the same registry version may serve another variant, whose rounding
    # the domain classifier could tell from the cached reference's, so each release gets its own reference.
    return Encoder("triton", labels, probs, embed, registered_tokenizer(model_dir, max_length), close=client.close,
                   release=client.serving_version())
