"""/continue measured as a musician would hear it, on public-domain scores no model was
trained or tuned on: fiddle tunes (jigs, reels, hornpipes, strathspeys) from Ryan's Mammoth
Collection, German folk songs from the Essen collection, Bach chorales, and piano and
chamber music (Clara Schumann's polonaises, a Chopin mazurka, a Joplin rag, C. P. E. Bach,
Beethoven, Mozart and Haydn quartet movements), all from music21's corpus.

Each score's first 40 bars are written to MIDI here, as files in the wild are: at a tempo
of their style other than 120 (some with a tempo change), with their time and key
signatures, track names and instruments, and with any pickup either padded to a whole
bar with rests (as notation programs export it) or starting the file (as abc converters
do). The score knows where its barlines are, so every figure is measured against them.
Each piece is then continued exactly as the bot does (style auto unless --style).

Figures per piece and overall (the issue's targets in brackets):
- style: auto names the style a musician would (90%);
- register: share of the continuation's notes inside the read part's range widened by a
  fifth (90% of notes on 90% of pieces); voices (mean notes sounding) and onsets per
  second against the read part's;
- motifs: share of the continuation's bars whose top-voice motif (rhythm and intervals)
  is one of the read bars', against the real next bars of the score (at least as often;
  median 0.15);
- barline: the continuation starts on a barline; its beat-1 share of onsets within 0.1 of
  the read part's;
- length: the continuation lasts `seconds` within one bar at the tempo it plays at, and the
  tempo said is the one in force where the read part ends;
- key: the key said is the score's (its signature's major or minor, by the final note), and
  spelled with the signature's sharps or flats (95%);
- parts: a multi-part piece's continuation keeps its lowest notes on the lowest part's
  instrument, and every track name.

    pip install music21       # the corpus; not a dependency of the project
    python scripts/eval_continue.py [--tuning] [--style auto] [--seconds 30]

--tuning measures a disjoint set of pieces (other tunes, chorales and movements): the one
to tune on, so the figures of the default set stay honest.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
from dataclasses import dataclass

import mido
import numpy as np
import pretty_midi

from ml.music.continuation import continuation_midi, continuation_request
from ml.music.form import bar_motifs
from ml.music.generate import PianoGenerator
from ml.music.prime import FLAT_NAMES, SHARP_NAMES, read_prime
from ml.music.request import PianoRequest
from ml.music.styles import StyleReader, read_style
from ml.names import MUSIC_STYLES
from ml.paths import DEFAULT_MUSIC_CHECKPOINTS, DEFAULT_STYLE_READER

RESOLUTION = 480
SCORE_BARS = 40  # of each score, written to MIDI: the part read and the real next bars
GRID = 4  # barline measures: frames per quarter note (sixteenths)
TEMPI = {
    "folk": (112, 96, 132, 104, 144, 88),
    "chorale": (66, 80, 72, 88),
    "piano": (76, 108, 92, 132, 60, 100),
}
PROGRAMS = {"violin": 40, "viola": 41, "violoncello": 42, "cello": 42}


@dataclass(frozen=True)
class Selection:
    """Which scores of a music21 corpus folder make a set: names containing `contains`, every
    `step`-th from `first`."""

    style: str
    folder: str
    count: int
    contains: str = ""
    first: int = 0
    step: int = 1
    program: int = 0


EVALUATION = (
    Selection("folk", "ryansMammoth", 4, "Jig", 0, 37, 40),
    Selection("folk", "ryansMammoth", 3, "Reel", 0, 61, 40),
    Selection("folk", "ryansMammoth", 3, "Hornpipe", 0, 43, 40),
    Selection("folk", "ryansMammoth", 1, "Strathspey", 0, 1, 40),
    Selection("folk", "ryansMammoth", 1, "Clog", 0, 1, 40),
    Selection("folk", "essenFolksong", 3, "altdeu10", 0, 7, 73),  # an opus: every 7th song
    Selection("chorale", "bach", 9, "bwv", 0, 47, 52),
    Selection("piano", "schumann_clara", 4, "polonaise"),
    Selection("piano", "chopin", 1),
    Selection("piano", "joplin", 1),
    Selection("piano", "cpebach", 1),
    Selection("piano", "beethoven", 2, "movement", 0, 5),
    Selection("piano", "mozart", 1, "movement", 3),
    Selection("piano", "haydn", 1, "", 2),
)
TUNING = (
    Selection("folk", "ryansMammoth", 4, "Jig", 11, 37, 40),
    Selection("folk", "ryansMammoth", 4, "Reel", 17, 61, 40),
    Selection("folk", "ryansMammoth", 3, "Hornpipe", 13, 43, 40),
    Selection("folk", "essenFolksong", 2, "altdeu20", 1, 9, 73),
    Selection("chorale", "bach", 8, "bwv", 23, 47, 52),
    Selection("piano", "beethoven", 4, "movement", 2, 5),
    Selection("piano", "mozart", 3, "movement", 0, 4),
    Selection("piano", "schumann_clara", 1, "movement3"),
    Selection("piano", "haydn", 2, "", 4, 2),
)


@dataclass(frozen=True)
class ScorePiece:
    """A score's opening as a MIDI file, with what the score knows about it."""

    name: str
    style: str
    midi: bytes
    bar: float  # quarters per bar
    first_barline: float  # quarters from the file's start to its first whole bar
    tonic: int | None  # the score's key (pitch class, minor); None where it has none
    minor: bool
    sharps: int


