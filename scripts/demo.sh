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

# Fine-tune the packaged m3e-small encoder on what was ingested (short: 1 epoch on 2,000 posts) through
# the sentiment_training DAG: prepare -> train -> gate -> promote.
echo "== sentiment_training (m3e-small, 1 epoch, 2000 training posts)"
conf='{"lake_uri": "'"$PWD"'/data/lake", "epochs": 1, "max_train_samples": 2000}'
airflow dags test sentiment_training "$(date -u +%FT%T)" -c "$conf" > airflow_home/demo-training.log 2>&1 \
  || { tail -60 airflow_home/demo-training.log; exit 1; }
python - <<'PY'
from training import registry
c = registry.production("data/lake/registry/sentiment")
t, b = c["test"], c["baseline"]
print(f"   production={c['version']} test n={t['n']} acc={t['accuracy']:.4f} macro-F1={t['macro_f1']:.4f} ECE={t['ece']:.4f}")
print(f"   baseline {b['name']}: acc={b['accuracy']:.4f} macro-F1={b['macro_f1']:.4f}")
print(f"   training: {c['training']}")
PY
