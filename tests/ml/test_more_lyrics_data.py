"""Training on several lyrics files: one spelling per artist, tables that grow when a model
is fine-tuned on more data, and scoring a file of artists the model never saw."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ml.__main__ import main
from ml.checkpoint import load_checkpoint
from ml.text.artists import ArtistTable
from ml.text.data import normalize_lyrics, one_spelling, read_song_files
from ml.text.generate import LyricsGenerator
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.vocab import UNK, Vocab
from tests.lyrics_fixtures import ALPHA_LINE, BETA_LINE, two_artist_rows, write_lyrics_csv

GAMMA_LINE = "dede ddé\n"  # a third alphabet, with a character the first file never had


def gamma_rows(songs: int = 24, artist: str = "Gamma") -> list[tuple[str, str, str]]:
    return [(artist, f"Chant {i}", GAMMA_LINE * 12 + "d" * (i + 1)) for i in range(songs)]


def test_typography_of_both_files_reads_alike():
    curly = "{Intro}\nI\u2019m lov\u0435 \u201cyou\u201d\u200aall\u2026 `cause\n{Chorus}\nend"
    assert normalize_lyrics(curly) == "I'm love \"you\" all... 'cause\n\nend"


def test_an_artist_spelled_two_ways_is_one_artist_under_the_first_files_spelling(tmp_path):
    first = write_lyrics_csv(tmp_path / "a.csv", [("The Beatles", "Help", "help me\n" * 3)])
    second = write_lyrics_csv(
        tmp_path / "b.csv",
        [
            ("Beatles", "Something", "something in the way\n" * 3),
            ("Ace of Base", "The Sign", "i saw the sign\n" * 3),
            ("Ace Of Base", "All That She Wants", "all that she wants\n" * 3),
            ("Ace of Base", "Beautiful Life", "beautiful life\n" * 3),
        ],
    )
    songs = read_song_files([first, second])
    assert [s.artist for s in songs] == ["The Beatles", "The Beatles", *["Ace of Base"] * 3]
    # A file added later never renames the earlier file's songs, so their split stays put.
    assert [s.artist for s in one_spelling([songs[:1]])] == ["The Beatles"]
    table = ArtistTable(["<any artist>", "The Beatles"])
    assert table.resolve("beatles") == ("The Beatles", 1)
    assert table.extended(["Beatles", "Cher"]) == ["<any artist>", "The Beatles", "Cher"]


def test_rare_characters_of_a_large_corpus_stay_unknown():
    text = "a" * 3_000_000 + "中" * 3 + "é" * 5
    assert Vocab.build([text]).chars == ["a", "é"]
    assert Vocab(["b"]).extended([text]).chars == ["b", "a", "é"]


def test_a_grown_model_keeps_what_it_knew_and_starts_new_rows_as_unknown_and_any_artist():
    torch.manual_seed(0)
    small = CharLSTM(CharLSTMConfig(vocab_size=6, n_artists=3, hidden=16, embed_dim=8, artist_dim=4))
    big = CharLSTM(CharLSTMConfig(vocab_size=8, n_artists=5, hidden=16, embed_dim=8, artist_dim=4))
    big.load_grown(small.state_dict())
    small.eval(), big.eval()
    tokens = torch.tensor([[0, 3, 4, 5, 3]])
    with torch.no_grad():
        old = small(tokens, torch.tensor([1]))[0].log_softmax(-1)
        new = big(tokens, torch.tensor([1]))[0].log_softmax(-1)
        known = [i for i in range(6) if i != UNK]
        assert torch.allclose(old[..., known], new[..., known], atol=1e-5)
        shared = new[..., [UNK, 6, 7]].exp()  # <unk>'s probability, shared out three ways
        assert torch.allclose(shared, old[..., [UNK]].exp().expand_as(shared) / 3, atol=1e-6)
        assert torch.equal(big.artist_embed.weight[3], small.artist_embed.weight[0])
        assert torch.equal(big.embed.weight[7], small.embed.weight[UNK])
    with pytest.raises(ValueError, match="cannot grow"):
        small.load_grown(big.state_dict())


def test_fine_tuning_on_a_second_file_adds_its_artists_and_characters(tmp_path, capsys):
    first = write_lyrics_csv(tmp_path / "first.csv", two_artist_rows())
    second = write_lyrics_csv(tmp_path / "second.csv", gamma_rows())
    common = ["--hidden", "32", "--layers", "1", "--batch-size", "8", "--seq-len", "32", "--lr", "1e-2"]
    common += ["--eval-every", "1000", "--no-progress", "--val-fraction", "0.2"]
    assert (
        main(
            ["train", "lyrics", "--data", str(first), "--out", str(tmp_path / "a"), "--epochs", "5", *common]
        )
        == 0
    )
    start = tmp_path / "a" / "best.pt"
    args = ["train", "lyrics", "--data", str(first), "--data", str(second), "--out", str(tmp_path / "b")]
    assert main([*args, "--init-from", str(start), "--epochs", "25", *common]) == 0
    before, after = load_checkpoint(start, "lyrics"), load_checkpoint(tmp_path / "b" / "best.pt", "lyrics")
    old_artists, new_artists = before.meta["artists"], after.meta["artists"]
    assert new_artists == [*old_artists, "Gamma"]
    assert after.meta["vocab"][: len(before.meta["vocab"])] == before.meta["vocab"]
    assert "é" in after.meta["vocab"] and "é" not in before.meta["vocab"]
    generator = LyricsGenerator.from_checkpoint(tmp_path / "b" / "best.pt")
    assert generator.resolve_artist("gamma")[0] == "Gamma"
    capsys.readouterr()
    # The whole run is scored on both files' validation songs; each file alone scores too.
    assert (
        main(
            [
                "eval",
                "lyrics",
                "--checkpoint",
                str(tmp_path / "b" / "best.pt"),
                "--data",
                str(second),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert set(report["per_artist"]) == {"Gamma"} and report["baselines"]


def test_eval_all_scores_a_file_of_unknown_artists_as_any_artist(tmp_path, capsys):
    first = write_lyrics_csv(tmp_path / "first.csv", two_artist_rows())
    common = ["--hidden", "32", "--layers", "1", "--batch-size", "8", "--seq-len", "32", "--epochs", "3"]
    assert (
        main(
            ["train", "lyrics", "--data", str(first), "--out", str(tmp_path / "a"), "--no-progress", *common]
        )
        == 0
    )
    strangers = write_lyrics_csv(
        tmp_path / "strangers.csv",
        [("Nobody", f"N {i}", ALPHA_LINE * 3) for i in range(19)] + [("Alpha", "Extra", ALPHA_LINE * 4)],
    )
    checkpoint = str(tmp_path / "a" / "best.pt")
    capsys.readouterr()
    assert (
        main(["eval", "lyrics", "--checkpoint", checkpoint, "--data", str(strangers), "--split", "all"]) == 0
    )
    out = capsys.readouterr().out
    assert "20 songs" in out and "Nobody *" in out and "--split val only" in out
    assert (
        main(
            [
                "eval",
                "lyrics",
                "--checkpoint",
                checkpoint,
                "--data",
                str(strangers),
                "--split",
                "all",
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    rows = report["per_artist"]
    assert rows["Nobody"]["known_artist"] is False and rows["Alpha"]["known_artist"] is True
    assert math.isclose(rows["Nobody"]["bits_per_char"], rows["Nobody"]["bits_per_char_any_artist"])
    assert report["baselines"] == {}
    # --min-songs keeps the artists with that many songs in the files: Nobody's 19, not Alpha's 1.
    capsys.readouterr()
    argv = ["eval", "lyrics", "--checkpoint", checkpoint, "--data", str(strangers), "--split", "all"]
    assert main([*argv, "--min-songs", "10", "--json"]) == 0
    few = json.loads(capsys.readouterr().out)
    assert set(few["per_artist"]) == {"Nobody"} and few["songs"] == 19
    assert main([*argv, "--min-songs", "50"]) != 0
    assert "No artist in" in capsys.readouterr().err
    unknown = write_lyrics_csv(tmp_path / "unknown.csv", [("Nobody", "x", BETA_LINE * 3)] * 1)
    assert main(["eval", "lyrics", "--checkpoint", checkpoint, "--data", str(unknown)]) == 2
    assert "--split all scores every song" in capsys.readouterr().err


def test_a_resume_insists_on_the_same_artist_selection(tmp_path, capsys):
    data = write_lyrics_csv(tmp_path / "songs.csv", two_artist_rows())
    common = ["--data", str(data), "--out", str(tmp_path / "run"), "--hidden", "16", "--layers", "1"]
    common += ["--batch-size", "8", "--seq-len", "32", "--epochs", "1", "--no-progress"]
    assert main(["train", "lyrics", *common, "--artists", "Alpha,Beta"]) == 0
    capsys.readouterr()
    assert main(["train", "lyrics", *common, "--resume"]) == 2
    assert 'trained with --artists "Alpha,Beta"' in capsys.readouterr().err
    assert main(["train", "lyrics", *common, "--artists", "Alpha,Beta", "--resume", "--unconditional"]) == 2
    assert "trained with no --unconditional" in capsys.readouterr().err
    assert main(["train", "lyrics", *common, "--artists", "Alpha,Beta", "--resume", "--epochs", "2"]) == 0
