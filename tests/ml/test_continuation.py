"""/continue's MIDI: the user's part comes back as they wrote it, and the model's music
follows at their tempo, in their meter and key."""

import io
import statistics

import numpy as np
import pretty_midi
import pytest

from ml.music.continuation import continuation_midi, continuation_request
from ml.music.generate import PianoSample
from ml.music.keyboard import LOWEST_PITCH
from ml.music.prime import PrimePiece, read_prime
from ml.music.render import render_piece
from tests.music_fixtures import expressive_piece, jig_with_pickup


def _bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def _continued(prime, new_frames: np.ndarray) -> PianoSample:
    roll = np.concatenate([prime.roll, new_frames])
    return PianoSample(
        roll, seed=1, temperature=1.0, prime_frames=len(prime.roll), tempo_bpm=120, frames_per_beat=2
    )


@pytest.mark.parametrize(("meter", "tempo"), [((2, 4), 100), ((3, 4), 96), ((6, 8), 144), ((4, 4), 120)])
def test_the_users_part_comes_back_as_they_wrote_it(meter, tempo):
    original = expressive_piece(meter, tempo)
    prime = read_prime(_bytes(original), bars=4, frames_per_beat=2, transpose=True)
    assert prime.meter == meter and prime.bars == 4 and prime.tempo_bpm == pytest.approx(tempo, abs=0.01)
    assert prime.key_name == "G major" and prime.shift == 5  # the notes, not the signature
    back = pretty_midi.PrettyMIDI(
        io.BytesIO(continuation_midi(prime, _continued(prime, np.zeros((8, 88), bool))))
    )
    window_end = 4 * meter[0] * 4 / meter[1] * 60 / tempo
    for before, after in zip(original.instruments, back.instruments, strict=False):
        read = [n for n in before.notes if n.start < window_end - 1e-6]
        assert after.program == before.program and len(after.notes) == len(read)
        for a, b in zip(sorted(read, key=lambda n: (n.start, n.pitch)), after.notes, strict=True):
            assert (a.pitch, a.velocity) == (b.pitch, b.velocity)
            assert abs(a.start - b.start) < 0.010 and abs(min(a.end, window_end) - b.end) < 0.010
    assert back.get_tempo_changes()[1][0] == pytest.approx(tempo, abs=0.01)
    assert [(s.numerator, s.denominator) for s in back.time_signature_changes] == [meter]
    assert [k.key_number for k in back.key_signature_changes] == [0]  # the user's own signature, kept


def test_the_continuation_follows_in_the_users_key_tempo_and_range():
    original = expressive_piece((3, 4), 96)
    prime = read_prime(_bytes(original), bars=4, frames_per_beat=2, transpose=True)
    new = np.zeros((6, 88), bool)
    new[:, 60 - 21] = True  # the model plays C4 in its key (C major) ...
    back = pretty_midi.PrettyMIDI(io.BytesIO(continuation_midi(prime, _continued(prime, new))))
    (played,) = back.instruments[-1].notes
    assert played.pitch == 55  # ... which is G3 in the user's key
    frame = 60 / 96 / 2
    assert played.start == pytest.approx(len(prime.roll) * frame, abs=0.002)
    assert played.end - played.start == pytest.approx(6 * frame, abs=0.002)  # at the user's tempo
    velocities = [n.velocity for n in prime.window.notes]
    assert min(velocities) <= played.velocity <= max(velocities)


def test_the_picture_counts_bars_in_the_users_meter(tmp_path):
    prime = read_prime(_bytes(expressive_piece((3, 4), 96)), bars=4, frames_per_beat=2, transpose=True)
    rendered = render_piece(_continued(prime, np.zeros((4, 88), bool)), prime=prime, audio=())
    assert rendered.png[:4] == b"\x89PNG" and rendered.notes == sum(
        len(i.notes) for i in pretty_midi.PrettyMIDI(io.BytesIO(rendered.midi)).instruments
    )


def test_a_tempo_change_in_the_bars_read_is_said_and_the_continuation_keeps_the_last():
    import mido

    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    song.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96), time=0))
    for beat in range(8):
        if beat == 4:
            track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
        track.append(mido.Message("note_on", note=60 + beat % 3, velocity=80, time=0))
        track.append(mido.Message("note_off", note=60 + beat % 3, velocity=0, time=480))
    buffer = io.BytesIO()
    song.save(file=buffer)
    prime = read_prime(buffer.getvalue(), 16, 2, True)
    assert prime.summary.startswith("96→120 bpm, 4/4")
    assert prime.final_tempo_bpm == pytest.approx(120)
    assert prime.frames_for(30, 2) == 120  # 30 s at 120 bpm on an eighth-note grid


def test_a_silent_opening_stays_in_the_midi_but_not_in_the_preview():
    import soundfile

    from ml.music.audio import RELEASE_S
    from ml.music.render import LEAD_IN_S

    late = expressive_piece((4, 4), 120, bars=2)
    for instrument in late.instruments:
        for note in instrument.notes:
            note.start, note.end = note.start + 5.0, note.end + 5.0  # five silent seconds first
    prime = read_prime(_bytes(late), bars=2, frames_per_beat=2, transpose=True)
    rendered = render_piece(
        _continued(prime, np.zeros((4, 88), bool)), prime=prime, audio=("wav",), png=False
    )
    midi = pretty_midi.PrettyMIDI(io.BytesIO(rendered.midi))
    first = min(n.start for i in midi.instruments for n in i.notes)
    assert first == pytest.approx(5.0, abs=0.02)  # the user's timing, as written
    audio, rate = soundfile.read(io.BytesIO(rendered.audio["wav"]))
    heard = midi.get_end_time() - first + LEAD_IN_S + RELEASE_S
    assert len(audio) / rate == pytest.approx(heard, abs=0.05)


