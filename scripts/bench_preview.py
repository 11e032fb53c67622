"""What a /midi preview sounds like, per style: how bright it is (share of energy above
2 kHz: a piano, not a muffled organ), how much its loudness moves (loudness range: the
spread, 10th to 95th percentile, of its 400 ms loudness in dB while notes sound), and how
much of the time the sustaining string voice under the piano sounds. Pieces are written
at the defaults (30 s, the style's phrase plan) with the shipped models and rendered with
the shipped SoundFont.

    python scripts/bench_preview.py --seeds 3
"""

from __future__ import annotations

import argparse

import numpy as np

from bot.config import Settings
from ml.music.audio import SAMPLE_RATE, energy_above, render_audio, sustain_layer_span
from ml.music.form import plan_for
from ml.music.generate import PianoGenerator
from ml.music.request import PianoRequest

BRIGHT_HZ = 2000.0
LOUDNESS_WINDOW_S = 0.4


def loudness_range_db(audio: np.ndarray) -> float:
    window = round(LOUDNESS_WINDOW_S * SAMPLE_RATE)
    frames = len(audio) // window
    rms = np.sqrt(np.mean(audio[: frames * window].reshape(frames, window) ** 2, axis=1)) + 1e-9
    db = 20 * np.log10(rms)
    sounding = db > db.max() - 50  # silence left out, as loudness-range meters gate it
    low, high = np.percentile(db[sounding], [10, 95])
    return float(high - low)


def string_share(midi) -> float:
    """Share of the piece's length during which the string voice sounds."""
    spans = sorted(s for i in midi.instruments for n in i.notes if (s := sustain_layer_span(n)))
    covered, reach = 0.0, 0.0
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return covered / max(midi.get_end_time(), 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    print(f"{'style':<8} {'above 2 kHz':>12} {'loudness range dB':>18} {'strings sound':>14}")
    for style, path in settings.music.checkpoints().items():
        generator = PianoGenerator.from_checkpoint(path)
        requests = [PianoRequest(seed=seed, form=plan_for(style)) for seed in range(1, args.seeds + 1)]
        rows = []
        for piece in generator.generate(requests):
            midi = piece.to_midi()
            audio, _ = render_audio(midi, "soundfont")
            rows.append((energy_above(audio, BRIGHT_HZ), loudness_range_db(audio), string_share(midi)))
        bright, spread, strings = np.median(np.array(rows), axis=0)
        print(f"{style:<8} {bright:>11.1%} {spread:>18.1f} {strings:>13.0%}", flush=True)


if __name__ == "__main__":
    main()
