"""/continue on real pieces from outside the training sources: the public-domain scores of
music21's corpus (Joplin, Mozart, Beethoven, Haydn, Schumann, Handel, Bach, ...), written
to MIDI by music21 and continued exactly as the bot does: with style auto, each shipped
style's model scores the opening and the likeliest plays on (--style picks one).

Per piece and overall:
- intact: share of the read part's notes that come back at their pitch, velocity and time
  (within 10 ms) and duration;
- tempo: the output's tempo map over the read part equals the input's;
- key: the last 40% of the output is in the prime's key, or its relative;
- density: the continuation's notes per second and mean polyphony against the prime's
  (target: within a factor of 2).

    pip install music21       # the corpus; not a dependency of the project
    python scripts/eval_continue.py [--pieces 30] [--seconds 30]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
from pathlib import Path

import numpy as np
import pretty_midi

from ml.music.continuation import continuation_midi
from ml.music.generate import PianoGenerator
from ml.music.keyboard import scale_of
from ml.music.prime import key_of_notes, read_prime
from ml.music.request import PianoRequest
from ml.music.styles import read_style
from ml.names import MUSIC_STYLES
from ml.paths import DEFAULT_MUSIC_CHECKPOINTS

COMPOSERS = (
    "joplin", "mozart", "beethoven", "haydn", "schumann_robert", "schumann_clara", "handel",
    "schubert", "corelli", "cpebach", "weber", "verdi", "bach",
)  # fmt: skip
PRIME_BARS = 16
OPENING_BARS = 40  # of each score, written to MIDI: the prime and some to compare with
TOLERANCE_S = 0.010


def corpus_pieces(count: int) -> list[tuple[str, bytes]]:
    """(name, MIDI bytes) of up to `count` corpus pieces, taken round-robin by composer."""
    from music21 import corpus

    lists = [sorted(corpus.getComposer(c), key=str) for c in COMPOSERS]
    order = [paths[i] for i in range(max(map(len, lists))) for paths in lists if i < len(paths)]
    pieces = []
    with tempfile.TemporaryDirectory() as folder:
        for path in order:
            if len(pieces) == count:
                break
            try:
                target = Path(folder) / "piece.mid"
                corpus.parse(path).measures(1, OPENING_BARS).write("midi", fp=target)
                pretty_midi.PrettyMIDI(str(target))  # the reference reader must take it too
                pieces.append((f"{path.parent.name}/{path.name}", target.read_bytes()))
            except Exception as exc:  # a score music21 cannot write, or pretty_midi read: left out
                print(f"skipping {path.name}: {type(exc).__name__}: {str(exc)[:80]}")
    return pieces


def notes_of(midi: pretty_midi.PrettyMIDI, start: float = 0.0, end: float = np.inf) -> list:
    return [n for i in midi.instruments if not i.is_drum for n in i.notes if start <= n.start < end]


def polyphony(notes: list, start: float, end: float) -> float:
    """Mean number of notes sounding over [start, end), on a 10 ms grid."""
    grid = np.arange(start, end, 0.01)
    if not len(grid):
        return 0.0
    return float(np.mean([np.sum([(n.start <= t < n.end) for n in notes]) for t in grid]))


def scale_share(notes: list, key: tuple[int, bool]) -> float:
    """Share of the notes' duration on pitch classes of `key`'s scale (minor: with its
    leading note)."""
    scale = scale_of(*key)
    total = sum(n.end - n.start for n in notes)
    return sum(n.end - n.start for n in notes if n.pitch % 12 in scale) / total if total else 0.0


def same_or_relative(a: tuple[int, bool], b: tuple[int, bool]) -> bool:
    """Equal keys, or relative major and minor (the same scale)."""
    relative_major = lambda key: key[0] if not key[1] else (key[0] + 3) % 12  # noqa: E731
    return a == b or relative_major(a) == relative_major(b)


def evaluate(
    name: str, data: bytes, generators: dict[str, PianoGenerator], seconds: float, seed: int
) -> dict:
    original = pretty_midi.PrettyMIDI(io.BytesIO(data))
    first = next(iter(generators.values()))
    prime = read_prime(data, PRIME_BARS, first.frames_per_beat, first.transpose)
    style = read_style(generators, prime).style if len(generators) > 1 else next(iter(generators))
    generator = generators[style]
    prime = generator.read(prime)
    window = prime.window
    end_tick = window.start_tick + round(prime.bars * prime.quarters_per_bar * window.resolution)
    window_start, window_end = original.tick_to_time(window.start_tick), original.tick_to_time(end_tick)
    request = PianoRequest(
        seconds=seconds, seed=seed, prime=prime.roll, onsets_per_frame=prime.onsets_per_frame, max_notes=8
    )
    sample = generator.generate([request])[0]
    back = pretty_midi.PrettyMIDI(io.BytesIO(continuation_midi(prime, sample)))

    read = notes_of(original, 0, window_end)
    pool = notes_of(back, 0, window_end + TOLERANCE_S)
    intact = 0
    for note in read:  # a unison doubling on one channel pairs its note-offs either way: any match
        match = next(
            (
                m
                for m in pool
                if m.pitch == note.pitch
                and m.velocity == note.velocity
                and abs(m.start - note.start) < TOLERANCE_S
                and abs(m.end - min(note.end, window_end)) < TOLERANCE_S
            ),
            None,
        )
        if match is not None:
            pool.remove(match)
            intact += 1
    in_tempo = original.get_tempo_changes()[1][0] == back.get_tempo_changes()[1][0]

    continuation = back.instruments[-1].notes
    new_start = min((n.start for n in continuation), default=window_end)
    new_end = back.get_end_time()
    last = notes_of(back, new_start + 0.6 * (new_end - new_start))
    prime_notes = notes_of(original, window_start, window_end)
    prime_span = max(window_end - window_start, 1e-9)
    new_span = max(new_end - new_start, 1e-9)
    return {
        "name": name,
        "style": style,
        "read": prime.summary,
        "intact": intact / max(len(read), 1),
        "in_tempo": bool(in_tempo),
        "in_key": same_or_relative(key_of_notes(last), (prime.tonic, prime.minor)) if last else False,
        "in_scale": scale_share(last, (prime.tonic, prime.minor)),
        "density": (len(continuation) / new_span) / max(len(prime_notes) / prime_span, 1e-9),
        "polyphony": polyphony(continuation, new_start, new_end)
        / max(polyphony(prime_notes, window_start, window_end), 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--style", choices=("auto", *MUSIC_STYLES), default="auto")
    parser.add_argument("--pieces", type=int, default=30)
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N (a tuning set)")
    parser.add_argument("--seconds", type=float, default=30.0, help="music to add to each (default 30)")
    args = parser.parse_args()
    styles = MUSIC_STYLES if args.style == "auto" else (args.style,)
    generators = {s: PianoGenerator.from_checkpoint(DEFAULT_MUSIC_CHECKPOINTS[s]) for s in styles}
    rows = [
        evaluate(name, data, generators, args.seconds, seed)
        for seed, (name, data) in enumerate(corpus_pieces(args.skip + args.pieces)[args.skip :])
    ]
    print(
        f"{'piece':<34}{'style':<8}{'read':<28}{'intact':>7}{'tempo':>6}{'key':>5}{'scale':>6}{'notes/s':>8}{'poly':>6}"
    )
    for r in rows:
        print(
            f"{r['name'][:33]:<34}{r['style']:<8}{r['read'][:27]:<28}{r['intact']:>7.0%}"
            f"{'yes' if r['in_tempo'] else 'NO':>6}{'yes' if r['in_key'] else 'no':>5}"
            f"{r['in_scale']:>6.0%}{r['density']:>7.2f}x{r['polyphony']:>5.2f}x"
        )
    within = [r for r in rows if 0.5 <= r["density"] <= 2 and 0.5 <= r["polyphony"] <= 2]
    print(
        f"\n{len(rows)} pieces: every note intact in {sum(r['intact'] == 1 for r in rows)}, "
        f"tempo kept in {sum(r['in_tempo'] for r in rows)}, last 40% in key (or relative) in "
        f"{sum(r['in_key'] for r in rows)} ({sum(r['in_key'] for r in rows) / len(rows):.0%}; target 90%), "
        f"median share of its note-time in the prime's scale "
        f"{statistics.median(r['in_scale'] for r in rows):.0%}; "
        f"density and polyphony within 2x in {len(within)} ({len(within) / len(rows):.0%}); "
        f"median ratios {statistics.median(r['density'] for r in rows):.2f}x notes/s, "
        f"{statistics.median(r['polyphony'] for r in rows):.2f}x polyphony"
    )


if __name__ == "__main__":
    main()
