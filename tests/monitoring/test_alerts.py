"""The crisis scenario end to end through Airflow's notifiers to a real SMTP server and a real HTTP server.

Three normal days, a story rising over three crisis days (10 %, 20 %, 40 % of posts, one influential
account drawing negative replies), then a normal day. Scores are the generated labels (the classifier is
tested elsewhere; here the question is what the report does with them).
"""

from __future__ import annotations

import email
import email.header
import io
import json
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitoring.config import ReportConfig
from monitoring.scoring import day_dir
from tests.monitoring.conftest import free_port
from ugc import lake, storage
from ugc.vocab import LABELS

D0 = date(2026, 10, 1)
PLAN = [("normal", 0.0)] * 4 + [("crisis", 0.1), ("crisis", 0.2), ("crisis", 0.4), ("normal", 0.0)]
DAYS = [D0 + timedelta(days=k) for k in range(len(PLAN))]


def _subject(m) -> str:
    return str(email.header.make_header(email.header.decode_header(m["Subject"])))


def _oracle_scores(cfg: ReportConfig) -> None:
    t = lake.read_partition(lake.partition_uri(cfg.lake_uri, cfg.date), columns=["post_id", "label"])
    lab = [v or "neutral" for v in t["label"].to_pylist()]
    probs = np.array([[0.9 if v == x else 0.05 for x in LABELS] for v in lab], np.float32)
    buf = io.BytesIO()
    pq.write_table(pa.table({"post_id": t["post_id"], "label": lab,
                             **{f"p_{x}": probs[:, i] for i, x in enumerate(LABELS)}, "confidence": probs.max(1)}), buf)
    storage.write_bytes(storage.join(day_dir(cfg), "scores.parquet"), buf.getvalue())
    storage.write_bytes(storage.join(day_dir(cfg), "scores.json"), json.dumps(
        {"day": cfg.day, "labels": list(LABELS), "model_version": "generated-labels", "scoring": "test"}).encode())


@pytest.fixture(scope="module")
def crisis(tmp_path_factory) -> dict:
    from ingestion import synth
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day
    from monitoring.profiles import update_profiles
    from monitoring.sentiment import sentiment_report

    root = tmp_path_factory.mktemp("crisis")
    landing, lake_uri = str(root / "landing"), str(root / "lake")
    out = {"lake": lake_uri, "reports": {}}
    for day, (scenario, share) in zip(DAYS, PLAN, strict=True):
        synth.generate_day(landing, day, 600, seed=5, scenario=scenario, crisis_share=share or 0.4)
        ingest_day(IngestConfig.from_dict({"lake_uri": lake_uri, "day": day}), storage.join(landing, f"dt={day}"))
        cfg = ReportConfig.from_dict({"lake_uri": lake_uri, "day": str(day), "scoring": "inprocess"})
        _oracle_scores(cfg)
        out["reports"][day] = json.loads(storage.read_bytes(sentiment_report(cfg)["json_uri"]))
        update_profiles(cfg)
    return out


def _cfg(crisis, day, **kw) -> ReportConfig:
    return ReportConfig.from_dict({"lake_uri": crisis["lake"], "day": str(day), "alert_retry_wait_s": 0, **kw})


def test_a_rising_story_is_one_topic_with_a_stable_id_led_by_the_account_that_broke_it(crisis):
    from ingestion.clean import hash_ids
    from ingestion.config import IngestConfig
    from ingestion.synth import INFLUENCER

    influencer = hash_ids(pa.array([INFLUENCER]), IngestConfig.from_dict({"lake_uri": "x", "day": D0}).author_salt)[0]
    crisis_days = [crisis["reports"][d] for d in DAYS[4:7]]
    hot = [[t for t in m["topics"] if t["hot"]] for m in crisis_days]
    assert [len(h) for h in hot] == [1, 1, 1], [[t["label"] for t in h] for h in hot]  # clustered, not n-grams
    story = hot[2][0]
    assert story["state"] == "rising" and story["negative"] and story["id"] == hot[0][0]["id"] == hot[1][0]["id"]
    assert "电池起火" in story["terms"] and "battery fire" in story["terms"]
    trend = list(story["trend"].values())
    assert trend[-1] > trend[-2] > trend[-3] > 2 * max(v for v in trend[:-3] if v is not None)
    assert story["leaders"][0]["author_id"] == influencer.as_py()
    assert crisis_days[2]["leaders"][0]["author_id"] == influencer.as_py()
    assert story["leaders"][0]["reply_negative_share"] > 0.5 and story["leaders"][0]["replies"] > 50
    # A normal day with a baseline has no topic; the day after the crisis shows it cooling off, not hot.
    for day in (DAYS[3], DAYS[7]):
        assert not [t for t in crisis["reports"][day]["topics"] if t["hot"]], day
    after = crisis["reports"][DAYS[7]]["topics"]
    assert [(t["id"], t["state"]) for t in after] == [(story["id"], "fading")]


