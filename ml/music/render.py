"""The one place a piano sample becomes what people get: MIDI, a WAV preview and a
piano-roll PNG, as bytes, plus the note count. Used by the CLI, the bot and the scripts."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ml.music.audio import render_wav
from ml.music.continuation import continuation_midi
from ml.music.generate import PianoSample
from ml.music.pianoroll import load_midi, save_roll_png
from ml.music.prime import PrimePiece


@dataclass(frozen=True)
class RenderedPiece:
    midi: bytes
    wav: bytes | None
    png: bytes | None
    notes: int
    synth: str | None  # the WAV renderer used, when there is a WAV


def render_piece(
    piece: PianoSample,
    *,
    prime: PrimePiece | None = None,
    wav: bool = True,
    png: bool = True,
    synth: str = "auto",
    title: str | None = None,
) -> RenderedPiece:
    """MIDI always; the WAV and the PNG when asked for. With the `prime` the piece started
    from, the MIDI opens with the user's own events and the rest follows in their key, tempo
    and meter (ml.music.continuation); the PNG shades the prime and counts bars in its meter."""
    if prime is None:
        midi = piece.to_midi()
        buffer = io.BytesIO()
        midi.write(buffer)
        midi_data, roll, quarters_per_bar = buffer.getvalue(), piece.roll, 4.0
    else:
        midi_data = continuation_midi(prime, piece)
        midi = load_midi(midi_data)
        roll, quarters_per_bar = _shifted(piece.roll, -prime.shift), prime.quarters_per_bar
    wav_bytes, png_bytes, used = None, None, None
    if wav:
        buffer = io.BytesIO()
        used = render_wav(midi, buffer, synth)
        wav_bytes = buffer.getvalue()
    if png:
        buffer = io.BytesIO()
        title = title or f"temperature {piece.temperature:g} · seed {piece.seed}"
        save_roll_png(
            roll,
            buffer,
            piece.frames_per_beat,
            beats_per_bar=quarters_per_bar,
            title=title,
            prime_frames=piece.prime_frames,
        )
        png_bytes = buffer.getvalue()
    notes = sum(len(instrument.notes) for instrument in midi.instruments)
    return RenderedPiece(midi_data, wav_bytes, png_bytes, notes, used)


def _shifted(roll: np.ndarray, semitones: int) -> np.ndarray:
    """The roll moved by `semitones` (keys pushed off the keyboard dropped)."""
    moved = np.zeros_like(roll)
    if semitones >= 0:
        moved[:, semitones:] = roll[:, : roll.shape[1] - semitones]
    else:
        moved[:, :semitones] = roll[:, -semitones:]
    return moved
