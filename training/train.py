"""CLI: ``python -m training.train --config cfg.json [--set key=value ...] [--no-promote]``.

Runs prepare -> train -> gate -> promote, the same stages the Airflow DAG runs as separate tasks.
Exit status 0 = promoted (or --no-promote), 3 = the gate rejected the candidate, 2 = bad config.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime

from training import config as tconfig
from ugc.errors import ConfigError, GateFailed


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise ConfigError(f"--set expects key=value, got {p!r}")
        k, v = p.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="JSON file with TrainConfig keys")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override (JSON value)")
    ap.add_argument("--no-promote", action="store_true", help="train, evaluate and gate, but never promote")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from training import pipeline

    try:
        over = _overrides(args.set)
        # A fresh run id per invocation; pass run_id=<old> to resume a killed run from its checkpoint.
        over.setdefault("run_id", f"cli-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        cfg = tconfig.load(args.config, over)
        prep = pipeline.prepare_data(cfg)
        cand = pipeline.train_candidate(cfg, prep["manifest_uri"])
        print(json.dumps({"data": prep, "candidate": cand}, indent=1))
        decision = pipeline.gate_candidate(cfg, cand["version"])
        print(json.dumps({k: decision[k] for k in ("promote", "reasons", "champion")}, indent=1))
        if args.no_promote:
            return 0
        print(json.dumps(pipeline.promote_candidate(cfg, decision["decision_uri"]), indent=1))
        return 0
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    except GateFailed as e:
        print(f"gate: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
