"""Training defaults that fit the run: the learning-rate schedule spans the steps that will
actually run (epochs, --max-steps or the time budget), warm-up is a share of that, and the
batch shrinks for data too small for it."""

import json
import math

import pytest

from ml.checkpoint import load_checkpoint
from ml.errors import BalladeerError
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.task import LyricsDataConfig, LyricsTask
from ml.training import TrainConfig, Trainer
from tests.lyrics_fixtures import train_tiny_lyrics
from tests.tiny_training import tiny_train_config


@pytest.fixture(scope="module")
def task(two_artist_csv):
    return LyricsTask.from_config(LyricsDataConfig(data=[two_artist_csv], validation_fraction=0.2))


def _trainer(task, tmp_path, **config):
    model_config = CharLSTMConfig(
        vocab_size=len(task.train.vocab), n_artists=len(task.train.artists), hidden=16
    )
    return Trainer(
        task, CharLSTM(model_config), tiny_train_config(tmp_path, **config), model_config.to_dict()
    )


def test_warmup_is_a_share_of_the_planned_steps_or_a_number(task, tmp_path):
    trainer = _trainer(task, tmp_path, epochs=10, warmup=0.02)
    assert trainer.warmup_steps(1000) == 20
    assert trainer.warmup_steps(9) == 1  # a tiny run still reaches its rate at once
    assert _trainer(task, tmp_path, epochs=10, warmup=100).warmup_steps(9) == 100


def test_the_decay_ends_where_the_time_runs_out(task, tmp_path):
    trainer = _trainer(task, tmp_path, epochs=1000, warmup=0.02)
    c = trainer.config
    assert trainer.horizon == 1000 * trainer.steps_per_epoch
    trainer.step = 40
    trainer._plan_within(seconds_left=60, seconds_spent=40, steps_done=40)  # 1 s a step
    assert trainer.horizon == 100
    assert math.isclose(trainer.lr_at(100), c.lr * c.min_lr_ratio)
    assert trainer.lr_at(2) > trainer.lr_at(50) > trainer.lr_at(99)
    epochs_planned = _trainer(task, tmp_path, epochs=1000, warmup=1, schedule="epochs")
    epochs_planned._plan_within(seconds_left=60, seconds_spent=40, steps_done=40)
    assert epochs_planned.lr_at(100) > 0.99 * c.lr  # the old way: barely decayed at the end


def test_a_budgeted_run_has_decayed_when_it_stops(task, tmp_path):
    trainer = _trainer(task, tmp_path, epochs=100_000, warmup=0.02, max_minutes=0.05, eval_every=10)
    result = trainer.fit()
    assert result.stop_reason == "time budget reached"
    lrs = [
        r["lr"] for r in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines()) if "lr" in r
    ]
    assert lrs[-1] < 0.2 * trainer.config.lr < max(lrs)


def test_max_steps_ends_the_run_and_spans_resumes(two_artist_csv, tmp_path):
    out = tmp_path / "run"
    train_tiny_lyrics(two_artist_csv, out, epochs=1000, max_steps=6, eval_every=3, warmup=1)
    saved = load_checkpoint(out / "last.pt", "lyrics")
    assert saved.training["step"] == 6
    train_tiny_lyrics(two_artist_csv, out, epochs=1000, max_steps=10, eval_every=3, warmup=1, resume=True)
    assert load_checkpoint(out / "last.pt", "lyrics").training["step"] == 10
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    last_lr = [r["lr"] for r in records if "lr" in r][-1]
    assert math.isclose(last_lr, 1e-2 * TrainConfig(out_dir=out).min_lr_ratio)  # decayed at step 10


def test_schedule_mistakes_are_user_errors(tmp_path):
    with pytest.raises(BalladeerError, match="--schedule"):
        TrainConfig(out_dir=tmp_path, schedule="sometimes")
    with pytest.raises(BalladeerError, match="--warmup"):
        TrainConfig(out_dir=tmp_path, warmup=2.5)


def test_without_a_batch_size_small_data_gets_more_smaller_steps(task, tmp_path):
    from ml.training import MIN_STEPS_PER_EPOCH

    auto = _trainer(task, tmp_path, epochs=1, batch_size=None)
    assert auto.config.batch_size < 64
    assert auto.steps_per_epoch >= MIN_STEPS_PER_EPOCH or auto.config.batch_size == 4
    assert _trainer(task, tmp_path, epochs=1, batch_size=64).config.batch_size == 64  # as asked
