"""The nightly reports as one command: score the day -> sentiment report -> drift report.

    python -m monitoring.nightly --lake data/lake --day 2026-11-22 [--scoring inprocess] [--set key=value]

Exit status: 0 when drift passed or warned, 4 when drift failed (a retrain is due), 2 on bad config or
missing inputs. Airflow runs the same three functions as separate tasks (``dags/nightly_reports.py``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from monitoring.config import ReportConfig
from ugc.errors import ConfigError


def run(cfg: ReportConfig) -> dict:
    """Score, then both reports; returns their results."""
    from monitoring.drift import drift_report
    from monitoring.scoring import score_day
    from monitoring.sentiment import sentiment_report

    scored = score_day(cfg)
    return {"scores": scored, "sentiment": sentiment_report(cfg, scored["scores_uri"]),
            "drift": drift_report(cfg, scored["scores_uri"])}


def _value(v: str):
    try:
        return json.loads(v)
    except ValueError:
        return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m monitoring.nightly", description=__doc__.splitlines()[0])
    ap.add_argument("--lake", required=True)
    ap.add_argument("--day", required=True)
    ap.add_argument("--scoring", choices=("triton", "inprocess"))
    ap.add_argument("--triton-url")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any ReportConfig field")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from monitoring.scoring import ScoringError

    try:
        extra = dict(kv.split("=", 1) for kv in a.set)
        cfg = ReportConfig.from_dict({"lake_uri": a.lake, "day": a.day, "scoring": a.scoring,
                                      "triton_url": a.triton_url, **{k: _value(v) for k, v in extra.items()}})
        out = run(cfg)
    except (ConfigError, ScoringError, FileNotFoundError, ValueError) as e:
        print(f"nightly: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"sentiment": out["sentiment"], "drift": out["drift"]}, indent=1, ensure_ascii=False))
    return 4 if out["drift"]["status"] == "fail" else 0


if __name__ == "__main__":
    sys.exit(main())
