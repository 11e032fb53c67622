"""Write docs/REPORT.md: the evaluation of the shipped models, with samples and pictures.

    python scripts/make_report.py                       # shipped models, ../shared/data
    python scripts/make_report.py --style-json runs/style.json \
        --bench nottingham runs/bench/nott-nade/best.pt --bench jsb runs/bench/jsb-nade/best.pt
    python scripts/make_report.py --only lyrics --style-json runs/style.json  # lyrics section only
    python scripts/make_report.py --only piano --bench ...                    # piano section only

`--bench SET CHECKPOINT` (repeatable) adds a model trained on one Boulanger-Lewandowski
set alone (nottingham, jsb, musedata, piano-midi) to the benchmark table.

Every figure is computed here, from the checkpoints and the data named on the command line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.checkpoint import load_checkpoint
from ml.music.data import load_midi_folder
from ml.music.evaluate import evaluate_piano, score_midi_path
from ml.music.generate import PianoGenerator
from ml.music.model import PianoLSTMConfig
from ml.music.pianoroll import save_roll_png
from ml.music.render import render_piece
from ml.music.request import PianoRequest
from ml.paths import DEFAULT_LYRICS_CHECKPOINT, DEFAULT_MUSIC_CHECKPOINT, REPO_ROOT
from ml.text.evaluate import evaluate_lyrics
from ml.text.generate import LyricsGenerator
from ml.text.request import LyricsRequest

BENCHMARK_SETS = {  # name: (label, file under the data folder)
    "nottingham": ("Nottingham", "nottingham/bl/Nottingham.pickle"),
    "jsb": ("JSB Chorales", "jsb/JSB_Chorales.mat"),
    "musedata": ("MuseData", "bl_other/MuseData.mat"),
    "piano-midi": ("Piano-midi.de", "bl_other/Piano_midi.mat"),
}
PUBLISHED = {  # test NLL/frame in nats, as reported
    "RNN (Bai et al. 2018)": {"nottingham": 4.05, "jsb": 8.91},
    "GRU (Bai et al. 2018)": {"nottingham": 3.46, "jsb": 8.43},
    "LSTM (Bai et al. 2018)": {"nottingham": 3.29, "jsb": 8.45},
    "TCN (Bai et al. 2018)": {"nottingham": 3.07, "jsb": 8.10},
    "RNN-RBM (Boulanger-Lewandowski et al. 2012)": {
        "nottingham": 2.39,
        "jsb": 6.27,
        "musedata": 6.01,
        "piano-midi": 7.09,
    },
    "RNN-NADE (Boulanger-Lewandowski et al. 2012)": {
        "nottingham": 2.31,
        "jsb": 5.56,
        "musedata": 5.60,
        "piano-midi": 7.05,
    },
}
SAMPLE_ARTISTS = 4
TEMPERATURES = (0.5, 1.0)
PRIME_TEMPERATURES = (0.2, 0.5, 1.0)
X_MAX = 2.0  # the quality plot's widest share of the real songs' figure


def lyrics_section(checkpoint: Path, data: list[Path], style: Path | None, out_dir: Path) -> list[str]:
    """Bits per character on each file's validation split, per artist on all of them, the
    quality report, and samples."""
    scored = {path: evaluate_lyrics(checkpoint, [path], "val") for path in data if path.is_file()}
    out = ["## Lyrics", ""]
    for path, report in scored.items():
        out += [
            f"`{path.name}`, validation split: {report['songs']} songs, {report['chars']:,} characters.",
            "",
            "| model | bits/char |",
            "|---|---|",
        ]
        out += [f"| {name} | {bits:.3f} |" for name, bits in report["baselines"].items()]
        out.append(f"| LSTM, true artist | **{report['bits_per_char']:.3f}** |")
        if "bits_per_char_any_artist" in report:
            out.append(f'| LSTM, "any artist" | {report["bits_per_char_any_artist"]:.3f} |')
        out.append("")
    report = evaluate_lyrics(checkpoint, list(scored), "val")
    generator = LyricsGenerator.from_checkpoint(checkpoint)
    counts = generator.song_counts
    top = sorted(counts, key=lambda a: -counts[a])[:10]
    wins = 0
    out += [
        "The ten artists with most training songs (validation songs of every file):",
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


QUALITY_COLUMNS = (  # report field, column heading
    ("accuracy", "attributed to their artist"),
    ("real_words", "real words"),
    ("first_line_real_words", "real words, first line"),
    ("repeated_lines", "repeated lines"),
    ("rhymes", "end rhymes"),
    ("title_case", "Title Case"),
    ("coherence", "coherence"),
    ("vocable_lines", "vocable-only lines"),
    ("balanced", "balanced marks"),
    ("profanity_per_1000_words", "profanity / 1,000 words"),
    ("copy_rate", "copied lyrics, 40+ chars"),
    ("verbatim_rate", "any 40+ char span"),
    ("cut_mid_line", "stopped mid-line"),
    ("bits_per_char_any_artist", 'bits/char, "any artist"'),
)


def lyrics_files(data: Path) -> list[Path]:
    """The lyrics the shipped model was trained on: songdata.csv, then the hits."""
    return [data / "lyrics" / "songdata.csv", data / "lyrics" / "extra" / "hits.csv"]


def style_section(report: dict, out_dir: Path) -> list[str]:
    """The quality report (from `python -m ml eval lyrics --style-report --json`), as a table and a plot."""
    style = report["style_report"]
    sweep, reference, config = style["sweep"], style["reference"], style["config"]
    plot_quality(sweep, reference, style["recommended"], out_dir / "lyrics-style.png")

    def cells(row: dict) -> str:
        def cell(field: str) -> str:
            value = row.get(field)
            return "–" if value is None else f"{value:.3f}" if field.startswith("bits") else f"{value:.2f}"

        return " | ".join(cell(field) for field, _ in QUALITY_COLUMNS)

    out = [
        "### What a reader gets: the quality report",
        "",
        f"Replies written for the {len(style['artists'])} artists with most training songs, "
        f"{config['samples_per_artist']} per artist and setting ({config['sample_length']} characters "
        f"as the length target, temperature {config['temperature']}), against the "
        f"{reference['validation_songs']} real validation songs of those artists cut where a reply of "
        "that length would stop. Real words: words seen 3+ times in the training text. Copied lyrics: "
        "a verbatim span of 40+ characters of the training text holding at least three different "
        'words; a shared run of one or two vocables ("Yeah, yeah, yeah…", "oh, oh, oh") is in '
        "hundreds of songs and counts only under *any 40+ char span*. Attribution: "
        "an artist classifier (character 2–5-grams, lower-cased, logistic regression) trained on half "
        f"of the training songs; chance is {style['chance']:.2f}. The word lexicon that judges a "
        "request's candidates is rebuilt from the other half, so best of N is never judged by the "
        "songs the classifier learnt from. Coherence: the mean cosine between each line and the rest "
        "of the text in an LSA topic space fitted on the classifier's half (`ml/text/coherence.py`). "
        "Vocable-only lines: lines of nothing but oh/yeah/hey/la/na…, a share of all lines; balanced "
        "marks: replies whose every bracket and quote is paired. `ramp`: characters over which guidance "
        "rises to its strength; `min_p`: characters under that share of the likeliest one are cut; "
        "`plausibility`: guidance writes no character the artist's own model gives under that share "
        "of its likeliest one; "
        "`recall` and `rhyme`: the song-shape nudges of `ml/text/shape.py`; `candidates`: replies "
        "written per request, the one the lexicon rates best returned.",
        "",
        "| setting | " + " | ".join(name for _, name in QUALITY_COLUMNS) + " |",
        "|---|" + "---|" * len(QUALITY_COLUMNS),
        f"| real unseen songs | {cells(reference)} |",
    ]
    out += [f"| {key} | {cells(row)} |" for key, row in sweep.items()]
    caught = sum(row["slur_lines_cut"] for row in sweep.values())
    masked = sum(row["profanity_masked"] for row in sweep.values())
    replies = sum(row["samples"] for row in sweep.values())
    misses = style["recommended_misses"]
    out += [
        "",
        f"Over all {replies:,} replies: {caught} lines with a slur left out, {masked} profane words "
        "masked (where a channel shows them masked).",
        "",
        f"Chosen (fewest missed targets among the settings within {config['max_fluency_loss']} bits/char "
        f"of plain sampling, then the best attributed): **{style['recommended']}**"
        + (f"; it misses: {', '.join(misses)}." if misses else "; it meets every target."),
        "",
        "![quality by setting](lyrics-style.png)",
        "",
    ]
    return out + per_artist_quality(style)


def per_artist_quality(style: dict) -> list[str]:
    """The chosen setting's figures per artist, beside those of the artist's real songs."""
    chosen = style["sweep"][style["recommended"]]["per_artist"]
    real = style["reference"]["per_artist"]
    fields = ("accuracy", "real_words", "repeated_lines", "rhymes", "coherence", "vocable_lines")
    fields += ("profanity_per_1000_words",)

    def pair(artist: str, field: str) -> str:
        def shown(row: dict) -> str:
            return "–" if row.get(field) is None else f"{row[field]:.2f}"

        return f"{shown(chosen[artist])} / {shown(real.get(artist, {}))}"

    replies = style["config"]["samples_per_artist"]
    out = [
        f"Per artist at the chosen setting (replies / real unseen songs; {replies} replies each, "
        "so an artist's figures move by about ±0.15):",
        "",
        "| artist | attributed | real words | repeated lines | end rhymes | coherence | vocable-only lines "
        "| profanity / 1,000 words |",
        "|---|---|---|---|---|---|---|---|",
    ]
    out += [f"| {artist} | " + " | ".join(pair(artist, f) for f in fields) + " |" for artist in chosen]
    return [*out, ""]


def plot_quality(sweep: dict, reference: dict, chosen: str | None, path: Path) -> None:
    """Each setting's figures as a share of the real songs' (1 = as real songs), one row a
    setting in the table's order, the chosen one in bold; a share past X_MAX sits at the edge."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("accuracy", "real_words", "first_line_real_words", "repeated_lines", "rhymes")
    keys = list(sweep)
    rows = range(len(keys))
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.26 * len(keys)), dpi=110)
    for field, marker in zip(shown, "osD^v", strict=True):
        ratios = [(sweep[k][field] or 0) / reference[field] if reference[field] else 0 for k in keys]
        clipped = [min(r, X_MAX) for r in ratios]
        ax.plot(clipped, rows, marker, label=dict(QUALITY_COLUMNS)[field], alpha=0.8)
    ax.axvline(1.0, color="green", linestyle="--", label="real unseen songs")
    ax.set_yticks(list(rows), keys, fontsize=7)
    for label in ax.get_yticklabels():
        if label.get_text() == chosen:
            label.set_fontweight("bold")
    ax.invert_yaxis()  # the table's order, top to bottom
    ax.set_xlim(0, X_MAX * 1.02)
    ax.set_xlabel(f"replies / real unseen songs (past {X_MAX:g} shown at {X_MAX:g})")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def model_name(config: PianoLSTMConfig) -> str:
    return f"LSTM {config.layers} x {config.hidden}, {config.head} head"


