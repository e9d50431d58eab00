"""The project's own reports escape every value from the data: injected script must not run in a real browser."""

import json

from monitoring import drift, sentiment
from monitoring.scoring import score_day
from tests.browser.chromium import PAYLOADS, dom, ran_injected_script
from tests.monitoring.conftest import NORMAL
from tests.monitoring.test_reports import _cfg
from ugc import storage


def test_sentiment_and_drift_pages_run_no_injected_script(mon_lake, tmp_path):
    cfg = _cfg(mon_lake, NORMAL[2], tmp_path)
    scored = score_day(cfg)
    m = json.loads(storage.read_bytes(sentiment.sentiment_report(cfg, scored["scores_uri"])["json_uri"]))
    labels = list(m["counts"])
    m["summary"] = PAYLOADS[0]
    m["by_platform"] = {p: dict.fromkeys(labels, 1) for p in PAYLOADS}
    leader = [{"author_id": p, "pagerank": 0.1, "replies": 3, "repliers": 2, "reply_negative_share": 1.0, "posts": 1,
               "negative_share": 1.0, "topics": [p]} for p in PAYLOADS]
    m["topics"] = [{"id": p, "label": p, "terms": [p], "state": p, "posts": 9, "share": 0.1, "negative_share": 0.5,
                    "z": 5.0, "hot": True, "negative": True, "trend": {"2026-11-21": 0.1, "2026-11-22": 0.2},
                    "examples": PAYLOADS, "leaders": leader} for p in PAYLOADS]
    m["leaders"] = leader
    m["top_negative"] = [{"post_id": p, "platform": p, "created_at": "2026-11-22T01:00:00+00:00", "p_negative": 0.9,
                          "text": p} for p in PAYLOADS]
    page = tmp_path / "sentiment.html"
    page.write_text(sentiment.render(m, labels), encoding="utf-8")
    d = json.loads(storage.read_bytes(drift.drift_report(cfg, scored["scores_uri"])["json_uri"]))
    d["summary"], d["model_version"] = PAYLOADS[1], PAYLOADS[2]
    d["reference"]["data_snapshot_id"] = PAYLOADS[3]
    d["distributions"]["lang"]["categories"] = PAYLOADS[:3]
    dpage = tmp_path / "drift.html"
    dpage.write_text(drift.render(d), encoding="utf-8")
    for p in (page, dpage):
        assert not ran_injected_script(str(p)), p
    assert "&lt;img src=x onerror=document.title=1337&gt;" in dom(str(page))  # shown as text


def test_profiles_page_runs_no_injected_script(tmp_path):
    import pyarrow as pa

    from monitoring import profiles
    from monitoring.config import ReportConfig

    cfg = ReportConfig.from_dict({"lake_uri": str(tmp_path / "lake"), "day": "2026-11-22"})
    storage.write_bytes(storage.join(cfg.reports, "dt=2026-11-22", "topics.json"), json.dumps(
        {"topics": [{"id": f"t{i}", "label": p} for i, p in enumerate(PAYLOADS)]}).encode())
    n = len(PAYLOADS)
    maps = pa.map_(pa.string(), pa.int64())
    table = pa.table({"author_id": PAYLOADS, "posts": [3] * n, "days_active": [1] * n,
                      "first_seen": pa.array([0] * n, pa.timestamp("us", tz="UTC")),
                      "last_seen": pa.array([1_795_392_000_000_000] * n, pa.timestamp("us", tz="UTC")),
                      "tendency": PAYLOADS, "tendency_confidence": [0.5] * n,
                      "platforms": pa.array([[(p, 1)] for p in PAYLOADS], maps),
                      "topics": pa.array([[(f"t{i}", 1)] for i in range(n)], maps)})
    uri = profiles.summarize(cfg, table)
    page = uri.replace("profiles.json", "profiles.html")
    assert not ran_injected_script(page)
    assert "&lt;img src=x onerror=document.title=1337&gt;" in dom(page)
