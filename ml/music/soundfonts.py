"""Which SoundFonts there are to choose from: the small General MIDI one pretty_midi ships,
and any .sf2/.sf3 an operator puts in a folder. Imports nothing heavy (settings read it)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

SHIPPED_SOUNDFONT = Path(find_spec("pretty_midi").origin).with_name("TimGM6mb.sf2")
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")


def available_soundfonts(folder: Path | None) -> dict[str, Path]:
    """SoundFonts by name (the file's stem): the shipped one, then every .sf2/.sf3 in
    `folder`, in name order."""
    found = {SHIPPED_SOUNDFONT.stem: SHIPPED_SOUNDFONT} if SHIPPED_SOUNDFONT.is_file() else {}
    if folder is not None and folder.is_dir():
        found |= {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in SOUNDFONT_SUFFIXES}
    return found
