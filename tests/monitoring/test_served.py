"""In-process scoring with the release deploy published (monitoring/served.py): the served variant's answers
without Triton and without torch; torch, saying why, where the repository holds no release of the model."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from monitoring.config import ReportConfig
from monitoring.drift import drift_report
from monitoring.scoring import score_day
from monitoring.served import NoRelease, find_release, open_release
from tests.monitoring.conftest import NORMAL, SHIFT
from ugc import lake, storage

HOSTILE = ["这个手机真的太好用了😍", "The delivery was late and the box was broken.", "?", "好" * 300, "",
           "\u200b\u200b", "a\x00b\x07c", "🔥" * 40, "Ünïcödé ⚠️ 退款!!!", "x " * 4000]


def _cfg(env, day, reports, **kw):
    return ReportConfig.from_dict({"lake_uri": env["lake"], "day": str(day), "reports_uri": reports,
                                   "scoring": "inprocess", **kw})


def _release(repo: str, n: int, registry_version: str, classifier: bool = True) -> None:
    """A release's bookkeeping files only (what find_release reads)."""
    os.makedirs(f"{repo}/sentiment/{n}", exist_ok=True)
    with open(f"{repo}/sentiment/{n}/model.json", "w") as f:
        json.dump({"registry_version": registry_version}, f)
    if classifier:
        os.makedirs(f"{repo}/sentiment_classifier/{n}", exist_ok=True)
        open(f"{repo}/sentiment_classifier/{n}/runners.py", "w").close()


@pytest.fixture(scope="module")
def fp32_repo(mon_lake, tmp_path_factory) -> str:
    """The production model published as deploy publishes it, serving its fp32 graph (no Triton: publish only).
    fp32 answers a row the same whatever rows share its batch; int8's activation scale is the batch's, so its
    answers move with the company a row keeps (below)."""
    from serving import export
    from serving.sentiment_deploy import configs, publish
    from ugc import registry

    model_dir = registry.fetch_cached(mon_lake["registry"], mon_lake["version"])
    repo, tmp = str(tmp_path_factory.mktemp("fp32repo")), str(tmp_path_factory.mktemp("onnx"))
    label_map = registry.read_label_map(model_dir)
    publish(repo, model_dir, export.export_onnx(model_dir, f"{tmp}/model.onnx"),
            configs(label_map["labels"], label_map["max_length"], registry_version=mon_lake["version"]),
            meta={"registry_version": mon_lake["version"], "variant": "fp32"})
    return repo


def test_the_newest_cpu_release_of_the_version_is_found_and_nothing_else(tmp_path):
    repo = str(tmp_path / "repo")
    with pytest.raises(NoRelease, match="holds no CPU release of v2"):
        find_release(repo, "v2")  # no repository yet
    _release(repo, 1, "v1")
    _release(repo, 2, "v2")
    _release(repo, 3, "v1")
    _release(repo, 4, "v2", classifier=False)  # the GPU layout: no classifier step to run in process
    os.makedirs(f"{repo}/sentiment/.stage-sentiment-x")  # a publish in progress is never a release
    (tmp_path / "repo/sentiment/5").mkdir()  # a release without model.json names no registry version
    assert find_release(repo, "v1") == 3
    assert find_release(repo, "v2") == 2
    shutil.rmtree(f"{repo}/sentiment_classifier/2")
    with pytest.raises(NoRelease, match=r"releases \[2, 4\] have no sentiment_classifier step"):
        find_release(repo, "v2")
    with pytest.raises(NoRelease, match="no model repository"):
        find_release("", "v1")


def test_without_a_release_inprocess_scoring_falls_back_to_torch_and_says_why(mon_lake, tmp_path):
    cfg = _cfg(mon_lake, NORMAL[0], str(tmp_path / "r"), model_repository=str(tmp_path / "empty"),
               inprocess_bf16=False)
    how = score_day(cfg)["inprocess"]
    assert how["model"] == "torch" and how["dtype"] == "fp32"
    assert mon_lake["version"] in how["fallback"] and "no CPU release" in how["fallback"]
    report = json.loads(storage.read_bytes(drift_report(cfg)["json_uri"]))
    assert report["encoder"]["source"] == "torch" and "no CPU release" in report["encoder"]["fallback"]


