#!/usr/bin/env bash
# Install Balladeer (editable, with dev tools) into the current Python, keeping any
# torch that is already installed: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import torch" 2>/dev/null; then
  python -m pip install -q "torch==2.13.0" \
    || python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
python -m pip install -q -e ".[dev]"
# The SoundFont synth for audio previews, without pyaudio (live playback, which needs
# PortAudio from the system and is never used here); previews fall back to numpy without it.
python -m pip install -q --no-deps "tinysoundfont>=0.3.7"
