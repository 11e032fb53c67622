"""Where the shipped default models live: beside the source tree, not the working directory."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
DEFAULT_LYRICS_CHECKPOINT = CHECKPOINT_DIR / "lyrics.pt"
DEFAULT_PIANO_CHECKPOINT = CHECKPOINT_DIR / "piano.pt"
