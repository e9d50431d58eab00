"""Alerts: one per event (negative spike, new or rising negative topic, drift failure), sent once.

``events(cfg)`` reads the day's sentiment.json and drift.json; ``deliver`` sends each event through each
channel (callables; Airflow notifiers in ``ops/alerting.py``) at most once: after a successful send a
ledger file ``{reports}/alerts/dt=DAY/{event}.{channel}.json`` is written, and an event with a ledger
file is skipped, so task retries and reruns of the day never send twice. A failing channel is retried
(tenacity), then recorded as failed and left for the next run: an alert endpoint that is down never
fails the report.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date, timedelta
from html import escape

from monitoring.config import ReportConfig
from monitoring.scoring import day_dir
from ugc import storage

log = logging.getLogger(__name__)


def report_link(cfg: ReportConfig, page: str = "sentiment.html") -> str:
    base = cfg.report_url_base.rstrip("/")
    return f"{base}/dt={cfg.day}/{page}" if base else storage.join(day_dir(cfg), page)


def _read(cfg: ReportConfig, name: str) -> dict | None:
    try:
        return json.loads(storage.read_bytes(storage.join(day_dir(cfg), name)))
    except FileNotFoundError:
        return None


def events(cfg: ReportConfig) -> list[dict]:
    """The day's alertable events, from whichever of its reports exist."""
    out = []
    m = _read(cfg, "sentiment.json")
    if m and "negative_spike" in cfg.alert_on and m["spike"]["is_spike"]:
        s = m["spike"]
        out.append({"kind": "negative_spike", "key": "all",
                    "title": f"Negative spike on {cfg.day}: {s['negative_share']:.1%} negative "
                             f"(baseline {s['baseline_mean']:.1%}, z={s['z']:.1f})",
                    "numbers": {"posts": m["posts"], "negative_share": s["negative_share"],
                                "baseline_mean": s["baseline_mean"], "z": s["z"]}})
    for t in (m or {}).get("topics", []) if "negative_topic" in cfg.alert_on else []:
        if t.get("negative") and t["state"] in ("new", "rising") and t["posts"] >= cfg.alert_topic_min_posts:
            leader = (t.get("leaders") or [{}])[0].get("author_id")
            out.append({"kind": "negative_topic", "key": t["id"],
                        "title": f"{t['state'].capitalize()} negative topic on {cfg.day}: {t['label']} "
                                 f"({t['posts']} posts, {t['negative_share']:.0%} negative)",
                        "numbers": {"topic_id": t["id"], "label": t["label"], "posts": t["posts"],
                                    "negative_share": t["negative_share"], "state": t["state"], "z": t["z"],
                                    "trend": t["trend"], "top_leader": leader}})
    d = _read(cfg, "drift.json")
    if d and "drift" in cfg.alert_on and d.get("status") == "fail":
        failed = d.get("failed", [])
        out.append({"kind": "drift", "key": "all", "title": f"Drift check failed on {cfg.day}: {', '.join(failed)}",
                    "numbers": {"failed": failed, "values": {k: d["metrics"][k]["value"] for k in failed},
                                "model_version": d.get("model_version")},
                    "link": report_link(cfg, "drift.html")})
    for e in out:
        e.update(id=f"{e['kind']}:{cfg.day}:{e['key']}", day=cfg.day, link=e.get("link") or report_link(cfg))
    return out


def _ledger(cfg: ReportConfig, event: dict, channel: str) -> str:
    name = hashlib.sha1(event["id"].encode()).hexdigest()[:16]
    return storage.join(cfg.reports, "alerts", f"dt={event['day']}", f"{name}.{channel}.json")


def deliver(cfg: ReportConfig, evs: list[dict], channels: dict[str, Callable[[dict], None]]) -> dict:
    """Send each event through each channel unless its ledger says it was sent; never raises on a send."""
    from tenacity import Retrying, stop_after_attempt, wait_fixed

    result = {"sent": [], "skipped": [], "failed": []}
    for e in evs:
        for channel, send in channels.items():
            ledger = _ledger(cfg, e, channel)
            if storage.exists(ledger):
                result["skipped"].append((e["id"], channel))
                continue
            try:
                for attempt in Retrying(stop=stop_after_attempt(cfg.alert_attempts),
                                        wait=wait_fixed(cfg.alert_retry_wait_s), reraise=True):
                    with attempt:
                        send(e)
            except Exception as exc:  # any channel error: recorded, retried by the next run, never fatal
                log.warning("alert %s via %s failed after %d attempts: %s", e["id"], channel, cfg.alert_attempts, exc)
                result["failed"].append((e["id"], channel, f"{type(exc).__name__}: {exc}"[:300]))
                continue
            storage.write_bytes(ledger, json.dumps({**e, "channel": channel}, ensure_ascii=False).encode())
            result["sent"].append((e["id"], channel))
    return result


def recent(reports_uri: str, today: date, days: int = 7) -> list[dict]:
    """Alerts sent in the ``days`` days up to ``today`` (one row per event, its channels listed), newest first."""
    by_id: dict[str, dict] = {}
    for k in range(days):
        d = today - timedelta(days=k)
        for uri in storage.list_files(storage.join(reports_uri, "alerts", f"dt={d.isoformat()}")):
            e = json.loads(storage.read_bytes(uri))
            by_id.setdefault(e["id"], {**e, "channels": []})["channels"].append(e.pop("channel"))
    return sorted(by_id.values(), key=lambda e: (e["day"], e["id"]), reverse=True)


def email_html(e: dict) -> str:
    """The e-mail body: the numbers as a table and the link; every value escaped (post text can be anything)."""
    rows = "".join(f"<tr><th align=left>{escape(str(k))}</th><td>{escape(json.dumps(v, ensure_ascii=False, default=str))}"
                   "</td></tr>" for k, v in e["numbers"].items())
    return (f"<h3>{escape(e['title'])}</h3><table>{rows}</table>"
            f'<p><a href="{escape(e["link"], quote=True)}">Open the report</a></p><p>event id {escape(e["id"])}</p>')
