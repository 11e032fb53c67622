import json
import math

import pytest
import torch

from ml.batch import Batch
from ml.checkpoint import load_checkpoint
from ml.errors import BalladeerError
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.task import LyricsDataConfig, LyricsTask
from ml.text.vocab import Vocab
from ml.training import TrainConfig, epoch_chunks, sequence_loss
from tests.lyrics_fixtures import train_tiny_lyrics, two_artist_rows, write_lyrics_csv


def _model(dropout: float = 0.0) -> CharLSTM:
    torch.manual_seed(0)
    return CharLSTM(
        CharLSTMConfig(
            vocab_size=12,
            n_artists=3,
            hidden=24,
            layers=2,
            embed_dim=8,
            artist_dim=4,
            dropout=dropout,
        )
    )


def _batch(steps: int = 40) -> Batch:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(3, 12, (3, steps + 1), generator=g)
    mask = torch.ones(3, steps, dtype=torch.bool)
    mask[2, steps - 7 :] = False  # a shorter, padded song
    artists = torch.tensor([1, 2, 0])[:, None].expand(-1, steps)
    return Batch(tokens[:, :-1], tokens[:, 1:], mask, artists)


def _gradients(model: CharLSTM, batch: Batch, chunks: list[tuple[Batch, bool]], segment=None):
    model.zero_grad()
    state, total = None, 0.0
    for chunk, carries in chunks:
        loss, state = sequence_loss(model, chunk, state if carries else None, segment)
        (loss / batch.scored).backward()
        total += float(loss.detach())
        state = tuple(s.detach() for s in state)
    return total, [p.grad.clone() for p in model.parameters()]


