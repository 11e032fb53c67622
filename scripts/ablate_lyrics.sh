#!/usr/bin/env bash
# Lyrics regularisation ablation at a fixed short budget (2 epochs each, same seed, same
# split as the shipped model): what each change buys on validation. The shipped model is the
# last row trained to the end (scripts/train_defaults.sh); see checkpoints/MODEL_CARD.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
PRECISION=${PRECISION:-bf16}  # fp32 on CPUs without AVX-512 (see train_defaults.sh)
COMMON=(--data "$DATA/lyrics/songdata.csv" --min-songs 20 --hidden 512 --layers 2 --bptt tbptt
  --seq-len 128 --batch-size 64 --epochs 2 --lr 2e-3 --eval-every 100 --patience 100
  --precision "$PRECISION" --seed 1234 --resume --no-progress)
run() { name=$1; shift; python -m ml train lyrics --out "runs/ablate/$name" "${COMMON[@]}" "$@"; }
run a-baseline --dropout 0.3
run b-weight-drop --dropout 0.3 --weight-drop 0.35
run c-locked --dropout 0.25 --locked-dropout --weight-drop 0.35 --embed-dropout 0.05
run d-artist-out --dropout 0.25 --locked-dropout --weight-drop 0.35 --embed-dropout 0.05 --artist-to-output