def scores(selection: Selection) -> list:
    """The selection's music21 scores (an opus counts each of its songs)."""
    from music21 import corpus, stream

    paths = sorted((p for p in corpus.getComposer(selection.folder) if selection.contains in str(p)), key=str)
    found = []
    for path in paths:
        parsed = corpus.parse(path)
        found += parsed.scores if isinstance(parsed, stream.Opus) else [parsed]
    return found[selection.first :: selection.step][: selection.count]


def score_key(score) -> tuple[int | None, bool]:
    """The key the score is written in: as its editor marked it (abc's K: field, MusicXML's
    mode), else as its title says ("in C-sharp Minor"), else music21's analysis."""
    from music21 import key

    marked = score.parts[0].recurse().getElementsByClass("KeySignature")
    if marked and isinstance(marked[0], key.Key):
        return marked[0].tonic.pitchClass, marked[0].mode == "minor"
    title = (score.metadata.title or "") if score.metadata else ""
    named = re.search(r" in ([A-G])(-sharp|-flat)? (Major|Minor)", title)
    if named:
        letter, accidental, mode = named.groups()
        tonic = "C D EF G A B".index(letter) + {"-sharp": 1, "-flat": -1}.get(accidental or "", 0)
        return tonic % 12, mode == "Minor"
    analysed = score.analyze("key")
    return analysed.tonic.pitchClass, analysed.mode == "minor"


