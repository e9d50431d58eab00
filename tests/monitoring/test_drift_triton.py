"""The drift report measured by the served model over gRPC (a REAL tritonserver): no torch in the process."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from monitoring import encoders
from monitoring.config import ReportConfig
from monitoring.drift import drift_report
from monitoring.scoring import ScoringUnavailable, score_day
from serving.server import free_port
from tests.monitoring.conftest import NORMAL, SHIFT
from ugc import registry, storage

pytestmark = pytest.mark.services

# Scores and drift for a normal and a shifted day with scoring=triton, in a fresh interpreter that reports
# which heavy libraries it imported on the way.
SCRIPT = """
import json, sys
from monitoring.config import ReportConfig
from monitoring.drift import drift_report
from monitoring.scoring import score_day
out = {}
for day in sys.argv[3:]:
    cfg = ReportConfig.from_dict({"lake_uri": sys.argv[1], "day": day, "triton_url": sys.argv[2],
                                  "reports_uri": REPORTS})
    score_day(cfg)
    out[day] = drift_report(cfg)
out["imported"] = [m for m in ("torch", "transformers") if m in sys.modules]
print(json.dumps(out))
"""


def _cfg(env, day, reports, **kw):
    return ReportConfig.from_dict({"lake_uri": env["lake"], "day": str(day), "reports_uri": reports, **kw})


def test_drift_over_triton_never_imports_torch_and_agrees_with_torch(mon_lake, served, served_repo, tmp_path):
    from monitoring.served import find_release

    reports = str(tmp_path / "triton")
    code = SCRIPT.replace("REPORTS", repr(reports))
    r = subprocess.run([sys.executable, "-c", code, mon_lake["lake"], served, str(NORMAL[2]), str(SHIFT)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["imported"] == []  # scoring and drift ran on gRPC, tokenizers, numpy and scipy alone
    ok, bad = got[str(NORMAL[2])], got[str(SHIFT)]
    report = json.loads(storage.read_bytes(bad["json_uri"]))
    # The release that answered names the cached reference: a re-deploy of the version (another variant, perhaps)
    # builds its own rather than comparing today's embeddings with another variant's.
    release = find_release(served_repo, mon_lake["version"])
    assert report["encoder"] == {"source": "triton", "fallback": None, "release": release}
    assert storage.exists(storage.join(reports, "_reference", mon_lake["version"], f"triton-{release}", "profile.json"))
    assert "the served model (Triton)" in storage.read_bytes(bad["html_uri"]).decode()
    # The same days measured by torch in process: the same verdicts, and the embeddings see the same shift.
    mine = {}
    for day in (NORMAL[2], SHIFT):
        cfg = _cfg(mon_lake, day, str(tmp_path / "torch"), scoring="inprocess", inprocess_model="torch",
                   inprocess_bf16=False)
        score_day(cfg)
        mine[day] = drift_report(cfg)
    assert ok["status"] != "fail" and mine[NORMAL[2]]["status"] != "fail", ok["summary"]
    assert bad["status"] == mine[SHIFT]["status"] == "fail"
    assert {"lang_psi", "length_psi", "length_ks"} <= set(bad["failed"]) & set(mine[SHIFT]["failed"])
    assert bad["values"]["embedding_domain_auc"] > ok["values"]["embedding_domain_auc"]
    for k in ("lang_psi", "length_psi", "length_ks", "platform_psi", "unk_rate_delta"):  # text-only metrics
        assert bad["values"][k] == pytest.approx(mine[SHIFT]["values"][k], abs=1e-4), k


def test_served_embeddings_are_the_registered_models_own(mon_lake, served):
    from ugc.inference import embed, load_classifier

    model_dir = registry.fetch_cached(mon_lake["registry"], mon_lake["version"])
    cfg = _cfg(mon_lake, NORMAL[0], "unused", triton_url=served)
    enc = encoders.open_encoder(cfg, mon_lake["version"], model_dir)
    texts = ["这个手机真的太好用了😍", "The delivery was late and the box was broken.", "?", "好" * 300]
    try:
        assert enc.source == "triton" and enc.fallback is None
        got = enc.embed(texts)
    finally:
        enc.close()
    model, tok, _, max_length = load_classifier(model_dir)
    want = embed(model, tok, texts, max_length)
    assert got.shape == want.shape
    # Whatever variant deploy chose (fp32 to 1e-4 in tests/serving; bf16 rounds): the same direction.
    cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() > 0.99, cos


def test_a_deployment_that_cannot_answer_falls_back_to_torch_and_says_why(mon_lake, served, tmp_path):
    cfg = _cfg(mon_lake, SHIFT, str(tmp_path / "r"), triton_url=served, triton_embedding_model="no_such_model")
    score_day(cfg)
    out = drift_report(cfg)
    report = json.loads(storage.read_bytes(out["json_uri"]))
    assert report["encoder"]["source"] == "torch" and "no_such_model" in report["encoder"]["fallback"]
    assert out["status"] == "fail"  # the report is still made, by the registered model

    class Lagging:  # a deployment still serving the previous registry version
        model = "sentiment_classifier"

        def registry_version(self):
            return "v-previous"

    why = encoders._triton_refusal(Lagging(), mon_lake["version"])
    assert "v-previous" in why and mon_lake["version"] in why
    assert encoders._triton_refusal(type("Current", (Lagging,), {"registry_version": lambda s: "v1"})(), "v1") is None


def test_scores_name_the_model_triton_served(mon_lake, served, tmp_path, monkeypatch):
    from ugc.sentiment_client import SentimentClient

    cfg = _cfg(mon_lake, NORMAL[1], str(tmp_path / "r"), triton_url=served)
    meta = score_day(cfg)
    assert (meta["model_version"], meta["production_version"]) == (mon_lake["version"], mon_lake["version"])
    # A deployment lagging a promotion: the scores say which model produced them, not which one should have.
    monkeypatch.setattr(SentimentClient, "registry_version", lambda self: "v-previous")
    meta = score_day(cfg)
    assert (meta["model_version"], meta["production_version"]) == ("v-previous", mon_lake["version"])
    saved = json.loads(storage.read_bytes(storage.join(cfg.reports, f"dt={NORMAL[1]}", "scores.json")))
    assert saved["model_version"] == "v-previous"


def test_triton_down_is_retryable(mon_lake, tmp_path):
    cfg = _cfg(mon_lake, NORMAL[0], str(tmp_path / "r"), scoring="inprocess")
    score_day(cfg)
    down = cfg.model_copy(update={"scoring": "triton", "triton_url": f"127.0.0.1:{free_port()}", "timeout_s": 2})
    with pytest.raises(ScoringUnavailable, match="scoring=inprocess"):
        drift_report(down)


def test_unk_rate_counts_unknown_tokens_of_the_registered_tokenizer(mon_lake):
    model_dir = registry.fetch_cached(mon_lake["registry"], mon_lake["version"])
    tok = encoders.registered_tokenizer(model_dir, 64)
    assert encoders.unk_rate(tok, []) == 0.0
    known = encoders.unk_rate(tok, ["the phone is good"])
    rare = encoders.unk_rate(tok, ["\U0001f9ec\U0001fa90 \U0001f9ec"])  # characters outside its vocabulary
    assert known == 0.0 and rare > 0.5
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(model_dir)  # the count drift made before, through transformers
    texts = ["这个手机真的太好用了", "lol \U0001f9ec ok", "x" * 500]
    enc = hf(texts, truncation=True, max_length=64, add_special_tokens=False)["input_ids"]
    want = sum(e.count(hf.unk_token_id) for e in enc) / sum(len(e) for e in enc)
    assert encoders.unk_rate(tok, texts) == pytest.approx(want)


def test_a_routed_model_counts_unknown_tokens_with_each_texts_expert(routed_registry):
    model_dir = registry.fetch_cached(routed_registry, registry.production(routed_registry)["version"])
    toks = encoders.registered_tokenizer(model_dir, 64)
    assert set(toks) == {"default", "en"}
    zh, en = "这个手机真的太好用了", "terrible customer service"
    assert encoders.unk_rate(toks["en"], [zh]) > 0.5  # the English vocabulary alone cannot read Chinese
    assert encoders.unk_rate(toks, [zh, en]) == 0.0  # routed, each text meets the vocabulary meant for it
    mixed = [zh, en, "\U0001f9ec\U0001fa90"]
    unk, total = (sum(encoders.unk_rate(toks[k], [t]) * len(toks[k].encode(t, add_special_tokens=False).ids)
                      for k, t in (("default", zh), ("en", en), ("default", mixed[2]))),
                  sum(len(toks[k].encode(t, add_special_tokens=False).ids)
                      for k, t in (("default", zh), ("en", en), ("default", mixed[2]))))
    assert encoders.unk_rate(toks, mixed) == pytest.approx(unk / total)


def test_drift_in_process_with_a_routed_production_model(mon_lake, routed_registry, tmp_path):
    cfg = _cfg(mon_lake, SHIFT, str(tmp_path / "r"), scoring="inprocess", registry_uri=routed_registry)
    score_day(cfg)
    r = drift_report(cfg)
    report = json.loads(storage.read_bytes(r["json_uri"]))
    assert report["model_version"] == registry.production(routed_registry)["version"]
    assert r["status"] == "fail" and {"lang_psi", "length_psi"} <= set(r["failed"])
    assert 0.5 <= r["values"]["embedding_domain_auc"] <= 1.0
