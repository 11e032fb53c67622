"""Chorales in four voices: each frame drawn voice by voice within its range, parallels
made rare, the last chord on the tonic; and the figures a chorale is read by."""

from dataclasses import replace

import numpy as np
import pytest

from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.music.form import plan_for
from ml.music.generate import PianoGenerator
from ml.music.keyboard import LOWEST_PITCH, key_of_histogram, roll_pitch_classes
from ml.music.meta import PianoMeta
from ml.music.pianoroll import KEYS
from ml.music.request import PianoRequest
from ml.music.voicing import SATB, ChoraleFigures, VoicedDraw, Voicing, parallel_count, voiced_frame, voices


def frame_of(*pitches: int) -> np.ndarray:
    frame = np.zeros(KEYS, dtype=bool)
    frame[[p - LOWEST_PITCH for p in pitches]] = True
    return frame


def nade(seed: int = 0, hidden: int = 8):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=hidden),
        rng.normal(size=KEYS),
        rng.normal(size=(KEYS, hidden)),
        rng.normal(size=(KEYS, hidden)),
    )


def test_a_voiced_frame_has_one_key_per_voice_in_its_range_rising():
    for seed in range(20):
        uniforms = np.random.default_rng(seed).random(KEYS)
        frame = voiced_frame(*nade(seed), 1.0, uniforms, VoicedDraw(Voicing(unison_share=0)))
        pitches = [k + LOWEST_PITCH for k in voices(frame)]
        assert len(pitches) == 4 and pitches == sorted(set(pitches))
        assert all(low <= p <= high for p, (low, high) in zip(pitches, SATB, strict=True))


def test_parallel_fifths_and_octaves_are_made_rare_and_the_end_is_the_tonic():
    bias, keys, encoder, decoder = nade(1)
    previous = [p - LOWEST_PITCH for p in (55, 62, 67, 74)]  # G D G D: fifths and octaves everywhere
    counts = {True: 0, False: 0}
    for avoid in (True, False):
        voicing = Voicing(parallel_weight=0.0 if avoid else 1.0)
        for seed in range(40):
            uniforms = np.random.default_rng(seed).random(KEYS)
            frame = voiced_frame(bias, keys, encoder, decoder, 1.0, uniforms, VoicedDraw(voicing, previous))
            before = np.zeros(KEYS, dtype=bool)
            before[previous] = True
            counts[avoid] += parallel_count(np.stack([before, frame]))
    assert counts[True] == 0 < counts[False]
    ending = voiced_frame(
        bias, keys, encoder, decoder, 1.0, np.full(KEYS, 0.5), VoicedDraw(Voicing(), None, (9, True))
    )
    classes = [(k + LOWEST_PITCH) % 12 for k in voices(ending)]
    assert classes[0] == 9 and set(classes) <= {9, 0, 4}  # A minor: A in the bass, A C E above


def test_voices_meet_in_unison_about_as_often_as_asked():
    frames = [
        voiced_frame(
            *nade(seed), 1.0, np.random.default_rng(seed).random(KEYS), VoicedDraw(Voicing(unison_share=0.2))
        )
        for seed in range(200)
    ]
    three = np.mean([len(voices(f)) == 3 for f in frames])
    assert 0.3 < three < 0.7  # each of three voices meets the one below a fifth of the time: about half
    assert all(len(voices(f)) >= 1 for f in frames)


def test_parallels_are_counted_between_voices_moving_alike():
    roll = np.stack([frame_of(48, 55, 64, 72), frame_of(50, 57, 65, 74), frame_of(50, 57, 65, 74)])
    assert parallel_count(roll) == 2  # bass and tenor a fifth, bass and soprano an octave, rising together
    contrary = np.stack([frame_of(48, 55, 64, 72), frame_of(47, 55, 62, 74)])
    assert parallel_count(contrary) == 0
    figures = ChoraleFigures.of(roll, 1)
    assert figures.bass_median == 50 and figures.soprano_max == 74 and figures.four_voice_share == 1.0


def test_a_generated_chorale_sings_in_four_voices_and_ends_on_its_tonic(tiny_piano_checkpoint, tmp_path):
    checkpoint = load_checkpoint(tiny_piano_checkpoint, "piano")  # trained, like JSB's, an octave up
    checkpoint.meta = replace(PianoMeta.from_dict(checkpoint.meta), sounding_shift=-12).to_dict()
    save_checkpoint(tmp_path / "chorale.pt", checkpoint)
    generator = PianoGenerator.from_checkpoint(tmp_path / "chorale.pt")
    request = PianoRequest(seconds=20, seed=2, form=plan_for("chorale"), voicing=Voicing(unison_share=0))
    (piece,) = generator.generate([request])
    sung = [voices(f) for f in piece.roll[1:]]  # the opening chord is fed, not drawn
    assert all(len(v) == 4 for v in sung)
    tonic, _ = key_of_histogram(roll_pitch_classes(piece.roll[:-1]))
    assert (sung[-1][0] + LOWEST_PITCH) % 12 == tonic
    assert piece.sounding_shift == -12
    lowest = min(n.pitch for n in piece.to_midi().instruments[0].notes)
    assert lowest == min(k for f in piece.roll for k in voices(f)) + LOWEST_PITCH - 12
    assert pytest.approx(1.0) == ChoraleFigures.of(piece.roll[1:], generator.frames_per_beat).four_voice_share
