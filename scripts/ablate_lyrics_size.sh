#!/usr/bin/env bash
# Lyrics ablation on both lyrics files at a fixed CPU budget per run (same seed, same
# validation songs as the shipped model). Results in checkpoints/MODEL_CARD.md.
#  - size, from scratch: which shape learns most in the minutes one core gives;
#  - a further stage: 15 more minutes from the shipped weights at a low rate (the
#    fine-tune keeps the model's dropout: --init-from refuses other model flags).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
PRECISION=${PRECISION:-bf16}  # fp32 on CPUs without AVX-512 (see train_defaults.sh)
MINUTES=${MINUTES:-20}
COMMON=(--data "$DATA/lyrics/songdata.csv" --data "$DATA/lyrics/extra/hits.csv" --min-songs 20
  --others-as-any-artist --bptt tbptt --seq-len 128 --batch-size 64 --epochs 1 --warmup 0.03
  --eval-every 100000 --patience 100 --precision "$PRECISION" --seed 1234 --no-progress)
run() { name=$1; shift; python -m ml train lyrics --out "runs/ablate-size/$name" "${COMMON[@]}" "$@"; }
SCRATCH=(--lr 2e-3 --max-minutes "$MINUTES")
run a-2x512 "${SCRATCH[@]}" --hidden 512 --layers 2 --dropout 0.2
run b-2x768 "${SCRATCH[@]}" --hidden 768 --layers 2 --dropout 0.2
run c-3x512 "${SCRATCH[@]}" --hidden 512 --layers 3 --dropout 0.2
run d-further --init-from checkpoints/lyrics.pt --hidden 512 --layers 2 --dropout 0.2 --lr 2.5e-4 \
  --max-minutes "${FT_MINUTES:-15}"
