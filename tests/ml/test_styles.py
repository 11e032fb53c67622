"""/continue's style auto: each style's model scores the user's piece; a reader fitted on
those scores, or else the lowest score, names the style."""

import io

import pretty_midi
import pytest

from ml.music.generate import PianoGenerator
from ml.music.styles import StyleReader, read_style, weights_digest
from ml.paths import DEFAULT_MUSIC_CHECKPOINTS, DEFAULT_STYLE_READER
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


def test_a_single_note_is_too_short_to_tell(generators):
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    midi.instruments.append(pretty_midi.Instrument(program=0))
    midi.instruments[0].notes.append(pretty_midi.Note(90, 60, 0, 0.2))  # under one frame
    prime = generators["chords"].prime_from_midi(_bytes(midi), bars=1)
    reading = read_style(generators, prime)
    assert reading.style == "chords" and "too short to tell its style" in reading.explanation()


def test_a_fitted_reader_decides_where_raw_scores_would_not(generators, tmp_path):
    prime = generators["chords"].prime_from_midi(_bytes(chord_midi(beats=16)), bars=4)
    raw = read_style(generators, prime)
    assert raw.style == "chords" and raw.confidence is None
    # A reader that learned the scales model's scores run high on everything: chords pieces
    # score lower on it, so a lower "scales" score than that still means chords.
    styles = tuple(generators)
    weights = tuple(tuple(-1.0 if s == t else 0.0 for t in styles) for s in styles)
    bias = tuple(100.0 if s == "scales" else 0.0 for s in styles)
    reader = StyleReader(styles, tuple(weights_digest(g) for g in generators.values()), weights, bias)
    reader.save(tmp_path / "reader.json")
    loaded = StyleReader.load(tmp_path / "reader.json")
    assert loaded == reader and loaded.fits(generators)
    reading = read_style(generators, prime, loaded)
    assert reading.style == "scales" and reading.confidence > 0.99
    assert reading.explanation().startswith("reads as scales (100%): ")
    assert StyleReader.load(tmp_path / "missing.json") is None
    other = StyleReader(styles, ("0" * 16,) * len(styles), weights, bias)
    assert not other.fits(generators)  # fitted on other weights: not used


def test_the_shipped_reader_was_fitted_on_the_shipped_models():
    shipped = {s: PianoGenerator.from_checkpoint(p) for s, p in DEFAULT_MUSIC_CHECKPOINTS.items()}
    reader = StyleReader.load(DEFAULT_STYLE_READER)
    assert reader is not None and reader.fits(shipped)
