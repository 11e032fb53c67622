"""Audio previews of MIDI, as people expect to hear them in a chat.

Synths, best first: a General MIDI SoundFont through tinysoundfont (a wheel with its synth
compiled in; the SoundFont is $BALLADEER_SOUNDFONT or the one pretty_midi ships, so nothing
is needed from the system), FluidSynth when installed and asked for, and a numpy synth as
the last fallback. A piano sample decays while a key is held, so a note held longer than a
piano sustains it is doubled, from where the piano fades, by a quiet sustaining voice; the
preview is levelled gently (quiet stretches where notes still sound are lifted, at most
MAX_BOOST_DB, so the dynamics stay) and peak normalised, then encoded as Opus in Ogg,
which Discord plays inline at a fraction of a WAV's size (libsndfile, bundled with the
soundfile wheel).
"""

from __future__ import annotations

import io
import logging
import os
import wave
from pathlib import Path

import numpy as np
import pretty_midi

from ml.music.soundfonts import SHIPPED_SOUNDFONT
from ml.names import SYNTHS

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000  # Opus's own rate
PEAK = 0.89  # normalised peak, a little headroom under full scale
MAX_BOOST_DB = 6.0  # the leveller lifts a decayed held chord by at most this much (dynamics stay)
LEVEL_WINDOW_S = 0.05  # loudness measured over these windows, gain smoothed over SMOOTH_S
SMOOTH_S = 0.4
OPUS_BITRATE_LEVEL = 0.8  # libsndfile: 0 is the highest bitrate, 1 the lowest; 0.8 is about 57 kbit/s mono
AUDIO_FORMATS = ("ogg", "wav")
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
)
DRUM_CHANNEL = 9
SUSTAIN_LAYER_PROGRAM = 48  # General MIDI string ensemble
SUSTAIN_LAYER_VOLUME = 50  # its channel volume (of 127): about 16 dB under the piano
PIANO_SUSTAIN_A0_S = 8.0  # how long the lowest key sounds while held (see piano_sustain_seconds)
SUSTAIN_LAYER_ENTRY = 0.6  # the string voice enters this far into the piano's sustain
RELEASE_S = 1.0  # rendered after the last note ends, so its release is heard
SILENT_AFTER_DECAY = 10.4  # numpy synth: a partial is 90 dB down once rate × time passes this
AUDIBLE_SECONDS = 8.0  # the slowest partial (A0's fundamental) is that far down by then
_HARMONICS = np.array([1.0, 0.5, 0.28, 0.14, 0.07])  # partial amplitudes, brighter at the start


def find_soundfont() -> Path | None:
    """$BALLADEER_SOUNDFONT, else a system General MIDI SoundFont, else pretty_midi's own."""
    candidates = [os.environ.get("BALLADEER_SOUNDFONT", ""), *SOUNDFONT_CANDIDATES, str(SHIPPED_SOUNDFONT)]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def soundfont_synth_available() -> bool:
    try:
        import tinysoundfont  # noqa: F401
    except ImportError:
        return False
    return find_soundfont() is not None


def render_audio(
    midi: pretty_midi.PrettyMIDI, synth: str = "auto", soundfont: Path | None = None
) -> tuple[np.ndarray, str]:
    """Mono float32 audio at SAMPLE_RATE, as long as the piece plus RELEASE_S, levelled and
    normalised, and the synth used; `soundfont` (default: find_soundfont()) for the
    SoundFont synths."""
    if synth not in SYNTHS:
        raise ValueError(f"synth must be one of {', '.join(SYNTHS)}, not {synth!r}")
    if synth == "auto":
        synth = "soundfont" if soundfont_synth_available() else "numpy"
    if synth == "soundfont":
        audio = render_soundfont(midi, soundfont)
    elif synth == "fluidsynth":
        soundfont = soundfont or find_soundfont()
        if soundfont is None:
            raise FileNotFoundError("FluidSynth needs a SoundFont: set BALLADEER_SOUNDFONT to an .sf2 file")
        audio = midi.fluidsynth(fs=SAMPLE_RATE, sf2_path=str(soundfont)).astype(np.float32)
    else:
        audio = synthesize(midi)
    length = round((midi.get_end_time() + RELEASE_S) * SAMPLE_RATE)  # the same for every synth
    audio = np.pad(audio[:length], (0, max(length - len(audio), 0)))
    return normalise(level(audio, _sounding(midi, length))), synth


