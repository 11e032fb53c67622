#!/usr/bin/env bash
# Install Balladeer (editable, with dev tools) into the current Python, keeping any
# torch that is already installed: an unpinned torch would pull a multi-GB CUDA build.
#   --soundfonts  also fetch FluidR3_GM (a fuller General MIDI SoundFont, 142 MB) into
#                 soundfonts/, from Debian's fluid-soundfont-gm package (apt-get download:
#                 no root, nothing installed system-wide). Optional; nothing needs it.
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
if [[ "${1:-}" == "--soundfonts" ]]; then
  fetched="$(mktemp -d)"
  trap 'rm -rf "$fetched"' EXIT
  (cd "$fetched" && apt-get download -q fluid-soundfont-gm)
  dpkg-deb -x "$fetched"/fluid-soundfont-gm_*.deb "$fetched/files"
  mkdir -p soundfonts
  cp "$fetched/files/usr/share/sounds/sf2/FluidR3_GM.sf2" soundfonts/
  echo "soundfonts/FluidR3_GM.sf2: a server can choose it with /settings soundfont:FluidR3_GM"
fi