def score_piece(score, selection: Selection, index: int) -> ScorePiece:
    """The score's first SCORE_BARS bars as a format-1 MIDI file (see the module's docstring)."""
    parts = score.parts
    measures = parts[0].getElementsByClass("Measure")
    signature = parts[0].recurse().getElementsByClass("TimeSignature")
    numerator, denominator = (signature[0].numerator, signature[0].denominator) if signature else (4, 4)
    bar = numerator * 4 / denominator
    pickup = measures[0].duration.quarterLength if measures[0].duration.quarterLength < bar - 1e-6 else 0.0
    padded = bool(pickup) and index % 2 == 0  # half the pickups padded to a whole bar, half not
    shift = bar - pickup if padded else 0.0
    first_barline = bar if padded else pickup
    keys = parts[0].recurse().getElementsByClass("KeySignature")
    sharps = keys[0].sharps if keys else 0
    tonic, minor = score_key(score)
    tempi = TEMPI[selection.style]
    bpm = tempi[index % len(tempi)]
    end = pickup + SCORE_BARS * bar

    def ticks(quarters: float) -> int:
        return round((quarters + shift) * RESOLUTION)

    conductor = [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))]
    if index % 4 == 3:  # a tempo change: slower from the read part's ninth bar
        conductor.append(
            (ticks(pickup + 8 * bar), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm * 0.8)))
        )
    conductor += [
        (0, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)),
        (0, mido.MetaMessage("key_signature", key=_signature_name(sharps, minor))),
    ]
    tracks = [conductor]
    for channel, part in enumerate(parts[:8]):
        name = part.partName or f"Part {channel + 1}"
        program = PROGRAMS.get(name.lower().split()[0], selection.program) if name else selection.program
        events = [
            (0, mido.MetaMessage("track_name", name=name)),
            (0, mido.Message("program_change", channel=channel, program=program)),
        ]
        for note in part.stripTies().flatten().notes:
            if note.offset >= end or note.quarterLength <= 0:
                continue
            for pitch in note.pitches:
                on, off = ticks(note.offset), ticks(min(note.offset + note.quarterLength, end))
                events.append((on, mido.Message("note_on", channel=channel, note=pitch.midi, velocity=80)))
                events.append((off, mido.Message("note_off", channel=channel, note=pitch.midi)))
        tracks.append(events)
    midi = mido.MidiFile(type=1, ticks_per_beat=RESOLUTION)
    for events in tracks:
        track, now = mido.MidiTrack(), 0
        for tick, message in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):
            track.append(message.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    title = (score.metadata.title or "") if score.metadata else ""
    name = f"{selection.folder}/{title or index}"[:40]
    return ScorePiece(name, selection.style, buffer.getvalue(), bar, first_barline, tonic, minor, sharps)


def _signature_name(sharps: int, minor: bool) -> str:
    names = SHARP_NAMES if sharps >= 0 else FLAT_NAMES
    major = names[sharps * 7 % 12].replace("♯", "#").replace("♭", "b")
    return major if not minor else names[(sharps * 7 + 9) % 12].replace("♯", "#").replace("♭", "b") + "m"


def pieces(selections: tuple[Selection, ...]) -> list[ScorePiece]:
    made = []
    for selection in selections:
        for index, score in enumerate(scores(selection)):
            try:
                made.append(score_piece(score, selection, len(made) + index))
            except Exception as exc:  # a score music21 cannot take apart: left out, said
                print(f"skipping {selection.folder} #{index}: {type(exc).__name__}: {str(exc)[:80]}")
    return made


def notes_of(midi: pretty_midi.PrettyMIDI) -> list[tuple[pretty_midi.Note, int]]:
    """(note, program) of every pitched note."""
    return [(n, i.program) for i in midi.instruments if not i.is_drum for n in i.notes]


def quarters_at(midi: pretty_midi.PrettyMIDI, seconds: float) -> float:
    return midi.time_to_tick(seconds) / midi.resolution


def grid_roll(
    notes: list[tuple[float, float, int]], start: float, bars: int, bar: float, per_quarter: int
) -> np.ndarray:
    """Notes given as (start, end, pitch) in quarters, on a grid of `per_quarter` frames a
    quarter note over `bars` bars from `start` (a barline); a frame holds what sounds at its
    instant, as the model hears it (ml.music.prime.window_to_roll)."""
    frames = round(bars * bar * per_quarter)
    roll = np.zeros((frames, 128), dtype=bool)
    for on, off, pitch in notes:
        a = max(int(np.ceil((on - start) * per_quarter - 1e-6)), 0)
        b = min(int(np.ceil((off - start) * per_quarter - 1e-6)), frames)
        roll[a:b, pitch] = True
    return roll


def reused(earlier: np.ndarray, later: np.ndarray, bar: float, per_quarter: int) -> float | None:
    """Share of `later`'s bars whose top-voice motif is one of `earlier`'s (None: no motif)."""
    frames = round(bar * per_quarter)
    known = {m for m in bar_motifs(earlier, frames) if m is not None}
    motifs = [m for m in bar_motifs(later, frames) if m is not None]
    return sum(m in known for m in motifs) / len(motifs) if motifs else None


def evaluate(
    piece: ScorePiece,
    generators: dict[str, PianoGenerator],
    reader: StyleReader | None,
    seconds: float,
    seed: int,
) -> dict:
    original = pretty_midi.PrettyMIDI(io.BytesIO(piece.midi))
    first = next(iter(generators.values()))
    prime = read_prime(piece.midi, PianoRequest.PRIME_BARS, first.frames_per_beat, first.transpose)
    style = read_style(generators, prime, reader).style if len(generators) > 1 else next(iter(generators))
    generator = generators[style]
    prime = generator.read(prime)
    request = continuation_request(prime, seconds, generator.frames_per_beat, seed=seed, max_notes=8)
    sample = generator.generate([request])[0]
    back = pretty_midi.PrettyMIDI(io.BytesIO(continuation_midi(prime, sample)))

    window = prime.window
    ticks_per_frame = window.resolution / sample.frames_per_beat
    start_q = window.start_tick / window.resolution
    end_q = (window.start_tick + sample.prime_frames * ticks_per_frame) / window.resolution
    new_end_q = (window.start_tick + len(sample.roll) * ticks_per_frame) / window.resolution
    bar = piece.bar
    read = [
        (quarters_at(original, n.start), quarters_at(original, n.end), n.pitch, p)
        for n, p in notes_of(original)
    ]
    read = [r for r in read if r[0] < end_q - 1e-6]
    new = [(quarters_at(back, n.start), quarters_at(back, n.end), n.pitch, p) for n, p in notes_of(back)]
    new = [n for n in new if n[0] >= end_q - 1e-6]
    low, high = min(r[2] for r in read), max(r[2] for r in read)
    inside = sum(low - 7 <= n[2] <= high + 7 for n in new) / max(len(new), 1)

    def span_seconds(a: float, b: float) -> float:
        return original.tick_to_time(round(b * RESOLUTION)) - original.tick_to_time(round(a * RESOLUTION))

    def per_second(notes: list, a: float, b: float) -> float:
        return len(notes) / max(span_seconds(a, b), 1e-9) if b > a else 0.0

    def sounding(notes: list, a: float, b: float) -> float:
        grid = np.arange(a, b, 1 / GRID)
        return float(np.mean([sum(n[0] <= t < n[1] for n in notes) for t in grid])) if len(grid) else 0.0

    phase = (end_q - piece.first_barline) / bar
    on_barline = abs(phase - round(phase)) * bar < 1 / GRID / 2
    first_bar = piece.first_barline + np.ceil((end_q - piece.first_barline) / bar - 1e-6) * bar
    whole_read = int((end_q - piece.first_barline) // bar)

    def downbeat_share(notes: list) -> float | None:
        positions = [((n[0] - piece.first_barline) % bar) for n in notes]
        return sum(min(p, bar - p) < 1 / GRID / 2 for p in positions) / len(positions) if positions else None

    new_bars = int((new_end_q - first_bar) // bar)
    fpb = generator.frames_per_beat  # motifs as the model hears them, on its grid
    read_roll = grid_roll([r[:3] for r in read], piece.first_barline, max(whole_read, 0), bar, fpb)
    new_roll = grid_roll([n[:3] for n in new], first_bar, new_bars, bar, fpb)
    real_next = [
        (quarters_at(original, n.start), quarters_at(original, n.end), n.pitch) for n, _ in notes_of(original)
    ]
    real_roll = grid_roll(real_next, first_bar, new_bars, bar, fpb)

    final_tempo = _tempo_at(original, end_q)
    bar_seconds = bar * 60 / final_tempo
    length = span_seconds(end_q, new_end_q)
    programs = {p for *_, p in read}
    lowest_part = min(programs, key=lambda p: statistics.median(r[2] for r in read if r[3] == p))
    onsets: dict[float, list] = {}
    for n in new:
        onsets.setdefault(round(n[0] * GRID), []).append(n)
    bass_on_lowest = [min(group, key=lambda n: n[2])[3] == lowest_part for group in onsets.values()]
    names_in = {t.name for t in mido.MidiFile(file=io.BytesIO(piece.midi)).tracks if t.name}
    names_out = {t.name for t in mido.MidiFile(file=io.BytesIO(continuation_midi(prime, sample))).tracks}
    spelled = (
        "♭" not in prime.key_name
        if piece.sharps > 0
        else "♯" not in prime.key_name
        if piece.sharps < 0
        else True
    )
    return {
        "name": piece.name,
        "expected": piece.style,
        "style": style,
        "read": prime.summary,
        "register": inside,
        "voices": sounding(new, end_q, new_end_q) / max(sounding(read, start_q, end_q), 1e-9),
        "onsets": per_second(new, end_q, new_end_q) / max(per_second(read, start_q, end_q), 1e-9),
        "motifs": reused(read_roll, new_roll, bar, fpb),
        "real_motifs": reused(read_roll, real_roll, bar, fpb),
        "barline": bool(on_barline),
        "beat1": (downbeat_share(new), downbeat_share(read)),
        "length_ok": abs(length - seconds) <= bar_seconds + 1e-6,
        "length": length,
        "tempo_ok": abs(prime.final_tempo_bpm - final_tempo) < 0.5,
        "key_ok": None if piece.tonic is None else (prime.tonic, prime.minor) == (piece.tonic, piece.minor),
        "spelled": spelled,
        "parts": len(programs),
        "bass_part": float(np.mean(bass_on_lowest)) if len(programs) > 1 and bass_on_lowest else None,
        "names_kept": names_in <= names_out,
    }


def _tempo_at(midi: pretty_midi.PrettyMIDI, quarters: float) -> float:
    times, tempi = midi.get_tempo_changes()
    at = midi.tick_to_time(round(quarters * midi.resolution))
    return float(tempi[max(np.searchsorted(times, at + 1e-9) - 1, 0)])


def share(rows: list[dict], test) -> str:
    counted = [r for r in rows if test(r) is not None]
    hits = sum(bool(test(r)) for r in counted)
    return f"{hits}/{len(counted)} ({hits / max(len(counted), 1):.0%})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--style", choices=("auto", *MUSIC_STYLES), default="auto")
    parser.add_argument("--tuning", action="store_true", help="the tuning set, not the evaluation set")
    parser.add_argument("--seconds", type=float, default=30.0, help="music to add to each (default 30)")
    parser.add_argument("--only", default="", help="pieces whose name contains this")
    args = parser.parse_args()
    styles = MUSIC_STYLES if args.style == "auto" else (args.style,)
    generators = {s: PianoGenerator.from_checkpoint(DEFAULT_MUSIC_CHECKPOINTS[s]) for s in styles}
    chosen = [p for p in pieces(TUNING if args.tuning else EVALUATION) if args.only in p.name]
    reader = StyleReader.load(DEFAULT_STYLE_READER)
    reader = reader if reader is not None and reader.fits(generators) else None
    rows = [evaluate(piece, generators, reader, args.seconds, seed) for seed, piece in enumerate(chosen)]

    def fmt(value, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    print(
        f"{'piece':<34}{'is':<8}{'read as':<8}{'read':<26}{'reg':>5}{'voice':>6}{'ons':>6}"
        f"{'motif':>6}{'real':>6}{'bar':>4}{'beat1 new/read':>15}{'len':>6}{'key':>4}{'bass':>5}"
    )
    for r in rows:
        new, old = r["beat1"]
        print(
            f"{r['name'][:33]:<34}{r['expected']:<8}{r['style']:<8}{r['read'][:25]:<26}"
            f"{r['register']:>5.0%}{r['voices']:>5.2f}x{r['onsets']:>5.2f}x"
            f"{fmt(r['motifs'], '.2f'):>6}{fmt(r['real_motifs'], '.2f'):>6}"
            f"{'yes' if r['barline'] else 'NO':>4}{fmt(new, '.2f'):>8}/{fmt(old, '.2f'):<6}"
            f"{r['length']:>6.1f}{'-' if r['key_ok'] is None else 'yes' if r['key_ok'] else 'NO':>4}"
            f"{fmt(r['bass_part'], '.0%'):>5}"
        )
    counts = {s: sum(r["expected"] == s for r in rows) for s in MUSIC_STYLES}
    motifs = [r["motifs"] for r in rows if r["motifs"] is not None]
    real = [r["real_motifs"] for r in rows if r["real_motifs"] is not None]
    bass = [r["bass_part"] for r in rows if r["bass_part"] is not None]
    accents = [abs(r["beat1"][0] - r["beat1"][1]) <= 0.1 for r in rows if None not in r["beat1"]]
    print(f"\n{len(rows)} pieces ({', '.join(f'{s} {counts[s]}' for s in MUSIC_STYLES)})")
    print(f"style named right: {share(rows, lambda r: r['style'] == r['expected'])} (target 90%)")
    for style in MUSIC_STYLES:
        print(f"  {style}: read as {', '.join(r['style'] for r in rows if r['expected'] == style)}")
    print(
        f"register: ≥90% of notes inside the read range + a fifth on "
        f"{share(rows, lambda r: r['register'] >= 0.9)} "
        f"(target 90%); median share of notes inside {statistics.median(r['register'] for r in rows):.0%}"
    )
    print(
        f"voices: median ratio {statistics.median(r['voices'] for r in rows):.2f}x, within 0.67-1.5x on "
        f"{share(rows, lambda r: 2 / 3 <= r['voices'] <= 1.5)}; onsets/s median ratio "
        f"{statistics.median(r['onsets'] for r in rows):.2f}x, within 0.67-1.5x on "
        f"{share(rows, lambda r: 2 / 3 <= r['onsets'] <= 1.5)}"
    )
    print(
        "motifs reused from the read part: median "
        f"{fmt(statistics.median(motifs) if motifs else None, '.2f')} "
        f"(real next bars {fmt(statistics.median(real) if real else None, '.2f')}; target ≥ both and ≥ 0.15)"
    )
    print(
        f"starts on a barline: {share(rows, lambda r: r['barline'])}; beat-1 share within 0.1 of the read "
        f"part's: {sum(accents)}/{len(accents)} ({sum(accents) / max(len(accents), 1):.0%})"
    )
    print(
        f"length within a bar of {args.seconds:g} s: {share(rows, lambda r: r['length_ok'])}; tempo said is "
        f"the one in force at the end: {share(rows, lambda r: r['tempo_ok'])}"
    )
    print(
        f"key right: {share(rows, lambda r: r['key_ok'])} (target 95%); spelled as the signature: "
        f"{share(rows, lambda r: r['spelled'])}"
    )
    print(
        f"multi-part pieces: lowest continuation note on the lowest part's instrument, median "
        f"{fmt(statistics.median(bass) if bass else None, '.0%')}"
        f"; track names kept: {share(rows, lambda r: r['names_kept'])}"
    )


if __name__ == "__main__":
    main()