def render_soundfont(midi: pretty_midi.PrettyMIDI, soundfont: Path | None = None) -> np.ndarray:
    """Every instrument on its own channel with its General MIDI program (drums as drums),
    note events rendered sample-accurately, the release heard out. A piano sample decays
    within seconds while its key is held, so a note held past that is doubled, quietly and
    from where the piano fades, by a sustaining string voice (`sustain_layer_span`): a held
    chord keeps sounding until it is released, and the rest stays a piano."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE)
    font = synth.sfload(str(soundfont or find_soundfont()))
    events: list[tuple[int, int, int, int, int]] = []  # (sample, on?, channel, pitch, velocity)
    melodic = iter(c for c in range(16) if c != DRUM_CHANNEL)
    for instrument in midi.instruments:
        channels = [DRUM_CHANNEL] if instrument.is_drum else [next(melodic, 0)]
        _select(synth, font, channels[0], instrument.program, instrument.is_drum)
        layer = None if instrument.is_drum else next(melodic, None)
        if layer is not None:  # a soft sustaining voice under each held note
            _select(synth, font, layer, SUSTAIN_LAYER_PROGRAM, False)
            synth.control_change(layer, 7, SUSTAIN_LAYER_VOLUME)
            channels.append(layer)
        for note in instrument.notes:
            events.append((round(note.start * SAMPLE_RATE), 1, channels[0], note.pitch, note.velocity))
            events.append((round(note.end * SAMPLE_RATE), 0, channels[0], note.pitch, 0))
            span = sustain_layer_span(note) if layer is not None else None
            if span is not None:
                events.append((round(span[0] * SAMPLE_RATE), 1, layer, note.pitch, note.velocity))
                events.append((round(span[1] * SAMPLE_RATE), 0, layer, note.pitch, 0))
    events.sort()
    total = round((midi.get_end_time() + RELEASE_S) * SAMPLE_RATE)
    chunks, position = [], 0
    for at, on, channel, pitch, velocity in events:
        if at > position:
            chunks.append(_stereo_to_mono(synth.generate(at - position)))
            position = at
        if on:
            synth.noteon(channel, pitch, velocity)
        else:
            synth.noteoff(channel, pitch)
    if total > position:
        chunks.append(_stereo_to_mono(synth.generate(total - position)))
    return np.concatenate(chunks) if chunks else np.zeros(total, dtype=np.float32)


def piano_sustain_seconds(pitch: int) -> float:
    """About how long a held piano note stays clearly audible: some 8 s for A0, halving every
    two octaves up (2 s at A4, under a second in the top octave)."""
    return PIANO_SUSTAIN_A0_S * 2 ** (-(pitch - 21) / 24)


def sustain_layer_span(note: pretty_midi.Note) -> tuple[float, float] | None:
    """When the string voice doubles a note: only a note held longer than the piano can
    sustain it, entering as the piano fades (so a held chord keeps sounding without the
    piano turning into an organ); None for the rest."""
    sustain = piano_sustain_seconds(note.pitch)
    if note.end - note.start <= sustain:
        return None
    return note.start + SUSTAIN_LAYER_ENTRY * sustain, note.end


def _select(synth, font: int, channel: int, program: int, drums: bool) -> None:
    try:
        synth.program_select(channel, font, 0, program, is_drums=drums)
    except RuntimeError:  # a preset this SoundFont lacks: the piano will do
        synth.program_select(channel, font, 0, 0, is_drums=drums)


def _stereo_to_mono(buffer: memoryview) -> np.ndarray:
    return np.frombuffer(buffer, dtype=np.float32).reshape(-1, 2).mean(axis=1)


def _sounding(midi: pretty_midi.PrettyMIDI, samples: int) -> np.ndarray:
    """Per sample: is any note held?"""
    held = np.zeros(samples + 1, dtype=np.int32)
    for instrument in midi.instruments:
        for note in instrument.notes:
            held[min(round(note.start * SAMPLE_RATE), samples)] += 1
            held[min(round(note.end * SAMPLE_RATE), samples)] -= 1
    return np.cumsum(held)[:samples] > 0


def level(audio: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """Lift the quiet stretches where notes are still held (a piano's decay) towards the
    piece's loud level, at most MAX_BOOST_DB, with the gain smoothed so no pumping is heard."""
    window = round(LEVEL_WINDOW_S * SAMPLE_RATE)
    frames = len(audio) // window
    if frames < 2:
        return audio
    rms = np.sqrt(np.mean(audio[: frames * window].reshape(frames, window) ** 2, axis=1)) + 1e-9
    held = sounding[: frames * window].reshape(frames, window).any(axis=1)
    if not held.any():
        return audio
    target = np.percentile(rms[held], 90)
    gain = np.where(held, np.clip(target / rms, 1.0, 10 ** (MAX_BOOST_DB / 20)), 1.0)
    taps = max(round(SMOOTH_S / LEVEL_WINDOW_S), 1)
    gain = np.convolve(gain, np.ones(taps) / taps, mode="same")
    per_sample = np.interp(np.arange(len(audio)), (np.arange(frames) + 0.5) * window, gain)
    return (audio * per_sample).astype(np.float32)


def energy_above(audio: np.ndarray, hertz: float) -> float:
    """Share of the signal's energy in frequencies above `hertz` (a preview's brightness)."""
    power = np.abs(np.fft.rfft(audio)) ** 2
    frequencies = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    return float(power[frequencies > hertz].sum() / power.sum())


def normalise(audio: np.ndarray) -> np.ndarray:
    """Scaled so the peak is PEAK: never clips, never inaudibly quiet."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return (audio * (PEAK / peak)).astype(np.float32) if peak > 0 else audio.astype(np.float32)


def encode(audio: np.ndarray, audio_format: str) -> bytes:
    """ "ogg": Opus in Ogg; "wav": 16-bit PCM."""
    if audio_format == "wav":
        return _wav(audio)
    if audio_format != "ogg":
        raise ValueError(f"audio format must be one of {', '.join(AUDIO_FORMATS)}, not {audio_format!r}")
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(
        buffer, audio, SAMPLE_RATE, format="OGG", subtype="OPUS", compression_level=OPUS_BITRATE_LEVEL
    )
    return buffer.getvalue()


def _wav(audio: np.ndarray) -> bytes:
    pcm = np.clip(np.rint(audio * 32767), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.tobytes())
    return buffer.getvalue()


def synthesize(midi: pretty_midi.PrettyMIDI, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float audio from the numpy piano-like synth (float32: half the work of float64,
    far below what a 16-bit preview can hear)."""
    notes = [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    release = 0.25
    length = int((midi.get_end_time() + release + 0.1) * sample_rate) + 1
    audio = np.zeros(length, dtype=np.float32)
    partials = np.arange(1, len(_HARMONICS) + 1, dtype=np.float32)
    clock = np.arange(int(AUDIBLE_SECONDS * sample_rate), dtype=np.float32) / sample_rate
    for note in notes:
        held = max(note.end - note.start, 0.05)
        t = clock[: int(min(held + release, AUDIBLE_SECONDS) * sample_rate)]
        frequency = 440.0 * 2 ** ((note.pitch - 69) / 12)
        tone = np.zeros_like(t)
        for partial, amplitude in zip(partials, _HARMONICS, strict=True):
            if partial * frequency >= sample_rate / 2:
                break  # no aliasing
            rate = (1.2 + 1.8 * partial) * (frequency / 440) ** 0.3
            n = min(len(t), int(SILENT_AFTER_DECAY / rate * sample_rate))  # each partial while audible
            tone[:n] += (
                np.float32(amplitude)
                * np.sin(np.float32(2 * np.pi * frequency * partial) * t[:n])
                * np.exp(-rate * t[:n])
            )
        envelope = np.minimum(t / 0.005, 1.0)  # 5 ms attack: no click
        after = t > held
        envelope[after] *= np.exp(-(t[after] - held) / (release / 5))  # damper
        start = int(note.start * sample_rate)
        audio[start : start + len(t)] += tone * envelope * np.float32(note.velocity / 127)
    return audio
