import pickle

import numpy as np
import pytest
import torch

from ml.music.data import PianoCorpus, load_midi_folder, split_folder
from ml.music.evaluate import accompaniment_up_an_octave, score_midi_path, score_model
from ml.music.melody import MATCH_THRESHOLD, MelodyIndex, melody_ngrams, similarity
from ml.music.meta import PianoData, PianoMeta
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.pianoroll import KEYS, LOWEST_PITCH, roll_to_midi
from ml.music.task import PianoDataConfig, PianoTask


def _tune(seed: int, chord_octave: int = 0, shift: int = 0, frames: int = 96) -> np.ndarray:
    """A random melody (two frames a note, no note repeated) over a low triad."""
    rng = np.random.default_rng(seed)
    roll = np.zeros((frames, KEYS), dtype=bool)
    melody = 40 + np.cumsum(rng.integers(1, 12, size=frames // 2)) % 20
    for i, key in enumerate(melody):
        roll[2 * i : 2 * i + 2, key + shift] = True
        roll[2 * i : 2 * i + 2, [24 + shift + 12 * chord_octave + d for d in (0, 4, 7)]] = True
    return roll


def test_a_melody_survives_another_key_voicing_and_start():
    original = melody_ngrams(_tune(1))
    other_packaging = melody_ngrams(_tune(1, chord_octave=-1, shift=3)[6:])
    assert similarity(original, other_packaging) > 0.8
    assert similarity(original, melody_ngrams(_tune(2))) < MATCH_THRESHOLD


def test_only_tunes_that_match_a_training_tune_and_no_held_out_tune_join_training():
    index = MelodyIndex({"train": [_tune(1), _tune(2)], "valid": [_tune(3)], "test": [_tune(4)]})
    extra = [_tune(2, chord_octave=-1), _tune(3, chord_octave=-1), _tune(4, shift=2), _tune(9)]
    keep, report = index.safe_for_training(extra)
    assert keep == [True, False, False, False]
    assert report.to_dict() == {"kept": 1, "matches_held_out": 2, "unverified": 1}


def _benchmark_and_folder(tmp_path):
    """Four benchmark tunes (two train, one valid, one test) and a MIDI folder holding
    each of them, and one unrelated tune, twice under other names, chords an octave lower."""
    rolls = {"train": [_tune(1), _tune(2)], "valid": [_tune(3)], "test": [_tune(4)]}
    benchmark = tmp_path / "set.pickle"
    as_pitches = {s: [[(np.flatnonzero(f) + 21).tolist() for f in r] for r in rs] for s, rs in rolls.items()}
    benchmark.write_bytes(pickle.dumps(as_pitches, protocol=2))
    folder = tmp_path / "midi"
    folder.mkdir()
    for copy in range(2):
        for seed in (1, 2, 3, 4, 9):
            roll_to_midi(_tune(seed, chord_octave=-1)).write(str(folder / f"tune{seed}-{copy}.mid"))
    return benchmark, folder


def test_a_benchmark_run_can_add_a_midi_folder_without_its_held_out_tunes(tmp_path):
    benchmark, folder = _benchmark_and_folder(tmp_path)
    task = PianoTask(PianoDataConfig(benchmark, transpose=False, validation_fraction=0.2, also_train=folder))
    added = task.summary.also_train
    folder_train = len(split_folder(load_midi_folder(folder, 2, False).tunes, 0.2)[0])
    assert added["kept"] + added["matches_held_out"] + added["unverified"] == folder_train
    assert added["matches_held_out"] >= 2 and added["unverified"] >= 1
    assert len(task.train.tunes) == 2 + added["kept"]
    assert all(similarity(melody_ngrams(t.roll), melody_ngrams(_tune(3))) < 0.5 for t in task.train.tunes)


def test_the_midi_path_report_scores_both_readings_and_the_unseen_tunes(tmp_path):
    benchmark, folder = _benchmark_and_folder(tmp_path)
    model = PianoLSTM(PianoLSTMConfig(input_dim=8, hidden=8, layers=1, head="nade", nade_hidden=4)).eval()
    meta = PianoMeta(frames_per_beat=2, transpose=False, data=PianoData(validation_fraction=0.5))
    report = score_midi_path(model, meta, benchmark, folder, "test")
    _, midi_val = split_folder(load_midi_folder(folder, 2, False).tunes, 0.5)
    unseen = [t for t in midi_val if t.name.startswith(("tune3-", "tune4-"))]
    assert report["benchmark_test"]["tunes"] == 1
    assert report["midi_val"]["tunes"] == len(midi_val)
    assert report["midi_val_unseen"]["tunes"] == len(unseen) > 0
    expected = score_model(model, PianoCorpus(midi_val), torch.device("cpu"))
    assert report["midi_val"]["nll_per_frame"] == pytest.approx(expected["nll_per_frame"])
    assert report["midi_val_chords_up"]["frames"] == report["midi_val"]["frames"]


def test_the_accompaniment_moves_up_an_octave_and_the_melody_stays():
    roll = np.zeros((2, KEYS), dtype=bool)
    low, melody = 48 - LOWEST_PITCH, 72 - LOWEST_PITCH  # C3 in the chords, C5 in the tune
    roll[0, [low, melody]] = True
    roll[1, 60 - LOWEST_PITCH] = True  # middle C itself stays
    lifted = accompaniment_up_an_octave(roll)
    assert np.flatnonzero(lifted[0]).tolist() == [low + 12, melody]
    assert np.flatnonzero(lifted[1]).tolist() == [60 - LOWEST_PITCH]