def test_exactly_one_alert_per_event_on_smtp_and_webhook_and_none_on_normal_days(crisis, servers):
    from ops import alerting

    for day in DAYS:
        r = alerting.send(_cfg(crisis, day))
        assert not r["failed"]
    topic = next(t for t in crisis["reports"][DAYS[6]]["topics"] if t["hot"])
    want = {f"negative_topic:{d}:{topic['id']}" for d in DAYS[4:7]} | {f"negative_spike:{DAYS[6]}:all"}
    got = servers.mail_ids()
    assert sorted(got) == sorted(servers.post_ids()) and len(got) == len(set(got))  # once each, both channels
    assert want <= set(got) and all(str(d) not in i for d in DAYS[:4] + DAYS[7:] for i in got)
    assert all(e.split(":")[0] in ("negative_topic", "negative_spike") for e in got)
    spike = next(p for p in servers.posts if p["kind"] == "negative_spike" and p["day"] == str(DAYS[6]))
    assert spike["numbers"]["negative_share"] == pytest.approx(crisis["reports"][DAYS[6]]["spike"]["negative_share"])
    assert spike["link"].endswith(f"dt={DAYS[6]}/sentiment.html")
    mail = next(m for m in servers.mail if m["X-UGC-Alert-Id"] == f"negative_topic:{DAYS[6]}:{topic['id']}")
    body = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "Rising negative topic" in _subject(mail) and topic["id"] in body and "Open the report" in body
    # Retries and reruns of every night send nothing more.
    for day in DAYS:
        assert alerting.send(_cfg(crisis, day))["sent"] == []
    assert len(servers.mail) == len(got) and len(servers.posts) == len(got)
    # The plugin page's list: the last 7 days' alerts, each with both channels.
    from monitoring.alerts import recent
    listed = recent(_cfg(crisis, DAYS[7]).reports, DAYS[7], 7)
    assert {a["id"] for a in listed} == set(got) and all(sorted(a["channels"]) == ["email", "webhook"] for a in listed)


def test_a_failing_webhook_is_retried_and_a_down_one_never_fails_the_report(crisis, servers, monkeypatch, tmp_path):
    from ops import alerting

    cfg = _cfg(crisis, DAYS[6], reports_uri=str(tmp_path / "reports"), alert_attempts=3)
    for name in ("sentiment.json", "topics.json"):
        storage.write_bytes(storage.join(day_dir(cfg), name), storage.read_bytes(storage.join(
            day_dir(_cfg(crisis, DAYS[6])), name)))
    servers.fail_next = 2  # two 503s, then it answers
    r = alerting.send(cfg)
    assert not r["failed"] and servers.requests == 2 + len(r["events"]) and len(servers.posts) == len(r["events"])
    # Endpoint down: every attempt fails, the call returns, nothing is marked sent; the next run delivers.
    cfg2 = _cfg(crisis, DAYS[6], reports_uri=str(tmp_path / "reports2"), alert_attempts=2)
    for name in ("sentiment.json", "topics.json"):
        storage.write_bytes(storage.join(day_dir(cfg2), name), storage.read_bytes(storage.join(day_dir(cfg), name)))
    monkeypatch.setenv("AIRFLOW_CONN_UGC_ALERTS_WEBHOOK", servers.env(webhook_port=free_port())[
        "AIRFLOW_CONN_UGC_ALERTS_WEBHOOK"])
    down = alerting.send(cfg2)
    assert {f[1] for f in down["failed"]} == {"webhook"} and len(down["failed"]) == len(down["events"])
    assert {s[1] for s in down["sent"]} == {"email"}
    monkeypatch.setenv("AIRFLOW_CONN_UGC_ALERTS_WEBHOOK", servers.env()["AIRFLOW_CONN_UGC_ALERTS_WEBHOOK"])
    up = alerting.send(cfg2)
    assert {s[1] for s in up["sent"]} == {"webhook"} and {s[1] for s in up["skipped"]} == {"email"}


def test_drift_failure_alerts_and_post_text_is_never_a_template(crisis, servers, tmp_path):
    from ops import alerting

    cfg = _cfg(crisis, DAYS[7], reports_uri=str(tmp_path / "r"))
    storage.write_bytes(storage.join(day_dir(cfg), "drift.json"), json.dumps({
        "status": "fail", "failed": ["length_psi"], "model_version": "v9",
        "metrics": {"length_psi": {"value": 0.61, "status": "fail"}}}).encode())
    evil = "{{ 7 * 7 }} <script>x</script>"
    storage.write_bytes(storage.join(day_dir(cfg), "sentiment.json"), json.dumps({
        "posts": 100, "spike": {"is_spike": False}, "topics": [{
            "id": "tEvil", "label": evil, "terms": [evil], "posts": 80, "negative_share": 0.9, "negative": True,
            "state": "new", "z": 9.0, "trend": {}, "hot": True}]}).encode())
    r = alerting.send(cfg)
    assert sorted(i.split(":")[0] for i in r["events"]) == ["drift", "negative_topic"] and not r["failed"]
    drift_mail = next(m for m in servers.mail if m["X-UGC-Alert-Id"].startswith("drift:"))
    assert "length_psi" in _subject(drift_mail)
    topic_mail = next(m for m in servers.mail if m["X-UGC-Alert-Id"].startswith("negative_topic:"))
    assert "{{ 7 * 7 }}" in _subject(topic_mail) and "49" not in _subject(topic_mail)
    body = topic_mail.get_payload()[0].get_payload(decode=True).decode()
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert next(p for p in servers.posts if p["kind"] == "negative_topic")["numbers"]["label"] == evil
