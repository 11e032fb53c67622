"""The bounded MIDI reader: what it reads of hostile files, and that it reads real ones
as pretty_midi does."""

import io

import mido
import numpy as np
import pretty_midi
import pytest

from ml.errors import DataError
from ml.music.midi_window import read_midi_window
from ml.music.pianoroll import load_midi, midi_to_roll
from ml.music.prime import PrimePiece, read_prime, window_to_roll
from tests import hostile_midi
from tests.music_fixtures import chord_midi


def _bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def test_the_window_roll_matches_the_whole_file_roll_on_a_real_file():
    data = _bytes(chord_midi(beats=16))
    roll = window_to_roll(read_midi_window(data, quarters=8), frames_per_beat=2)
    whole = midi_to_roll(load_midi(data), frames_per_beat=2).roll
    np.testing.assert_array_equal(roll, whole[: len(roll)])
    assert len(roll) == 16  # 8 quarter notes on the eighth-note grid


def test_tempo_meter_and_key_signature_events_are_read():
    midi = chord_midi(beats=8, tempo=96)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0))
    midi.key_signature_changes.append(
        pretty_midi.KeySignature(pretty_midi.key_name_to_key_number("F# minor"), 0)
    )
    window = read_midi_window(_bytes(midi), quarters=4)
    assert window.tempos[0][1] == round(60_000_000 / 96)
    assert window.time_signatures == [(0, 3, 4)]
    assert window.key_signatures == [(0, 3, True)]  # three sharps, minor
    assert {n.velocity for n in window.notes} == {90}


def test_drums_are_left_out_and_a_drums_only_file_is_refused():
    midi = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes.append(pretty_midi.Note(100, 36, 0, 0.5))
    midi.instruments.append(kit)
    with pytest.raises(DataError, match="no notes"):
        read_midi_window(_bytes(midi), quarters=4)


def test_a_note_held_for_ten_million_ticks_is_read_as_the_window_only():
    data = hostile_midi.long_held_note()
    assert len(data) < 50
    window = read_midi_window(data, quarters=64)
    assert window.span == 64 and len(window.notes) == 1  # clipped to the window
    roll = window_to_roll(window, frames_per_beat=2)
    assert roll.shape == (128, 88) and roll.all(axis=0).sum() == 1


def test_a_note_bomb_reads_only_its_opening():
    window = read_midi_window(hostile_midi.note_bomb(), quarters=64)  # its cost: scripts/bench_continue.py
    assert window.events_read < 100_000 and max(n.end for n in window.notes) <= 64 * 480


def test_a_file_past_the_event_limit_is_refused():
    with pytest.raises(DataError, match="more than 1,000 MIDI events"):
        read_midi_window(hostile_midi.note_bomb(2_000), quarters=10**6, max_events=1_000)


def test_notes_past_pretty_midis_tick_limit_are_no_problem():
    window = read_midi_window(hostile_midi.past_tick_limit(), quarters=64)
    assert [n.pitch for n in window.notes] == [60]  # the second note lies 12 million ticks later


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "does not start with a MIDI header"),
        (b"RIFF" + b"\0" * 40, "does not start with a MIDI header"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\xe7\x28", "SMPTE"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x00", "0 ticks per beat"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0", "no tracks"),
        (hostile_midi.smf([b"\x00\x3c\x40"]), "no status byte"),
        (hostile_midi.smf([b"\xff\xff\xff\xff\xff\x90\x3c\x40"]), "malformed variable-length"),
        (hostile_midi.smf([b"\x00\xf8"]), "status byte 0xF8"),
    ],
)
def test_damaged_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(DataError, match=reason):
        read_midi_window(data, quarters=8)


def test_a_truncated_file_keeps_what_it_holds():
    data = _bytes(chord_midi(beats=16))
    window = read_midi_window(hostile_midi.truncated(data, len(data) // 2), quarters=64)
    assert 0 < len(window.notes) < 48


def test_the_key_comes_from_the_notes_not_the_signature():
    midi = chord_midi(beats=16)  # C major chords
    for note in midi.instruments[0].notes:
        note.pitch += 7  # now in G major
    midi.key_signature_changes.append(pretty_midi.KeySignature(0, 0))  # the file still says C
    prime = read_prime(_bytes(midi), bars=4, frames_per_beat=2, transpose=True)
    assert (prime.tonic, prime.minor, prime.shift, prime.key_name) == (7, False, 5, "G major")  # G up to C


def _chords(progression: list[list[int]], key: str | None = None) -> bytes:
    """A quarter-note chord a beat at 120 bpm; `key`: mido's key signature name ("Abm")."""
    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    song.tracks.append(track)
    if key is not None:
        track.append(mido.MetaMessage("key_signature", key=key, time=0))
    for chord in progression:
        track += [mido.Message("note_on", note=p, velocity=80, time=0) for p in chord]
        track += [
            mido.Message("note_off", note=p, velocity=0, time=480 if i == 0 else 0)
            for i, p in enumerate(chord)
        ]
    buffer = io.BytesIO()
    song.save(file=buffer)
    return buffer.getvalue()


def test_a_piece_that_opens_on_its_dominant_is_read_in_the_key_it_comes_home_to():
    g, d7, c, f = [55, 59, 62], [54, 57, 60, 62], [48, 52, 55, 60], [53, 57, 60]
    opening_in_g = [g, d7, g, d7, g, d7, g, g]  # eight beats with F sharp: G major's area
    home_in_c = [c, f, g, c, f, g, c, c]  # then eight in C, ending on C
    prime = read_prime(_chords(opening_in_g + home_in_c), bars=4, frames_per_beat=2, transpose=True)
    assert prime.key_name == "C major"


def test_the_key_is_spelled_as_its_signature_spells_it():
    gis_minor = [[56, 59, 63], [51, 55, 58], [56, 59, 63], [49, 52, 56]] * 2  # G♯ minor: i V i iv
    sharps = read_prime(_chords(gis_minor, key="G#m"), 4, 2, True)
    flats = read_prime(_chords(gis_minor, key="Abm"), 4, 2, True)
    assert sharps.key_name == "G♯ minor" and flats.key_name == "A♭ minor"
    assert (sharps.tonic, sharps.minor) == (8, True)


def test_a_file_cut_short_is_read_as_far_as_it_goes_and_says_so():
    whole = _bytes(chord_midi(beats=32))
    assert not read_prime(whole, bars=2, frames_per_beat=2, transpose=True).window.cut_short
    cut = read_prime(whole[: len(whole) * 2 // 3], bars=2, frames_per_beat=2, transpose=True)
    assert cut.window.cut_short and len(cut.roll)  # the opening was there: it is read
    assert PrimePiece.from_bytes(cut.to_bytes()).window.cut_short  # through the reader process