def test_checkpointed_gradients_equal_full_bptt():
    model, batch = _model(), _batch()
    full_loss, full = _gradients(model, batch, [(batch, False)])
    ckpt_loss, ckpt = _gradients(model, batch, [(batch, False)], segment=7)
    assert ckpt_loss == pytest.approx(full_loss, rel=1e-6)
    for a, b in zip(full, ckpt, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_tbptt_equals_full_when_the_chunk_covers_the_sequence():
    model, batch = _model(), _batch()
    _, full = _gradients(model, batch, [(batch, False)])
    _, tbptt = _gradients(model, batch, epoch_chunks([batch], "tbptt", seq_len=64))
    for a, b in zip(full, tbptt, strict=True):
        torch.testing.assert_close(a, b)


def test_tbptt_carries_state_so_the_loss_matches_but_gradients_are_truncated():
    model, batch = _model(), _batch()
    full_loss, full = _gradients(model, batch, [(batch, False)])
    chunks = epoch_chunks([batch], "tbptt", seq_len=10)
    assert len(chunks) == 4 and [c for _, c in chunks] == [False, True, True, True]
    tbptt_loss, tbptt = _gradients(model, batch, chunks)
    assert tbptt_loss == pytest.approx(full_loss, rel=1e-5)
    assert not torch.allclose(full[-3], tbptt[-3])  # the recurrent weights see less history


def test_a_small_model_learns_periodic_text(tmp_path):
    rows = [("Poet", f"Loop {i}", "la di da dum\n" * (20 + i)) for i in range(30)]  # distinct lyrics
    best = train_tiny_lyrics(
        write_lyrics_csv(tmp_path / "p.csv", rows), tmp_path / "run", epochs=25, conditional=False
    )
    bits = load_checkpoint(best, "lyrics").metrics["val_bpc"]
    assert bits < 0.1


@pytest.mark.parametrize("bptt", ["full", "checkpoint"])
def test_whole_song_modes_train_and_write_the_run_folder(tmp_path, two_artist_csv, bptt):
    out = tmp_path / "run"
    train_tiny_lyrics(two_artist_csv, out, epochs=3, bptt=bptt, checkpoint_segment=16, eval_every=5)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    vals = [r["val_loss"] for r in records if r["type"] == "val"]
    assert len(vals) >= 3 and vals[-1] < vals[0]
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = load_checkpoint(out / "best.pt", "lyrics")
    assert best.training is None
    assert all(t.dtype == torch.float16 for t in best.state_dict.values() if t.is_floating_point())
    assert best.meta["artists"] == ["<any artist>", "Alpha", "Beta"]
    assert best.meta["data"]["song_counts"]["Alpha"] > 0
    assert math.isclose(best.metrics["val_bpc"], min(vals) / math.log(2))


def test_resume_continues_where_the_last_checkpoint_stopped(tmp_path, two_artist_csv):
    out = tmp_path / "run"
    train_tiny_lyrics(two_artist_csv, out, epochs=2, eval_every=4)
    first = load_checkpoint(out / "last.pt", "lyrics").training
    train_tiny_lyrics(two_artist_csv, out, epochs=4, eval_every=4, resume=True)
    second = load_checkpoint(out / "last.pt", "lyrics").training
    assert first["epoch"] == 2 and second["epoch"] == 4
    assert second["step"] == 2 * first["step"]
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == second["step"]


def test_early_stopping_ends_a_run_without_improvement(tmp_path, two_artist_csv):
    out = tmp_path / "run"
    train_tiny_lyrics(two_artist_csv, out, epochs=50, lr=1e-9, warmup=1, eval_every=1, patience=2)
    assert load_checkpoint(out / "last.pt", "lyrics").training["step"] < 10


def test_bad_training_settings_are_user_errors(tmp_path):
    with pytest.raises(BalladeerError, match="--bptt"):
        TrainConfig(out_dir=tmp_path, bptt="sometimes")
    with pytest.raises(BalladeerError, match="seq-len"):
        TrainConfig(out_dir=tmp_path, seq_len=0)


def test_resumed_task_keeps_the_saved_vocabulary(two_artist_csv):
    saved = Vocab(["x", "y", "a", "b", " ", "\n"])
    task = LyricsTask.from_config(
        LyricsDataConfig(data=[two_artist_csv], validation_fraction=0.2),
        saved,
        ["<any artist>", "Beta", "Alpha"],
    )
    assert task.train.vocab.to_list() == saved.to_list()
    assert task.checkpoint_meta()["artists"] == ["<any artist>", "Beta", "Alpha"]


def test_other_artists_train_as_any_artist_and_leave_validation_alone(tmp_path):
    rows = two_artist_rows()
    rows += [("Solo", f"Single {i}", f"this one is a long line by solo {i}\n" * 3) for i in range(4)]
    plain = LyricsTask.from_config(
        LyricsDataConfig(data=[write_lyrics_csv(tmp_path / "p.csv", rows)], min_songs=5)
    )
    alpha_val = next(s for s in plain.val.songs if s.artist == "Alpha")
    rows.append(("Solo", "Cover", alpha_val.text))  # a copy of a validation song stays out
    config = LyricsDataConfig(
        data=[write_lyrics_csv(tmp_path / "o.csv", rows)], min_songs=6, others_as_any_artist=True
    )
    task = LyricsTask.from_config(config)
    assert [s.identity for s in task.val.songs] == [s.identity for s in plain.val.songs]
    solo = [i for i, s in enumerate(task.train.songs) if s.artist == "Solo"]
    assert len(solo) == 4 and task.summary.any_artist_songs == 4
    assert task.train.song_artists[solo].tolist() == [0] * 4
    assert task.train.artists == plain.train.artists and "Solo" not in task.summary.song_counts


def test_regularisers_act_in_training_only_and_the_stepper_matches_the_model():
    from ml.recurrent import LSTMStepper
    from ml.text.model import CharLSTM, CharLSTMConfig

    torch.manual_seed(0)
    config = CharLSTMConfig(
        vocab_size=12,
        n_artists=3,
        hidden=16,
        layers=2,
        embed_dim=8,
        artist_dim=4,
        dropout=0.3,
        weight_drop=0.5,
        embed_dropout=0.2,
        locked_dropout=True,
        artist_to_output=True,
    )
    model = CharLSTM(config)
    with torch.no_grad():
        model.artist_out.weight.normal_()  # make the artist's output shift visible
    tokens, artists = torch.randint(0, 12, (3, 10)), torch.tensor([[0] * 10, [1] * 10, [2] * 10])
    model.train()
    first, _ = model(tokens, artists)
    second, _ = model(tokens, artists)
    assert not torch.allclose(first, second)  # fresh masks every call
    first.sum().backward()
    assert model.lstm.weight_hh_l0.grad.abs().sum() > 0  # DropConnect keeps the weights trainable
    model.eval()
    logits, _ = model(tokens, artists)
    assert torch.equal(logits, model(tokens, artists)[0])
    stepper = LSTMStepper(model.lstm, torch.float32)
    state = stepper.zero_state(3, torch.device("cpu"))
    for t in range(10):
        out, state = stepper(model.features(tokens[:, t], artists[:, t]), state)
        assert torch.allclose(model.output(out, artists[:, t]), logits[:, t], atol=1e-5)
    assert not torch.allclose(logits[1], logits[2])  # the artist reaches the output


def test_sampling_tables_reproduce_the_model():
    """The generator looks up the first layer's input term and folds the artist into the
    head's bias (input_tables, output_bias); the logits must match the model's."""
    from ml.recurrent import LSTMStepper

    torch.manual_seed(0)
    config = CharLSTMConfig(
        vocab_size=12, n_artists=3, hidden=16, embed_dim=8, artist_dim=4, artist_to_output=True
    )
    model = CharLSTM(config).eval()
    with torch.no_grad():
        model.artist_out.weight.normal_()
    tokens, artists = torch.randint(0, 12, (3, 10)), torch.tensor([0, 1, 2])
    logits, _ = model(tokens, artists)
    stepper = LSTMStepper(model.lstm, torch.float32)
    with torch.no_grad():
        chars, artist_rows = model.input_tables(stepper.input_weight)
        bias = model.output_bias(artists)
        state = stepper.zero_state(3, torch.device("cpu"))
        for t in range(10):
            out, state = stepper.step(chars[tokens[:, t]] + artist_rows[artists] + stepper.input_bias, state)
            assert torch.allclose(out @ model.head.weight.T + bias, logits[:, t], atol=1e-5)