def benchmark_section(runs: list[tuple[str, Path]], data: Path) -> list[str]:
    """Test NLL/frame on the four sets beside the published figures, then our models'
    valid (selection) and test figures with frame accuracy. The shipped model is not here:
    it trains on more than a benchmark's training split (see midi_path_section)."""
    sets = list(BENCHMARK_SETS)
    ours: dict[str, dict[str, tuple[str, dict, dict]]] = {}  # head → set → (model, valid, test)
    baseline: dict[str, float] = {}
    for name, checkpoint in runs:
        path = data / BENCHMARK_SETS[name][1]
        test = evaluate_piano(checkpoint, path, "test")
        config = PianoLSTMConfig(**load_checkpoint(checkpoint, "piano").model_config)
        ours.setdefault(config.head, {})[name] = (
            model_name(config),
            evaluate_piano(checkpoint, path, "valid"),
            test,
        )
        baseline[name] = test["baselines"]["independent_bernoulli"]

    def bold(nll: float) -> str:
        return f"**{nll:.2f}**"

    def cells(values: dict[str, str]) -> str:
        return " | ".join(values.get(s, "") for s in sets)

    out = [
        "### The four Boulanger-Lewandowski benchmarks",
        "",
        "Test NLL per frame in nats (lower is better); each of our models is trained on the "
        "set's own training split alone and selected on its valid split.",
        "",
        f"| model | {' | '.join(BENCHMARK_SETS[s][0] for s in sets)} |",
        "|---|" + "---|" * len(sets),
    ]
    out += [
        f"| {model} | {cells({s: f'{v:.2f}' for s, v in figures.items()})} |"
        for model, figures in PUBLISHED.items()
    ]
    out.append(f"| independent Bernoulli per key | {cells({s: f'{v:.2f}' for s, v in baseline.items()})} |")
    out += [
        f"| **ours: LSTM, {head} head** | "
        f"{cells({s: bold(t['nll_per_frame']) for s, (_, _, t) in figures.items()})} |"
        for head, figures in ours.items()
    ]
    out += [
        "",
        "| ours | set | valid NLL/frame | test NLL/frame | test frame accuracy |",
        "|---|---|---|---|---|",
    ]
    for figures in ours.values():
        for s, (model, valid, test) in figures.items():
            out.append(
                f"| {model} | {BENCHMARK_SETS[s][0]} | {valid['nll_per_frame']:.3f} | "
                f"{test['nll_per_frame']:.3f} | {test['frame_accuracy']:.3f} |"
            )
    return [*out, ""]


