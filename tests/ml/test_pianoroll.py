import io
import pickle

import mido
import numpy as np
import pretty_midi
import pytest
import torch
from scipy.io import savemat

from ml.errors import DataError
from ml.music.data import PianoCorpus, Tune, load_benchmark, load_midi_folder, transposed
from ml.music.pianoroll import (
    KEYS,
    LOWEST_PITCH,
    key_shift,
    load_midi,
    midi_to_roll,
    roll_to_midi,
    save_roll_png,
)
from tests.music_fixtures import chord_midi


def _roll(pairs, frames=16):
    roll = np.zeros((frames, KEYS), dtype=bool)
    for key, start, end in pairs:
        roll[start:end, key] = True
    return roll


def test_roll_to_midi_to_roll_is_identical_on_the_grid():
    roll = _roll([(39, 0, 4), (43, 2, 3), (46, 2, 9), (87, 10, 16), (0, 15, 16)])
    for tempo, frames_per_beat in ((120, 2), (97, 4)):
        midi = roll_to_midi(roll, tempo, frames_per_beat)
        back = midi_to_roll(load_midi(_bytes(midi)), frames_per_beat).roll
        np.testing.assert_array_equal(back, roll)


def _bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def test_a_tempo_change_keeps_notes_on_their_beats():
    # 120 bpm for four beats, then 60 bpm; written with mido so the tempo map is real MIDI.
    ticks = 480
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    track.append(mido.Message("note_on", note=60, velocity=80, time=2 * ticks))
    track.append(mido.Message("note_off", note=60, velocity=0, time=ticks))
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=ticks))
    track.append(mido.Message("note_on", note=64, velocity=80, time=ticks))
    track.append(mido.Message("note_off", note=64, velocity=0, time=ticks))
    file = mido.MidiFile(ticks_per_beat=ticks)
    file.tracks.append(track)
    buffer = io.BytesIO()
    file.save(file=buffer)
    midi = load_midi(buffer.getvalue())
    assert midi.instruments[0].notes[1].start == pytest.approx(3.0)  # beat 5 is at 3 s
    roll = midi_to_roll(midi, frames_per_beat=2).roll  # starts at the first note, beat 2
    assert np.flatnonzero(roll[:, 60 - LOWEST_PITCH]).tolist() == [0, 1]  # one beat
    assert np.flatnonzero(roll[:, 64 - LOWEST_PITCH]).tolist() == [6, 7]  # beat 5, one beat


def test_a_jig_in_six_eight_gets_eighth_note_frames_and_its_pickup_starts_the_roll():
    # 6/8 at 120 quarter-notes a minute: an eighth is 0.25 s. The tune opens with a rest
    # and a one-eighth pickup (as ABC tunes do), then six eighths to the bar.
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(6, 8, 0.0))
    tune = pretty_midi.Instrument(program=0)
    pitches = [67, 72, 74, 76, 72, 74, 76, 79]
    for i, pitch in enumerate(pitches):
        start = 1.25 + 0.25 * i
        tune.notes.append(pretty_midi.Note(80, pitch, start, start + 0.25))
    midi.instruments.append(tune)
    roll = midi_to_roll(load_midi(_bytes(midi)), frames_per_beat=2).roll
    assert len(roll) == len(pitches)  # one frame per eighth, none before the pickup
    assert [int(np.flatnonzero(f)[0]) + LOWEST_PITCH for f in roll] == pitches


def test_drums_are_ignored_and_out_of_range_notes_counted():
    midi = chord_midi(beats=4)
    drums = pretty_midi.Instrument(0, is_drum=True)
    drums.notes.append(pretty_midi.Note(100, 36, 0.0, 0.5))
    midi.instruments.append(drums)
    midi.instruments[0].notes += [
        pretty_midi.Note(80, 10, 0, 0.5),
        pretty_midi.Note(80, 120, 0, 0.5),
    ]
    conversion = midi_to_roll(midi)
    assert conversion.dropped_notes == 2
    assert conversion.roll[:, 36 - LOWEST_PITCH].sum() == 0
    assert conversion.roll.sum(axis=1).max() == 3


def test_transposition_to_c_major_uses_the_key_signature_or_an_estimate():
    midi = chord_midi(beats=8)
    assert key_shift(midi) == 0  # estimated: C major
    midi.key_signature_changes.append(pretty_midi.KeySignature(2, 0.0))  # D major
    assert key_shift(midi) == -2
    shifted = midi_to_roll(midi, transpose=True).roll
    assert shifted[0, 58 - LOWEST_PITCH]  # C4 moved down to A#3


def test_corrupt_bytes_are_a_clear_error():
    with pytest.raises(DataError, match="Cannot read MIDI file"):
        load_midi(b"MThd\x00\x00garbage")


