"""Where the shipped default models live: beside the source tree, not the working directory."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
DEFAULT_LYRICS_CHECKPOINT = CHECKPOINT_DIR / "lyrics.pt"
# One music model per style (ml.names.MUSIC_STYLES); folk is what `ml sample piano` uses.
DEFAULT_MUSIC_CHECKPOINTS = {
    style: CHECKPOINT_DIR / f"music-{style}.pt" for style in ("folk", "chorale", "piano")
}
DEFAULT_MUSIC_CHECKPOINT = DEFAULT_MUSIC_CHECKPOINTS["folk"]
DEFAULT_STYLE_READER = CHECKPOINT_DIR / "style_reader.json"  # ml.music.styles.StyleReader
# More SoundFonts for audio previews (.sf2/.sf3), e.g. from `scripts/install.sh --soundfonts`.
DEFAULT_SOUNDFONT_DIR = REPO_ROOT / "soundfonts"
