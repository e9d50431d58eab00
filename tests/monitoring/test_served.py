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
    # The same posts through Triton: the served variant's labels, its probabilities to float rounding.
    scores = pq.read_table(io.BytesIO(storage.read_bytes(got[str(NORMAL[2])]["scores"]["scores_uri"])))
    texts = lake.read_partition(lake.partition_uri(mon_lake["lake"], NORMAL[2]), columns=["text"])["text"]
    with SentimentClient(served) as c:
        labels = c.labels()
        want = c.probabilities(texts.to_pylist())
    mine = np.stack([scores[f"p_{lab}"].to_numpy() for lab in labels], 1)
    np.testing.assert_allclose(mine, want, atol=1e-4)
    assert scores["label"].to_pylist() == [labels[i] for i in want.argmax(1)]
    # Drift measured by the release too, with its own cached reference, and the shift still caught.
    drift = json.loads(storage.read_bytes(got[str(SHIFT)]["drift"]["json_uri"]))
    assert drift["encoder"] == {"source": "served", "fallback": None, "release": release}
    assert storage.exists(storage.join(reports, "_reference", mon_lake["version"], f"served-{release}", "profile.json"))
    assert got[str(NORMAL[2])]["drift"]["status"] != "fail" and got[str(SHIFT)]["drift"]["status"] == "fail"
    assert {"lang_psi", "length_psi"} <= set(got[str(SHIFT)]["drift"]["failed"])


@pytest.mark.services
def test_copies_side_by_side_answer_as_one_in_the_callers_order(mon_lake, served, served_repo):
    one = open_release(served_repo, mon_lake["version"], instances=1)
    two = open_release(served_repo, mon_lake["version"], instances=2)
    texts = [t for i in range(40) for t in HOSTILE[:9] + [f"第{i}条 post number {i} " * (i % 7)]]
    assert len(texts) >= 256  # past the size at which the copies split the work
    np.testing.assert_array_equal(one.probs(texts), two.probs(texts))
    np.testing.assert_array_equal(one.embed(texts), two.embed(texts))
    assert one.probs([]).shape == (0, len(one.labels))
    assert two.probs(HOSTILE).shape == (len(HOSTILE), len(two.labels))


@pytest.mark.services
def test_a_release_on_s3_is_fetched_once_and_answers_as_the_local_one(mon_lake, served, served_repo, s3_server,
                                                                       tmp_path, monkeypatch):
    from ugc import settings

    monkeypatch.setenv(settings.MODEL_CACHE.name, str(tmp_path / "cache"))
    repo = f"{s3_server}/served-repo"
    for path in storage.list_files(served_repo):
        storage.write_bytes(repo + path[len(served_repo):], storage.read_bytes(path))
    local = open_release(served_repo, mon_lake["version"], instances=1)
    remote = open_release(repo, mon_lake["version"], instances=1)
    assert remote.release == local.release
    np.testing.assert_array_equal(remote.probs(HOSTILE), local.probs(HOSTILE))
    fetched = [d for d in (tmp_path / "cache" / "triton").rglob("runners.py")]
    assert len(fetched) == 1 and not list((tmp_path / "cache" / "triton").rglob(".fetch-*"))
    before = fetched[0].stat().st_mtime_ns
    open_release(repo, mon_lake["version"], instances=1)  # the second open reads the cached copy
    assert fetched[0].stat().st_mtime_ns == before
