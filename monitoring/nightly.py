"""The nightly reports as one call: score the day -> sentiment report -> drift report.

CLI: ``ugc report --lake data/lake --day 2026-11-22 [--scoring inprocess] [--set key=value]`` (exit 4 when drift
fails). Airflow runs the same three functions as separate tasks (``dags/nightly_reports.py``).
"""

from __future__ import annotations

from monitoring.config import ReportConfig


def run(cfg: ReportConfig) -> dict:
    """Score, then both reports; returns their results."""
    from monitoring.drift import drift_report
    from monitoring.scoring import score_day
    from monitoring.sentiment import sentiment_report

    scored = score_day(cfg)
    return {"scores": scored, "sentiment": sentiment_report(cfg, scored["scores_uri"]),
            "drift": drift_report(cfg, scored["scores_uri"])}
