#!/usr/bin/env bash
# Reproduce the shipped default models from ../shared/data (see checkpoints/MODEL_CARD.md).
# CPU run: bf16 autocast pays off on CPUs with AVX512-BF16 or AMX; use --precision fp32 elsewhere.
# The lyrics run takes about 2.5 h on one core: rerun the script and it resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
MINUTES=${MINUTES:-160}

python -m ml train lyrics --data "$DATA/lyrics/songdata.csv" --out runs/lyrics \
  --min-songs 20 --hidden 512 --layers 2 --dropout 0.3 --bptt tbptt --seq-len 128 \
  --batch-size 64 --epochs 25 --lr 2e-3 --eval-every 200 --patience 6 --precision bf16 \
  --seed 1234 --max-minutes "$MINUTES" --resume --no-progress
cp runs/lyrics/best.pt checkpoints/lyrics.pt

python -m ml train piano --data "$DATA/nottingham/bl/Nottingham.pickle" --out runs/piano \
  --head sigmoid --hidden 768 --layers 2 --dropout 0.6 --bptt full --batch-size 16 --epochs 30 --lr 2e-3 \
  --eval-every 88 --patience 5 --precision bf16 --seed 1234 --max-minutes 60 --resume --no-progress
cp runs/piano/best.pt checkpoints/piano.pt

# Not shipped: the same piano recipe on JSB Chorales (quarter-note grid), for the report.
python -m ml train piano --data "$DATA/jsb/JSB_Chorales.mat" --out runs/jsb --frames-per-beat 1 \
  --head sigmoid --hidden 768 --layers 2 --dropout 0.6 --bptt full --batch-size 16 --epochs 60 --lr 2e-3 \
  --eval-every 30 --patience 6 --precision bf16 --seed 1234 --max-minutes 15 --resume --no-progress