def test_a_folder_with_a_bad_file_still_loads_the_rest(tmp_path, caplog):
    for i in range(3):
        chord_midi(beats=8).write(str(tmp_path / f"ok{i}.mid"))
    (tmp_path / "sub").mkdir()
    chord_midi(beats=4).write(str(tmp_path / "sub" / "nested.MID"))
    (tmp_path / "broken.mid").write_bytes(b"not midi at all")
    drums_only = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(0, is_drum=True)
    kit.notes.append(pretty_midi.Note(100, 36, 0, 1))
    drums_only.instruments.append(kit)
    drums_only.write(str(tmp_path / "drums.mid"))

    folder = load_midi_folder(tmp_path, frames_per_beat=2, transpose=False)
    assert sorted(t.name for t in folder.tunes) == [
        "ok0.mid",
        "ok1.mid",
        "ok2.mid",
        "sub/nested.MID",
    ]
    assert folder.skipped == {"unreadable": 1, "no notes": 1}
    assert "broken.mid" in caplog.text
    cached = load_midi_folder(tmp_path, frames_per_beat=2, transpose=False)
    assert [t.name for t in cached.tunes] == [t.name for t in folder.tunes]
    assert cached.skipped == folder.skipped
    for a, b in zip(cached.tunes, folder.tunes, strict=True):
        np.testing.assert_array_equal(a.roll, b.roll)


def test_benchmark_pickle_and_mat_load_with_their_splits(tmp_path):
    pieces = {"train": [[[60, 64], [60], []]], "valid": [[[21, 108]]], "test": [[[62], [62]]]}
    pickle_path = tmp_path / "set.pickle"
    pickle_path.write_bytes(pickle.dumps(pieces, protocol=2))
    loaded = load_benchmark(pickle_path)
    assert loaded["train"][0].roll.shape == (3, KEYS)
    assert loaded["valid"][0].roll[0, [0, 87]].all()

    cells = {f"{split}data": np.empty((1, len(v)), dtype=object) for split, v in loaded.items()}
    for split, tunes in loaded.items():
        for i, tune in enumerate(tunes):
            cells[f"{split}data"][0, i] = tune.roll.astype(np.uint8)
    mat_path = tmp_path / "set.mat"
    savemat(mat_path, cells)
    from_mat = load_benchmark(mat_path)
    for split in loaded:
        np.testing.assert_array_equal(from_mat[split][0].roll, loaded[split][0].roll)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("owned",))

    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"train": [Exploit()], "valid": [], "test": []}))
    with pytest.raises(DataError, match=r"refusing to load builtins\.print"):
        load_benchmark(path)


def test_piano_roll_picture_is_a_png(tmp_path):
    save_roll_png(midi_to_roll(chord_midi(beats=16)).roll, tmp_path / "roll.png", title="chords")
    data = (tmp_path / "roll.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_transposed_moves_every_note_and_drops_those_off_the_keyboard():
    roll = torch.zeros(3, KEYS)
    roll[0, 0] = roll[1, 40] = roll[2, KEYS - 1] = 1
    up = transposed(roll, 2)
    assert up.nonzero().tolist() == [[0, 2], [1, 42]]  # the top key fell off
    down = transposed(roll, -3)
    assert down.nonzero().tolist() == [[1, 37], [2, KEYS - 4]]  # the bottom key fell off
    assert torch.equal(transposed(roll, 0), roll)


def test_transposition_augmentation_moves_training_epochs_only():
    rolls = [np.zeros((6, KEYS), dtype=bool) for _ in range(8)]
    for i, roll in enumerate(rolls):
        roll[:, 40 + i] = True
    corpus = PianoCorpus([Tune(f"t{i}", r) for i, r in enumerate(rolls)], max_shift=3)
    plain = torch.stack(corpus.sequences)
    validation = corpus.tune_batches(8)[0]
    assert torch.equal(validation.inputs, plain[:, :-1])

    epochs = [corpus.tune_batches(8, torch.Generator().manual_seed(s))[0] for s in range(3)]
    keys = {int(k) for batch in epochs for k in batch.inputs.nonzero()[:, 2].unique()}
    assert keys != set(range(40, 48))  # some tunes moved
    assert min(keys) >= 37 and max(keys) <= 50  # by at most three semitones
    for batch in epochs:  # each tune moved as a whole: one key per frame, the same in every frame
        assert torch.equal(batch.inputs.sum(-1), torch.ones(8, 5))
        assert torch.equal(batch.inputs[:, 0], batch.inputs[:, -1])
    again = corpus.tune_batches(8, torch.Generator().manual_seed(0))[0]
    assert torch.equal(again.inputs, epochs[0].inputs)  # the seed decides
