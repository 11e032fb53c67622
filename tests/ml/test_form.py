"""Form for a model that hears no bars: the meter read from the notes, the phrase plan's
repeats, the form figures, and a player's dynamics."""

import numpy as np
import pytest

from ml.music.form import FormPlan, Meter, detect_meter, motif_reuse_share, plan_for, repeated_bar_share
from ml.music.generate import PianoGenerator
from ml.music.performance import performed_midi
from ml.music.pianoroll import KEYS
from ml.music.request import PianoRequest

C, F, G = [27, 31, 34], [32, 36, 39], [34, 38, 41]  # triads, as keys above A0


def tune(
    chords: list[list[int]], beats_per_chord: list[int], melody_every: int = 1, fpb: int = 2
) -> np.ndarray:
    """Chords held for the given beats (a harmony that changes on each bar line), with a
    melody note re-struck every `melody_every` frames above them."""
    frames = []
    for chord, beats in zip(chords, beats_per_chord, strict=True):
        for t in range(beats * fpb):
            frame = np.zeros(KEYS, dtype=bool)
            frame[chord] = True
            if t % melody_every == 0 or not frames:
                frame[60 + (len(frames) // melody_every) % 5] = True
            frames.append(frame)
    roll = np.array(frames)
    roll[1:, 60:] &= ~roll[:-1, 60:] | (np.arange(1, len(roll)) % melody_every != 0)[:, None]  # re-strike
    return roll


def test_the_meter_is_the_period_at_which_harmony_changes():
    progression = [C, F, G, C] * 4
    waltz = tune(progression, [3] * 16, melody_every=2)  # a chord a bar of three quarters
    march = tune(progression, [4] * 16, melody_every=2)
    jig = tune(progression, [3] * 16, melody_every=1)  # three-beat bars running in eighths
    assert (detect_meter(waltz, 2).beats, detect_meter(waltz, 2).compound) == (3, False)
    assert detect_meter(march, 2) == Meter(4)
    assert str(detect_meter(jig, 2)) == "6/8"
    pickup = np.concatenate([np.zeros((2, KEYS), dtype=bool), march])  # one silent beat first
    pickup[0, 62] = True
    assert detect_meter(pickup, 2).pickup_beats == 1
    assert detect_meter(waltz, 2, allowed=(4,)).beats == 4  # a style in common time only


def test_a_plan_repeats_whole_parts_but_their_last_bar_and_ends_at_a_phrase_end():
    plan = FormPlan("AABB")
    meter = Meter(3)  # 3 beats × 2 frames: 6-frame bars, 24-frame parts
    copies = plan.copies(meter, 2, 96)
    assert copies[24] == 0 and copies[24 + 17] == 17 and 24 + 18 not in copies  # A's last bar is new
    assert not any(48 <= t < 72 for t in copies)  # B is new
    assert copies[72] == 48
    opening = FormPlan("ABCA", kept_bars=2).copies(meter, 2, 96)
    assert sorted(opening) == list(range(72, 84))  # the return keeps the opening's first two bars
    assert plan.length(meter, 2, 100) == 96 and plan.length(meter, 2, 10) == 10


def test_the_form_figures_count_repeats_transposed_and_motifs():
    bar = tune([C], [4], melody_every=2)
    other = tune([F], [4], melody_every=2)
    moved = np.roll(bar, 2, axis=1)
    roll = np.concatenate([bar, other, moved, bar])
    assert repeated_bar_share(roll, 2, Meter(4)) == pytest.approx(0.5)  # bars 3 (transposed) and 4
    assert motif_reuse_share(roll, 2, Meter(4)) == pytest.approx(0.75)  # the same melody over F too


def test_a_piece_is_played_with_accents_arcs_and_the_melody_over_the_bass():
    roll = tune([C, F, G, C] * 2, [4] * 8, melody_every=2)
    midi = performed_midi(roll, 120.0, 2, Meter(4))
    notes = midi.instruments[0].notes
    velocities = np.array([n.velocity for n in notes])
    assert velocities.std() >= 6
    top = np.mean([n.velocity for n in notes if n.pitch >= 60 + 21])
    bass = np.mean([n.velocity for n in notes if n.pitch == C[0] + 21])
    assert top > bass
    downbeats = [n.velocity for n in notes if n.pitch >= 81 and round(n.start / 0.5) % 4 == 0]
    offbeats = [n.velocity for n in notes if n.pitch >= 81 and round(n.start / 0.5) % 4 == 1]
    assert np.mean(downbeats) > np.mean(offbeats)
    signature = midi.time_signature_changes
    assert [(s.numerator, s.denominator) for s in signature] == [(4, 4)]
    with_pickup = performed_midi(roll, 120.0, 2, Meter(3, compound=True, pickup_beats=1))
    assert [(s.numerator, s.denominator, s.time) for s in with_pickup.time_signature_changes] == [
        (1, 4, 0.0),
        (6, 8, 0.5),
    ]


def test_a_generated_piece_follows_its_plan(tiny_piano_checkpoint):
    generator = PianoGenerator.from_checkpoint(tiny_piano_checkpoint)
    request = PianoRequest(seconds=40, seed=3, form=plan_for("folk"))
    (piece,) = generator.generate([request])
    fpb, meter = generator.frames_per_beat, piece.meter
    bar = meter.beats * fpb
    part = 4 * bar
    start = meter.pickup_beats * fpb
    assert (len(piece.roll) - start) % part == 0  # it ends at a phrase end
    first, again = piece.roll[start : start + part - bar], piece.roll[start + part : start + 2 * part - bar]
    assert np.array_equal(first, again)  # the second A repeats the first but for its last bar
    free = PianoGenerator.from_checkpoint(tiny_piano_checkpoint).generate([PianoRequest(seconds=40, seed=3)])[
        0
    ]
    assert len(free.roll) == generator.frames_for(40)  # no plan: the length asked for


def test_a_formed_piece_ends_on_its_tonic_chord(tiny_piano_checkpoint):
    from ml.music.keyboard import LOWEST_PITCH, key_of_histogram, roll_pitch_classes

    generator = PianoGenerator.from_checkpoint(tiny_piano_checkpoint)
    pieces = generator.generate([PianoRequest(seconds=10, seed=s, form=plan_for("folk")) for s in range(4)])
    for piece in pieces:
        tonic, minor = key_of_histogram(roll_pitch_classes(piece.roll[:-1]))
        triad = {tonic, (tonic + (3 if minor else 4)) % 12, (tonic + 7) % 12}
        last = {(k + LOWEST_PITCH) % 12 for k in np.flatnonzero(piece.roll[-1])}
        assert last <= triad


def test_each_pair_of_parts_ends_half_then_authentic():
    plan = FormPlan("AABB")
    ends = plan.cadences(Meter(4), 2, 128)  # 32-frame parts
    assert ends == {31: "half", 63: "authentic", 95: "half", 127: "authentic"}
    assert plan.cadences(Meter(4), 2, 80)[79] == "authentic"  # the piece's end, whatever part
    from ml.music.form import cadence_chord, triad

    assert triad(cadence_chord((9, True), "authentic")) == {9, 0, 4}  # A minor
    assert triad(cadence_chord((9, True), "half")) == {4, 8, 11}  # E major: the raised leading tone
