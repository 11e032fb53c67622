"""WAV previews of MIDI: FluidSynth with a SoundFont when installed, else a numpy synth.

The numpy synth needs nothing beyond numpy: each note is a few decaying harmonics with a
short attack, which reads as a soft piano at Discord-preview quality.
"""

from __future__ import annotations

import logging
import os
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pretty_midi

log = logging.getLogger(__name__)

SAMPLE_RATE = 22_050
PEAK = 0.89  # normalised peak, a little headroom under full scale
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
)
SILENT_AFTER_DECAY = 10.4  # a partial is 90 dB down once rate × time passes this: later samples are silence
AUDIBLE_SECONDS = 8.0  # the slowest partial (A0's fundamental) is that far down by then
_HARMONICS = np.array([1.0, 0.5, 0.28, 0.14, 0.07])  # partial amplitudes, brighter at the start


def find_soundfont() -> Path | None:
    """$BALLADEER_SOUNDFONT, else a common system SoundFont, if any exists."""
    candidates = [os.environ.get("BALLADEER_SOUNDFONT", ""), *SOUNDFONT_CANDIDATES]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def fluidsynth_available() -> bool:
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth, used by pretty_midi)
    except ImportError:
        return False
    return find_soundfont() is not None


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


def write_wav(audio: np.ndarray, path: str | Path | BinaryIO, sample_rate: int = SAMPLE_RATE) -> None:
    """16-bit mono PCM, normalised to PEAK so it never clips."""
    peak = np.abs(audio).max() if audio.size else 0.0
    scaled = audio * (PEAK / peak) if peak > 0 else audio
    pcm = np.clip(np.rint(scaled * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path) if isinstance(path, str | Path) else path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())


def render_wav(midi: pretty_midi.PrettyMIDI, path: str | Path | BinaryIO, synth: str = "auto") -> str:
    """Write a WAV preview; returns the synth used ("fluidsynth" or "numpy")."""
    if synth not in ("auto", "fluidsynth", "numpy"):
        raise ValueError(f"synth must be auto, fluidsynth or numpy, not {synth!r}")
    use_fluidsynth = synth == "fluidsynth" or (synth == "auto" and fluidsynth_available())
    if use_fluidsynth:
        soundfont = find_soundfont()
        if soundfont is None:
            raise FileNotFoundError("FluidSynth needs a SoundFont: set BALLADEER_SOUNDFONT to an .sf2 file")
        audio = midi.fluidsynth(fs=SAMPLE_RATE, sf2_path=str(soundfont))
    else:
        audio = synthesize(midi)
    write_wav(audio, path)
    return "fluidsynth" if use_fluidsynth else "numpy"
