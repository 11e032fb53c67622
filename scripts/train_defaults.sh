#!/usr/bin/env bash
# Reproduce the shipped default models from ../shared/data (see checkpoints/MODEL_CARD.md).
# CPU run: bf16 autocast pays off on CPUs with AVX512-BF16 or AMX; use --precision fp32 elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
MINUTES=${MINUTES:-95}

python -m ml train lyrics --data "$DATA/lyrics/songdata.csv" --out runs/lyrics \
  --min-songs 20 --hidden 512 --layers 2 --dropout 0.3 --bptt tbptt --seq-len 128 \
  --batch-size 64 --epochs 25 --lr 2e-3 --eval-every 200 --patience 6 --precision bf16 \
  --seed 1234 --max-minutes "$MINUTES" --resume --no-progress
cp runs/lyrics/best.pt checkpoints/lyrics.pt
