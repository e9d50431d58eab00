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
    m["hot_topics"] = [{"term": p, "posts": 9, "share": 0.1, "lift": 2.0, "z": 5.0, "negative_share": 0.5}
                       for p in PAYLOADS]
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
