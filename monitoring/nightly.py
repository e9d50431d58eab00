"""The nightly reports as one call: score the day -> sentiment report -> profiles -> drift report -> alert events.

CLI: ``ugc report --lake data/lake --day 2026-11-22 [--scoring inprocess] [--set key=value]`` (exit 4 when drift
fails). Airflow runs the same three functions as separate tasks (``dags/nightly_reports.py``).
"""

from __future__ import annotations

from monitoring.config import ReportConfig


def run(cfg: ReportConfig) -> dict:
    """Score, then both reports and the profiles; returns their results and the day's alertable events (the
    CLI lists them; sending goes through Airflow's notifiers: ``ugc alerts`` or the DAG's alerts task)."""
    from monitoring.alerts import events
    from monitoring.drift import drift_report
    from monitoring.profiles import update_profiles
    from monitoring.scoring import score_day
    from monitoring.sentiment import sentiment_report

    scored = score_day(cfg)
    out = {"scores": scored, "sentiment": sentiment_report(cfg, scored["scores_uri"])}
    out["profiles"] = update_profiles(cfg)
    out["drift"] = drift_report(cfg, scored["scores_uri"])
    out["alerts"] = [e["title"] for e in events(cfg)]
    return out
