"""/continue's style auto: each style's model scores the user's piece, the likeliest wins."""

import io

import pretty_midi
import pytest

from ml.music.generate import PianoGenerator
from ml.music.styles import read_style
from tests.music_fixtures import chord_midi, scale_midi


def _bytes(midi) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def generators(tiny_piano_checkpoint, tiny_scale_checkpoint):
    return {
        "chords": PianoGenerator.from_checkpoint(tiny_piano_checkpoint),
        "scales": PianoGenerator.from_checkpoint(tiny_scale_checkpoint),
    }


@pytest.mark.parametrize(("piece", "style"), [(chord_midi, "chords"), (scale_midi, "scales")])
def test_a_piece_reads_as_the_style_it_was_written_in(generators, piece, style):
    prime = generators["chords"].prime_from_midi(_bytes(piece(beats=16)), bars=4)
    reading = read_style(generators, prime)
    assert reading.style == style
    other = next(s for s in generators if s != style)
    assert reading.nats_per_beat[style] < reading.nats_per_beat[other]
    assert reading.explanation().startswith(f"reads as {style}: ")
    assert f" nats/beat vs {other} " in reading.explanation()


def test_a_single_frame_is_too_short_to_tell(generators):
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    midi.instruments.append(pretty_midi.Instrument(program=0))
    midi.instruments[0].notes.append(pretty_midi.Note(90, 60, 0, 0.2))  # under one frame
    prime = generators["chords"].prime_from_midi(_bytes(midi), bars=1)
    reading = read_style(generators, prime)
    assert reading.style == "chords" and "too short to tell its style" in reading.explanation()
