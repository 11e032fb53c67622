"""What each SoundFont a server may choose sounds like and costs, on the same piece.

For every SoundFont the bot offers (the shipped TimGM6mb, plus SOUNDFONT_DIR; fetch
FluidR3_GM with `bash scripts/install.sh --soundfonts`): the time to render a 30 s preview
(median of --rounds), the share of its energy above 2 kHz (the brightness that makes a
piano sound like a piano rather than a muffled organ), and the Ogg preview's size.

    python scripts/bench_soundfonts.py
"""

from __future__ import annotations

import argparse
import statistics
import time

from bot.config import Settings
from ml.music.audio import encode, energy_above, render_audio
from ml.music.generate import PianoGenerator
from ml.music.request import PianoRequest

BRIGHT_HZ = 2000.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--style", default="folk", help="which shipped music model writes the piece")
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    generator = PianoGenerator.from_checkpoint(settings.music.checkpoints()[args.style])
    (piece,) = generator.generate([PianoRequest(seconds=args.seconds, seed=1)])
    midi = piece.to_midi()
    print(f"a {args.seconds} s {args.style} piece (seed 1), rendered with each SoundFont:")
    print(f"{'SoundFont':<16} {'file MB':>8} {'render s':>9} {'above 2 kHz':>12} {'ogg KB':>7}")
    for name, path in settings.music.soundfonts().items():
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            audio, _ = render_audio(midi, "soundfont", path)
            times.append(time.perf_counter() - started)
        ogg = encode(audio, "ogg")
        print(
            f"{name:<16} {path.stat().st_size / 2**20:>8.1f} {statistics.median(times):>9.2f} "
            f"{energy_above(audio, BRIGHT_HZ):>11.1%} {len(ogg) / 1024:>7.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