# Scores and drift with scoring=inprocess against the deployed repository, in a fresh interpreter that reports
# which heavy libraries it imported on the way.
SCRIPT = """
import json, sys
from monitoring.config import ReportConfig
from monitoring.drift import drift_report
from monitoring.scoring import score_day
out = {}
for day in sys.argv[3:]:
    cfg = ReportConfig.from_dict({"lake_uri": sys.argv[1], "day": day, "scoring": "inprocess",
                                  "model_repository": sys.argv[2], "reports_uri": REPORTS})
    out[day] = {"scores": score_day(cfg), "drift": drift_report(cfg)}
out["imported"] = [m for m in ("torch", "transformers") if m in sys.modules]
print(json.dumps(out, default=str))
"""


@pytest.mark.services
def test_inprocess_scoring_runs_the_served_release_and_answers_as_triton(mon_lake, served, served_repo, tmp_path):
    from ugc.sentiment_client import SentimentClient

    reports = str(tmp_path / "r")
    r = subprocess.run([sys.executable, "-c", SCRIPT.replace("REPORTS", repr(reports)), mon_lake["lake"],
                        served_repo, str(NORMAL[2]), str(SHIFT)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    release = find_release(served_repo, mon_lake["version"])
    assert got["imported"] == [] or json.loads(storage.read_bytes(
        f"{served_repo}/sentiment/{release}/model.json"))["variant"] == "bf16"  # only the bf16 variant runs torch
    how = got[str(NORMAL[2])]["scores"]["inprocess"]
    assert how["model"] == "served" and how["release"] == release and how["instances"] >= 1
    # The same posts through Triton. Deploy chose the variant by measurement; an int8 graph quantises each
    # batch's activations with one scale, so a row's answer moves slightly with the rows batched beside it
    # (Triton's merged requests here, length-sorted slices of the whole day in process). Within that rounding
    # the answers are the same, and so is every label not decided by it.
    scores = pq.read_table(io.BytesIO(storage.read_bytes(got[str(NORMAL[2])]["scores"]["scores_uri"])))
    texts = lake.read_partition(lake.partition_uri(mon_lake["lake"], NORMAL[2]), columns=["text"])["text"]
    with SentimentClient(served) as c:
        labels = c.labels()
        want = c.probabilities(texts.to_pylist())
    mine = np.stack([scores[f"p_{lab}"].to_numpy() for lab in labels], 1)
    np.testing.assert_allclose(mine, want, atol=0.01)
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.02
    assert clear.sum() > len(want) // 2
    assert (mine.argmax(1) == want.argmax(1))[clear].all()
    # Drift measured by the release too, with its own cached reference, and the shift still caught.
    drift = json.loads(storage.read_bytes(got[str(SHIFT)]["drift"]["json_uri"]))
    assert drift["encoder"] == {"source": "served", "fallback": None, "release": release}
    assert storage.exists(storage.join(reports, "_reference", mon_lake["version"], f"served-{release}", "profile.json"))
    assert got[str(NORMAL[2])]["drift"]["status"] != "fail" and got[str(SHIFT)]["drift"]["status"] == "fail"
    assert {"lang_psi", "length_psi"} <= set(got[str(SHIFT)]["drift"]["failed"])


def test_the_release_answers_as_the_registered_model_and_copies_keep_the_callers_order(mon_lake, fp32_repo):
    from ugc import registry
    from ugc.inference import embed, load_classifier, predict_probs

    one = open_release(fp32_repo, mon_lake["version"], instances=1)
    two = open_release(fp32_repo, mon_lake["version"], instances=2)
    assert (one.release, one.variant, len(two.copies)) == (1, "fp32", 2)
    # Distinct texts of every length, so a row answered out of place would show.
    texts = [t for i in range(40) for t in HOSTILE[:9] + [f"第{i}条 post number {i} 太差了 " * (i % 7 + 1)]]
    assert len(texts) >= 256  # past the size at which the copies split the work
    model, tok, labels, max_length = load_classifier(registry.fetch_cached(mon_lake["registry"], mon_lake["version"]))
    want_p, want_e = predict_probs(model, tok, texts, max_length), embed(model, tok, texts, max_length)
    assert one.labels == labels
    for release in (one, two):
        np.testing.assert_allclose(release.probs(texts), want_p, atol=1e-5)
        np.testing.assert_allclose(release.embed(texts), want_e, atol=1e-4)
    assert one.probs([]).shape == (0, len(labels)) and two.embed([]).shape[0] == 0


def test_inprocess_scoring_uses_the_release_and_its_drift_reference(mon_lake, fp32_repo, tmp_path):
    cfg = _cfg(mon_lake, SHIFT, str(tmp_path / "r"), model_repository=fp32_repo, inprocess_instances=2)
    how = score_day(cfg)["inprocess"]
    assert how == {"model": "served", "release": 1, "variant": "fp32", "instances": 2}
    report = json.loads(storage.read_bytes(drift_report(cfg)["json_uri"]))
    assert report["encoder"] == {"source": "served", "fallback": None, "release": 1}
    assert report["status"] == "fail" and {"lang_psi", "length_psi"} <= set(report["failed"])
    assert storage.exists(storage.join(cfg.reports, "_reference", mon_lake["version"], "served-1", "profile.json"))
    # torch asked for by name: the registered weights, and a reference profile of their own
    torch_cfg = cfg.model_copy(update={"inprocess_model": "torch", "inprocess_bf16": False})
    assert score_day(torch_cfg)["inprocess"] == {"model": "torch", "dtype": "fp32"}
    assert json.loads(storage.read_bytes(drift_report(torch_cfg)["json_uri"]))["encoder"]["source"] == "torch"


@pytest.mark.services
def test_a_release_on_s3_is_fetched_once_and_answers_as_the_local_one(mon_lake, fp32_repo, s3_server, tmp_path,
                                                                       monkeypatch):
    from ugc import settings

    monkeypatch.setenv(settings.MODEL_CACHE.name, str(tmp_path / "cache"))
    repo = f"{s3_server}/served-repo"
    for path in storage.list_files(fp32_repo):
        storage.write_bytes(repo + path[len(fp32_repo):], storage.read_bytes(path))
    local = open_release(fp32_repo, mon_lake["version"], instances=1)
    remote = open_release(repo, mon_lake["version"], instances=1)
    assert remote.release == local.release
    np.testing.assert_array_equal(remote.probs(HOSTILE), local.probs(HOSTILE))
    fetched = [d for d in (tmp_path / "cache" / "triton").rglob("runners.py")]
    assert len(fetched) == 1 and not list((tmp_path / "cache" / "triton").rglob(".fetch-*"))
    before = fetched[0].stat().st_mtime_ns
    open_release(repo, mon_lake["version"], instances=1)  # the second open reads the cached copy
    assert fetched[0].stat().st_mtime_ns == before
    # A release number published again (a rolled-back deploy's number reused) is fetched anew, not read from
    # the copy of what was there before.
    meta = f"{repo}/sentiment/{remote.release}/model.json"
    storage.write_bytes(meta, json.dumps({**json.loads(storage.read_bytes(meta)), "variant": "int8"}).encode())
    assert open_release(repo, mon_lake["version"], instances=1).variant == "int8"
    assert len(list((tmp_path / "cache" / "triton").rglob("runners.py"))) == 2


def test_copies_default_to_one_per_usable_core_capped(monkeypatch):
    from monitoring import scoring

    cfg = ReportConfig.from_dict({"lake_uri": "x", "day": "2026-11-20", "scoring": "inprocess"})
    for cores, want in ((1, 1), (2, 2), (64, scoring.MAX_DEFAULT_INSTANCES)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert scoring.instances(cfg) == want
    assert scoring.instances(cfg.model_copy(update={"inprocess_instances": 3})) == 3
