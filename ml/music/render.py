"""The one place a piano sample becomes what people get: MIDI, a WAV preview and a
piano-roll PNG, as bytes, plus the note count. Used by the CLI, the bot and the scripts."""

from __future__ import annotations

import io
from dataclasses import dataclass

from ml.music.audio import render_wav
from ml.music.generate import PianoSample
from ml.music.pianoroll import save_roll_png


@dataclass(frozen=True)
class RenderedPiece:
    midi: bytes
    wav: bytes | None
    png: bytes | None
    notes: int
    synth: str | None  # the WAV renderer used, when there is a WAV


def render_piece(
    piece: PianoSample, *, wav: bool = True, png: bool = True, synth: str = "auto", title: str | None = None
) -> RenderedPiece:
    """MIDI always; the WAV and the PNG when asked for. The PNG shades a prime."""
    midi = piece.to_midi()
    midi_bytes = io.BytesIO()
    midi.write(midi_bytes)
    wav_bytes, png_bytes, used = None, None, None
    if wav:
        buffer = io.BytesIO()
        used = render_wav(midi, buffer, synth)
        wav_bytes = buffer.getvalue()
    if png:
        buffer = io.BytesIO()
        title = title or f"temperature {piece.temperature:g} · seed {piece.seed}"
        save_roll_png(piece.roll, buffer, piece.frames_per_beat, title=title, prime_frames=piece.prime_frames)
        png_bytes = buffer.getvalue()
    notes = sum(len(instrument.notes) for instrument in midi.instruments)
    return RenderedPiece(midi_bytes.getvalue(), wav_bytes, png_bytes, notes, used)