def test_each_part_keeps_its_track_name_and_goes_on_in_its_own_register():
    quartet = expressive_piece((4, 4), 120, bars=2)
    quartet.instruments[0].name, quartet.instruments[1].name = "Cello", "1st Violin"
    cello = min(quartet.instruments, key=lambda i: statistics.median(n.pitch for n in i.notes))
    violin = max(quartet.instruments, key=lambda i: statistics.median(n.pitch for n in i.notes))
    data = _bytes(quartet)
    prime = PrimePiece.from_bytes(read_prime(data, bars=2, frames_per_beat=2, transpose=True).to_bytes())
    assert sorted(prime.window.track_names.values()) == [
        b"1st Violin",
        b"Cello",
    ]  # through the reader process
    low, high = min(n.pitch for n in cello.notes), max(n.pitch for n in violin.notes)
    played = np.zeros((4, 88), bool)
    played[:, [low + prime.shift - LOWEST_PITCH, high + prime.shift - LOWEST_PITCH]] = (
        True  # one note for each
    )
    back = pretty_midi.PrettyMIDI(io.BytesIO(continuation_midi(prime, _continued(prime, played))))
    names = [i.name for i in back.instruments]
    assert names[:2] == ["Cello", "1st Violin"] and sorted(names[2:]) == [
        "1st Violin (continued)",
        "Cello (continued)",
    ]
    by_name = {i.name: i for i in back.instruments}
    assert [n.pitch for n in by_name["Cello (continued)"].notes] == [low]
    assert by_name["Cello (continued)"].program == cello.program
    assert [n.pitch for n in by_name["1st Violin (continued)"].notes] == [high]
    assert by_name["1st Violin (continued)"].program == violin.program


def test_a_karaoke_files_words_come_back_with_its_music():
    import mido

    song = mido.MidiFile(ticks_per_beat=480)
    music, words = mido.MidiTrack(), mido.MidiTrack()
    song.tracks += [music, words]
    words.append(mido.MetaMessage("text", text="@KMIDI KARAOKE FILE", time=0))  # a .kar header
    for beat, syllable in enumerate(["Twin", "kle ", "twin", "kle"]):
        music.append(mido.Message("note_on", note=60 + beat, velocity=80, time=0))
        music.append(mido.Message("note_off", note=60 + beat, velocity=0, time=480))
        words.append(mido.MetaMessage("lyrics", text=syllable, time=1 if beat == 0 else 480))
    buffer = io.BytesIO()
    song.save(file=buffer)
    prime = PrimePiece.from_bytes(read_prime(buffer.getvalue(), 2, 2, True).to_bytes())
    back = mido.MidiFile(
        file=io.BytesIO(continuation_midi(prime, _continued(prime, np.zeros((4, 88), bool))))
    )
    sung = [m.text for track in back.tracks for m in track if m.type == "lyrics"]
    assert sung == ["Twin", "kle ", "twin", "kle"]


@pytest.mark.parametrize("padded", [True, False])
def test_after_a_pickup_the_continuation_starts_on_a_barline(padded):
    prime = read_prime(_bytes(jig_with_pickup(padded)), bars=4, frames_per_beat=2, transpose=True)
    assert prime.bars == 4 and prime.meter == (6, 8)
    bar_ticks = 6 * 240
    written_barline = bar_ticks if padded else 0
    # The first whole bar as the file's time signature lays it: after the padded pickup; an
    # unpadded one (abc converters' way) makes the file's own barlines start at its first note.
    assert prime.window.start_tick + prime.pickup == written_barline
    end = prime.window.start_tick + prime.window.span
    assert end == written_barline + 4 * bar_ticks
    new = np.zeros((12, 88), bool)
    new[0, 60 - 21] = True
    back = pretty_midi.PrettyMIDI(io.BytesIO(continuation_midi(prime, _continued(prime, new))))
    (first_new,) = [n for n in back.instruments[-1].notes if back.time_to_tick(n.start) >= end]
    assert back.time_to_tick(first_new.start) == end


def test_a_continuation_lasts_its_seconds_and_comes_back_to_the_primes_phrases():
    prime = read_prime(_bytes(jig_with_pickup(padded=True)), bars=4, frames_per_beat=2, transpose=True)
    request = continuation_request(prime, seconds=20, frames_per_beat=2)
    bar = 6  # frames: a 6/8 bar on an eighth-note grid
    # the window opens on the beat before the pickup: the first barline is 2 frames in
    assert (
        request.frames == prime.frames_for(20, 2)
        and request.reprise.first_barline == prime.pickup_frames(2) == 2
    )
    copies = request.reprise.copies(len(prime.roll), len(prime.roll) + request.frames)
    first_new = len(prime.roll)
    assert copies[first_new] == 2 and copies[first_new + 2 * bar - 1] == 2 + 2 * bar - 1
    assert first_new + 2 * bar not in copies  # the model plays the rest of the phrase
