"""The one place a piano sample becomes what people get: MIDI, an audio preview and a
piano-roll PNG, as bytes, plus the note count. Used by the CLI, the bot and the scripts."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pretty_midi
import torch

from ml.music.audio import SAMPLE_RATE, encode, render_audio
from ml.music.continuation import continuation_midi
from ml.music.data import transposed
from ml.music.generate import PianoSample
from ml.music.pianoroll import load_midi, save_roll_png
from ml.music.prime import PrimePiece

LEAD_IN_S = 0.1  # the preview starts this long before the first note


@dataclass(frozen=True)
class RenderedPiece:
    midi: bytes
    audio: dict[str, bytes]  # by format ("ogg", "wav"): the preview in each format asked for
    png: bytes | None
    notes: int
    synth: str | None  # the audio renderer used, when there is audio
    meter: str  # the time signature the new music is barred in ("6/8")
    seconds: float  # how long the new music lasts


def render_piece(
    piece: PianoSample,
    *,
    prime: PrimePiece | None = None,
    audio: tuple[str, ...] = ("ogg",),
    png: bool = True,
    synth: str = "auto",
    soundfont: Path | None = None,
    title: str | None = None,
) -> RenderedPiece:
    """MIDI always; the audio preview (in each of `audio`'s formats) and the PNG when asked
    for. With the `prime` the piece started from, the MIDI opens with the user's own events
    and the rest follows in their key, tempo and meter (ml.music.continuation); the PNG
    shades the prime and counts bars in its meter."""
    if prime is None:
        midi = piece.to_midi()
        buffer = io.BytesIO()
        midi.write(buffer)
        roll = transposed(torch.from_numpy(piece.roll), piece.sounding_shift).numpy()  # as the MIDI sounds
        midi_data, quarters_per_bar = buffer.getvalue(), float(piece.meter.beats)
    else:
        midi_data = continuation_midi(prime, piece)
        midi = load_midi(midi_data)
        roll = transposed(torch.from_numpy(piece.roll), -prime.shift).numpy()  # in the user's key
        quarters_per_bar = prime.quarters_per_bar
    encoded, png_bytes, used = {}, None, None
    if audio:
        samples, used = render_audio(midi, synth, soundfont)
        samples = samples[_sound_starts(midi) :]  # a file's silent opening is not worth hearing
        encoded = {audio_format: encode(samples, audio_format) for audio_format in audio}
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
    meter = str(piece.meter) if prime is None else "{}/{}".format(*prime.meter)
    tempo = piece.tempo_bpm if prime is None else prime.final_tempo_bpm  # a continuation: the user's
    new_seconds = (len(piece.roll) - piece.prime_frames) * 60.0 / tempo / piece.frames_per_beat
    return RenderedPiece(midi_data, encoded, png_bytes, notes, used, meter, new_seconds)


def _sound_starts(midi: pretty_midi.PrettyMIDI) -> int:
    """The sample a preview starts at: LEAD_IN_S before the first note (the MIDI keeps a
    user's silent opening as written; the audio skips it)."""
    starts = [note.start for instrument in midi.instruments for note in instrument.notes]
    return max(round((min(starts, default=0.0) - LEAD_IN_S) * SAMPLE_RATE), 0)