def midi_path_section(checkpoints: list[Path], data: Path) -> list[str]:
    """Models on both readings of Nottingham: the benchmark's test rolls and the jukedeck
    MIDI files read through our pipeline (validation split; and its never-trained tunes)."""
    out = [
        "### Nottingham through our MIDI pipeline",
        "",
        "NLL per frame on the benchmark's test split and on the jukedeck MIDI files' validation "
        "split read through our MIDI pipeline; *unseen* are the validation tunes whose melody "
        "matches a benchmark valid/test tune and no training tune; *chords up* is the MIDI "
        "validation split with every note below middle C moved up an octave (jukedeck voices "
        "the chords an octave below the benchmark).",
        "",
        "| model | trained on | BL test | MIDI validation | gap | MIDI unseen | gap | MIDI, chords up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for checkpoint in checkpoints:
        generator = PianoGenerator.from_checkpoint(checkpoint)
        report = score_midi_path(
            generator.model,
            generator.meta,
            data / BENCHMARK_SETS["nottingham"][1],
            data / "nottingham" / "jukedeck",
            "test",
        )
        bl, val, unseen, chords_up = (
            report[k]["nll_per_frame"]
            for k in ("benchmark_test", "midi_val", "midi_val_unseen", "midi_val_chords_up")
        )
        extra = generator.meta.data.also_train
        trained_on = "BL train" + (f" + {extra['kept']} jukedeck tunes" if extra else "")
        out.append(
            f"| {model_name(generator.model.config)} | {trained_on} | {bl:.2f} | {val:.2f} | "
            f"{val - bl:+.2f} | {unseen:.2f} | {unseen - bl:+.2f} | {chords_up:.2f} |"
        )
    return [*out, ""]


def piano_section(args: argparse.Namespace) -> list[str]:
    lines = ["## Piano", ""]
    lines += benchmark_section(args.bench, args.data)
    nottingham_runs = [Path(c) for name, c in args.bench if name == "nottingham"]
    lines += midi_path_section(list(dict.fromkeys([*nottingham_runs, args.piano])), args.data)
    generator = PianoGenerator.from_checkpoint(args.piano)
    piece = generator.generate([PianoRequest(seconds=30, temperature=1.0, seed=5)])[0]
    rendered = render_piece(piece, audio=(), title="sample, temperature 1.0, seed 5")
    (args.out / "piano-sample.png").write_bytes(rendered.png)
    tune = load_midi_folder(args.data / "nottingham" / "jukedeck", frames_per_beat=2, transpose=True).tunes[0]
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
        f"The opening of a jukedeck tune ({tune.name}, transposed to C):",
        "",
        "![tune](piano-training-tune.png)",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    data = REPO_ROOT.parent / "shared" / "data"
    parser.add_argument("--lyrics", type=Path, default=DEFAULT_LYRICS_CHECKPOINT)
    parser.add_argument("--piano", type=Path, default=DEFAULT_MUSIC_CHECKPOINT)
    parser.add_argument(
        "--bench",
        nargs=2,
        action="append",
        default=[],
        metavar=("SET", "CHECKPOINT"),
        help=f"a model trained on one benchmark set ({', '.join(BENCHMARK_SETS)}); repeatable",
    )
    parser.add_argument(
        "--style-json", type=Path, help="output of `python -m ml eval lyrics --style-report --json`"
    )
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs")
    parser.add_argument(
        "--only",
        choices=("lyrics", "piano"),
        help="rewrite this section of an existing REPORT.md, keep the rest",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, _ in args.bench:
        if name not in BENCHMARK_SETS:
            parser.error(f"--bench SET must be one of {', '.join(BENCHMARK_SETS)}, not {name!r}")
    report = args.out / "REPORT.md"
    if args.only:
        text = report.read_text()
        start, end = (
            (text.index("## Lyrics"), text.index("## Piano"))
            if args.only == "lyrics"
            else (text.index("## Piano"), len(text))
        )
        section = (
            lyrics_section(args.lyrics, lyrics_files(args.data), args.style_json, args.out)
            if args.only == "lyrics"
            else piano_section(args)
        )
        report.write_text(text[:start] + "\n".join(section) + "\n" + text[end:])
        print(json.dumps({"written": str(report), "section": args.only}))
        return

    lines = [
        "# Evaluation report",
        "",
        "Written by `scripts/make_report.py` from the shipped checkpoints.",
        "",
    ]
    lines += lyrics_section(args.lyrics, lyrics_files(args.data), args.style_json, args.out)
    lines += piano_section(args)
    report.write_text("\n".join(lines))
    print(json.dumps({"written": str(report)}))


if __name__ == "__main__":
    main()
