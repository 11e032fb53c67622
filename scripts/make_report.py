"""Write docs/REPORT.md: the evaluation of the shipped models, with samples and pictures.

    python scripts/make_report.py                       # shipped models, ../shared/data
    python scripts/make_report.py --jsb runs/jsb/best.pt --style-json runs/style.json
    python scripts/make_report.py --only lyrics --style-json runs/style.json  # lyrics section only

Every figure is computed here, from the checkpoints and the data named on the command line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ml.music.data import PianoCorpus, Tune, load_benchmark, load_midi_folder
from ml.music.evaluate import evaluate_piano, score_model
from ml.music.generate import PianoGenerator, PianoRequest
from ml.music.model import PianoLSTM
from ml.music.pianoroll import save_roll_png
from ml.music.render import render_piece
from ml.paths import DEFAULT_LYRICS_CHECKPOINT, DEFAULT_PIANO_CHECKPOINT, REPO_ROOT
from ml.text.evaluate import evaluate_lyrics
from ml.text.generate import LyricsGenerator, LyricsRequest

PUBLISHED_NOTTINGHAM = [
    ("RNN (Bai et al. 2018)", 4.05),
    ("GRU (Bai et al. 2018)", 3.46),
    ("LSTM (Bai et al. 2018)", 3.29),
    ("TCN (Bai et al. 2018)", 3.07),
    ("RNN-NADE (Boulanger-Lewandowski et al. 2012)", 2.31),
]
PUBLISHED_JSB = [
    ("RNN (Bai et al. 2018)", 8.91),
    ("LSTM (Bai et al. 2018)", 8.45),
    ("TCN (Bai et al. 2018)", 8.10),
]
SAMPLE_ARTISTS = 4
TEMPERATURES = (0.5, 1.0)
PRIME_TEMPERATURES = (0.2, 0.5, 1.0)


def lyrics_section(checkpoint: Path, data: Path, style: Path | None, out_dir: Path) -> list[str]:
    report = evaluate_lyrics(checkpoint, data, "val")
    out = [
        "## Lyrics",
        "",
        f"Validation split: {report['songs']} songs, {report['chars']:,} characters.",
        "",
        "| model | bits/char |",
        "|---|---|",
    ]
    for name, bits in report["baselines"].items():
        out.append(f"| {name} | {bits:.3f} |")
    out.append(f"| LSTM, true artist | **{report['bits_per_char']:.3f}** |")
    if "bits_per_char_any_artist" in report:
        out.append(f'| LSTM, "any artist" | {report["bits_per_char_any_artist"]:.3f} |')
    generator = LyricsGenerator.from_checkpoint(checkpoint)
    counts = generator.song_counts
    top = sorted(counts, key=lambda a: -counts[a])[:10]
    wins = 0
    out += [
        "",
        "The ten artists with most training songs (validation songs only):",
        "",
        "| artist | train songs | val songs | bpc, true artist | bpc, any artist |",
        "|---|---|---|---|---|",
    ]
    for artist in top:
        row = report["per_artist"].get(artist)
        if row is None:
            out.append(f"| {artist} | {counts[artist]} | 0 | – | – |")
            continue
        wins += row["bits_per_char"] < row["bits_per_char_any_artist"]
        out.append(
            f"| {artist} | {counts[artist]} | {row['songs']} | {row['bits_per_char']:.3f} | "
            f"{row['bits_per_char_any_artist']:.3f} |"
        )
    out += ["", f"Knowing the artist lowers the bits per character for {wins} of these ten artists.", ""]
    if style is not None:
        out += style_section(json.loads(style.read_text()), out_dir)

    out += ["### Samples", ""]
    for artist in top[:SAMPLE_ARTISTS]:
        for temperature in TEMPERATURES:
            sample = generator.generate(
                [LyricsRequest(artist=artist, temperature=temperature, length=400, seed=7)]
            )[0]
            out += [
                f"**{artist}**, temperature {temperature}, style {sample.style:g} (seed 7):",
                "",
                "```text",
                sample.text,
                "```",
                "",
            ]
    for temperature in PRIME_TEMPERATURES:
        sample = generator.generate(
            [LyricsRequest(prime="Why", temperature=temperature, length=300, seed=3)]
        )[0]
        out += [
            f'Prime "Why", any artist, temperature {temperature} (seed 3):',
            "",
            "```text",
            sample.text,
            "```",
            "",
        ]
    return out


def style_section(report: dict, out_dir: Path) -> list[str]:
    """The style report (from `python -m ml eval lyrics --style-report --json`), as a table and a plot."""
    style = report["style_report"]
    sweep, reference = style["sweep"], style["reference"]["accuracy"]
    config = style["config"]
    strengths = [float(k) for k in sweep]
    plot_style(strengths, sweep, reference, style["chance"], out_dir / "lyrics-style.png")
    out = [
        "### Style strength",
        "",
        f"An artist classifier (character 2–5-gram TF-IDF + logistic regression) trained on the "
        f"training songs of the {len(style['artists'])} artists with most songs labels "
        f"{config['samples_per_artist']} samples per artist ({config['sample_length']} characters, "
        f"temperature {config['temperature']}) at each style strength. Real unseen songs of those "
        f"artists, cut to the same length, are attributed correctly **{reference:.2f}** of the time "
        f"({style['reference']['validation_songs']} validation songs); chance is {style['chance']:.2f}.",
        "",
        '| style | attributed to their artist | bits/char, "any artist" | copied 40+ chars | longest copy |',
        "|---|---|---|---|---|",
    ]
    for key, row in sweep.items():
        out.append(
            f"| {key} | {row['accuracy']:.2f} | {row['bits_per_char_any_artist']:.3f} | "
            f"{row['copy_rate']:.3f} | {row['longest_copy']} |"
        )
    anyone = style["any_artist"]
    spread = ", ".join(f"{a} {share:.2f}" for a, share in anyone["label_spread"].items())
    out += [
        "",
        f'"Any artist" samples spread over the labels as: {spread}.',
        "",
        f"Recommended (weakest strength meeting every target): **{style['recommended_style']}**.",
        "",
        "![style sweep](lyrics-style.png)",
        "",
    ]
    return out


def plot_style(strengths: list[float], sweep: dict, reference: float, chance: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(
        strengths,
        [row["accuracy"] for row in sweep.values()],
        "o-",
        label="samples attributed to their artist",
    )
    ax.axhline(reference, color="green", linestyle="--", label="real validation songs")
    ax.axhline(chance, color="grey", linestyle=":", label="chance")
    ax.set_xlabel("style strength (guidance)")
    ax.set_ylabel("attribution accuracy")
    fluency = ax.twinx()
    fluency.plot(
        strengths, [row["bits_per_char_any_artist"] for row in sweep.values()], "s-", color="tab:red"
    )
    fluency.set_ylabel("bits/char under any artist (red)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def piano_rows(checkpoint: Path, data: Path, published: list[tuple[str, float]], label: str) -> list[str]:
    test = evaluate_piano(checkpoint, data, "test")
    valid = evaluate_piano(checkpoint, data, "valid")
    out = [
        f"### {label}",
        "",
        f"Test split: {test['tunes']} tunes, {test['frames']:,} scored frames.",
        "",
        "| model | test NLL/frame (nats) | frame accuracy |",
        "|---|---|---|",
    ]
    out += [f"| {name} | {nll:.2f} | |" for name, nll in published]
    out.append(
        f"| independent Bernoulli (ours) | {test['baselines']['independent_bernoulli']:.2f} | "
        f"{test['baseline_frame_accuracy']['independent_bernoulli']:.3f} |"
    )
    out.append(f"| **LSTM (ours)** | **{test['nll_per_frame']:.2f}** | {test['frame_accuracy']:.3f} |")
    out += [
        "",
        f"(Ours on the valid split, used for model selection: {valid['nll_per_frame']:.2f} nats/frame.)",
        "",
    ]
    return out


MIDDLE_C = 60 - 21  # key index; in these folk tunes the chords sit below it, the melody above


def register_stats(rolls: list[np.ndarray]) -> tuple[int, float, float, float, float, float]:
    """Tunes, median length, and notes per frame and mean pitch below and above middle C."""
    stacked = np.concatenate(rolls)
    pitches = np.arange(88) + 21

    def register(keys: slice) -> tuple[float, float]:
        counts = stacked[:, keys].sum(0)
        return float(counts.sum() / len(stacked)), float((counts * pitches[keys]).sum() / counts.sum())

    low, high = register(slice(0, MIDDLE_C)), register(slice(MIDDLE_C, 88))
    return (len(rolls), float(np.median([len(r) for r in rolls])), *low, *high)


def raise_accompaniment(roll: np.ndarray) -> np.ndarray:
    """The notes below middle C moved up an octave (the benchmark's chord register)."""
    raised = roll.copy()
    raised[:, :MIDDLE_C] = False
    raised[:, 12 : MIDDLE_C + 12] |= roll[:, :MIDDLE_C]
    return raised


def pipeline_check(model: PianoLSTM, jukedeck: list[Tune], benchmark: Path) -> list[str]:
    """Our MIDI → roll pipeline on the jukedeck files against the benchmark's own rolls."""
    ours = [t.roll for t in jukedeck]
    theirs = [t.roll for tunes in load_benchmark(benchmark).values() for t in tunes]
    as_is = score_model(model, PianoCorpus([Tune("", r) for r in ours]), torch.device("cpu"))
    raised = [raise_accompaniment(r) for r in ours]
    moved = score_model(model, PianoCorpus([Tune("", r) for r in raised]), torch.device("cpu"))
    rows = [
        ("benchmark rolls (BL Nottingham, all splits)", register_stats(theirs)),
        ("our pipeline on the jukedeck MIDI files", register_stats(ours)),
    ]
    out = [
        "### Our MIDI pipeline against the benchmark's rolls",
        "",
        "| rolls | tunes | median frames | notes/frame below C4 | mean pitch | "
        "notes/frame from C4 | mean pitch |",
        "|---|---|---|---|---|---|---|",
    ]
    out += [
        f"| {name} | {n} | {med:.0f} | {low_n:.2f} | {low_p:.1f} | {high_n:.2f} | {high_p:.1f} |"
        for name, (n, med, low_n, low_p, high_n, high_p) in rows
    ]
    out += [
        "",
        f"The shipped piano model (trained on the benchmark rolls) scores "
        f"{as_is['nll_per_frame']:.2f} nats/frame on all {len(ours)} jukedeck tunes converted by our "
        f"pipeline (frame accuracy {as_is['frame_accuracy']:.3f}), and "
        f"{moved['nll_per_frame']:.2f} (frame accuracy {moved['frame_accuracy']:.3f}) once the notes "
        "below middle C are moved up an octave. The mean pitches above show why: jukedeck's MIDI "
        "voices the chords about an octave below the benchmark's rolls, a register the model never "
        "saw. What is left of the gap to the model's figure on the benchmark's own test rolls is "
        "not explained by register: the jukedeck files are a separate conversion of the same ABC "
        "tunes (shorter, see the median lengths), and were not matched to the benchmark's tune by "
        "tune here.",
        "",
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    data = REPO_ROOT.parent / "shared" / "data"
    parser.add_argument("--lyrics", type=Path, default=DEFAULT_LYRICS_CHECKPOINT)
    parser.add_argument("--piano", type=Path, default=DEFAULT_PIANO_CHECKPOINT)
    parser.add_argument("--jsb", type=Path, help="a piano checkpoint trained on JSB Chorales")
    parser.add_argument(
        "--style-json", type=Path, help="output of `python -m ml eval lyrics --style-report --json`"
    )
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs")
    parser.add_argument(
        "--only", choices=("lyrics",), help="rewrite this section of an existing REPORT.md, keep the rest"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only == "lyrics":
        report = args.out / "REPORT.md"
        text = report.read_text()
        start, end = text.index("## Lyrics"), text.index("## Piano")
        section = lyrics_section(
            args.lyrics, args.data / "lyrics" / "songdata.csv", args.style_json, args.out
        )
        report.write_text(text[:start] + "\n".join(section) + "\n" + text[end:])
        print(json.dumps({"written": str(report), "section": "lyrics"}))
        return

    lines = [
        "# Evaluation report",
        "",
        "Written by `scripts/make_report.py` from the shipped checkpoints.",
        "",
    ]
    lines += lyrics_section(args.lyrics, args.data / "lyrics" / "songdata.csv", args.style_json, args.out)
    lines += ["## Piano", ""]
    nottingham = args.data / "nottingham" / "bl" / "Nottingham.pickle"
    lines += piano_rows(
        args.piano, nottingham, PUBLISHED_NOTTINGHAM, "Nottingham (Boulanger-Lewandowski split)"
    )
    if args.jsb:
        lines += piano_rows(args.jsb, args.data / "jsb" / "JSB_Chorales.mat", PUBLISHED_JSB, "JSB Chorales")
    jukedeck = args.data / "nottingham" / "jukedeck"
    generator = PianoGenerator.from_checkpoint(args.piano)
    jukedeck_tunes = load_midi_folder(jukedeck, frames_per_beat=2, transpose=True).tunes
    lines += pipeline_check(generator.model, jukedeck_tunes, nottingham)

    piece = generator.generate([PianoRequest(seconds=30, temperature=1.0, seed=5)])[0]
    rendered = render_piece(piece, wav=False, title="sample, temperature 1.0, seed 5")
    (args.out / "piano-sample.png").write_bytes(rendered.png)
    tune = jukedeck_tunes[0]
    save_roll_png(
        tune.roll[: len(piece.roll)],
        args.out / "piano-training-tune.png",
        2,
        title=f"training tune {tune.name}",
    )
    lines += [
        "### Piano rolls",
        "",
        "A 30 s sample (temperature 1.0, seed 5):",
        "",
        "![sample](piano-sample.png)",
        "",
        f"The opening of a training tune ({tune.name}, transposed to C):",
        "",
        "![tune](piano-training-tune.png)",
        "",
    ]
    (args.out / "REPORT.md").write_text("\n".join(lines))
    print(json.dumps({"written": str(args.out / "REPORT.md")}))


if __name__ == "__main__":
    main()
