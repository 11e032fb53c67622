"""Audio previews: a real SoundFont piano, compact Opus that decodes back, as long as the
piece, never silent while notes sound, never clipped."""

import io

import numpy as np
import pretty_midi
import pytest
import soundfile

from ml.music.audio import RELEASE_S, SAMPLE_RATE, encode, render_audio, soundfont_synth_available

needs_soundfont = pytest.mark.skipif(not soundfont_synth_available(), reason="tinysoundfont is not installed")


def held_chord_piece(hold_seconds: float = 14.0) -> pretty_midi.PrettyMIDI:
    """A short tune, then one chord held for `hold_seconds`: what made previews go silent."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    for i, pitch in enumerate((60, 62, 64, 65, 67, 69, 71, 72)):
        piano.notes.append(pretty_midi.Note(90, pitch, i * 0.25, i * 0.25 + 0.25))
    piano.notes += [pretty_midi.Note(70, p, 2.0, 2.0 + hold_seconds) for p in (48, 55, 60, 64)]
    midi.instruments.append(piano)
    return midi


def _windows_db(audio: np.ndarray, seconds: float = 0.5) -> list[float]:
    size = int(seconds * SAMPLE_RATE)
    return [
        20 * np.log10(np.sqrt(np.mean(audio[i : i + size] ** 2)) + 1e-12)
        for i in range(0, len(audio) - size, size)
    ]


@needs_soundfont
def test_the_soundfont_preview_keeps_sounding_while_notes_are_held():
    midi = held_chord_piece()
    audio, synth = render_audio(midi)
    assert synth == "soundfont" and audio.dtype == np.float32
    assert len(audio) / SAMPLE_RATE == pytest.approx(midi.get_end_time() + RELEASE_S, abs=0.01)
    sounding = _windows_db(audio[: int(midi.get_end_time() * SAMPLE_RATE)])
    assert min(sounding) > -40  # dBFS: a held chord stays audible to its end
    assert np.abs(audio).max() == pytest.approx(0.89, abs=0.01)  # normalised, never clipped


@pytest.mark.parametrize("synth", [pytest.param("soundfont", marks=needs_soundfont), "numpy"])
def test_the_opus_preview_is_a_fifth_of_a_wav_and_decodes_back(synth):
    midi = held_chord_piece(hold_seconds=6)
    audio, _ = render_audio(midi, synth)
    ogg = encode(audio, "ogg")
    wav_44k_16bit = len(audio) / SAMPLE_RATE * 44_100 * 2
    assert ogg[:4] == b"OggS" and len(ogg) <= wav_44k_16bit / 5
    decoded, rate = soundfile.read(io.BytesIO(ogg), dtype="float32")
    assert rate == SAMPLE_RATE and abs(len(decoded) - len(audio)) < SAMPLE_RATE * 0.05
    assert np.corrcoef(decoded[: len(audio) // 2], audio[: len(decoded)][: len(audio) // 2])[0, 1] > 0.9
    assert encode(audio, "wav")[:4] == b"RIFF"


def test_silence_and_drums_render_without_error():
    audio, _ = render_audio(pretty_midi.PrettyMIDI())
    assert len(audio) > 0 and not np.abs(audio).any()
    drums = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes.append(pretty_midi.Note(100, 36, 0, 0.5))
    drums.instruments.append(kit)
    assert render_audio(drums)[0].size > 0


def test_only_notes_held_past_a_pianos_sustain_get_the_string_voice_and_only_as_it_fades():
    from ml.music.audio import piano_sustain_seconds, sustain_layer_span

    assert piano_sustain_seconds(69) == pytest.approx(2.0)  # A4
    assert piano_sustain_seconds(21) > piano_sustain_seconds(60) > piano_sustain_seconds(100)
    assert sustain_layer_span(pretty_midi.Note(80, 69, 0.0, 1.5)) is None  # the piano still sounds
    assert sustain_layer_span(pretty_midi.Note(80, 69, 1.0, 4.0)) == pytest.approx((2.2, 4.0))
    assert sustain_layer_span(pretty_midi.Note(80, 33, 0.0, 4.0)) is None  # a low note lasts longer
