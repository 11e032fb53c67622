import io
import json
import wave
from dataclasses import replace

import numpy as np
import pretty_midi
import pytest
import torch

from ml.__main__ import main
from ml.batch import Batch
from ml.checkpoint import load_checkpoint
from ml.errors import BalladeerError
from ml.music.audio import RELEASE_S, SAMPLE_RATE
from ml.music.evaluate import evaluate_piano
from ml.music.generate import PianoGenerator
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.pianoroll import KEYS
from ml.music.request import PianoRequest
from ml.training import sequence_loss
from tests.music_fixtures import chord_midi


@pytest.fixture(scope="module")
def generator(tiny_piano_checkpoint):
    return PianoGenerator.from_checkpoint(tiny_piano_checkpoint)


def test_checkpointed_gradients_equal_full_bptt():
    torch.manual_seed(0)
    model = PianoLSTM(PianoLSTMConfig(input_dim=8, hidden=16, layers=2, dropout=0.0))
    frames = (torch.rand(2, 61, KEYS) < 0.1).float()
    mask = torch.ones(2, 60, dtype=torch.bool)
    mask[1, 50:] = False
    batch = Batch(frames[:, :-1], frames[:, 1:], mask)
    grads = []
    for segment in (None, 9):
        model.zero_grad()
        loss, _ = sequence_loss(model, batch, None, segment)
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for full, checkpointed in zip(*grads, strict=True):
        torch.testing.assert_close(full, checkpointed, rtol=1e-5, atol=1e-7)


def test_a_small_model_learns_the_chord_loop(tiny_piano_checkpoint, chord_folder):
    report = evaluate_piano(tiny_piano_checkpoint, chord_folder, split="val")
    assert report["frames"] > 0
    assert report["nll_per_frame"] < 0.25 * report["baselines"]["independent_bernoulli"]
    assert report["frame_accuracy"] > 0.9


def test_same_seed_same_music_and_temperature_zero_is_deterministic(generator):
    a, b = generator.generate([PianoRequest(seconds=6, seed=3), PianoRequest(seconds=6, seed=3)])
    np.testing.assert_array_equal(a.roll, b.roll)
    c, d = generator.generate([PianoRequest(seconds=6, temperature=0, seed=s) for s in (1, 2)])
    np.testing.assert_array_equal(c.roll[1:], d.roll[1:])  # only the opening chord is drawn


def test_batching_does_not_change_results(generator):
    prime = chord_midi(beats=4)
    requests = [
        PianoRequest(seconds=5, temperature=1.0, seed=11),
        PianoRequest(seconds=3, temperature=0.7, seed=12, max_notes=2),
        PianoRequest(
            frames=9,
            temperature=1.3,
            seed=13,
            prime=generator.prime_from_midi(_bytes(prime), bars=1).roll,
        ),
    ]
    batched = generator.generate(requests)
    for request, sample in zip(requests, batched, strict=True):
        np.testing.assert_array_equal(generator.generate([request])[0].roll, sample.roll)


def test_length_prime_and_note_cap_are_honoured(generator):
    prime = generator.prime_from_midi(_bytes(chord_midi(beats=8)), bars=1).roll
    assert len(prime) == 8  # one 4/4 bar at two frames per beat
    sample = generator.generate([PianoRequest(frames=10, seed=1, prime=prime, temperature=2.0, max_notes=2)])[
        0
    ]
    assert len(sample.roll) == 18 and sample.prime_frames == 8
    np.testing.assert_array_equal(sample.roll[:8], prime)
    assert sample.roll[8:].sum(axis=1).max() <= 2
    assert len(generator.generate([PianoRequest(seconds=4, seed=1)])[0].roll) == generator.frames_for(4)
    with pytest.raises(BalladeerError, match="prime"):
        generator.generate([PianoRequest(prime=np.zeros((3, 12), dtype=bool))])


def _bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def test_sample_to_midi_png_and_wav_through_the_cli(tiny_piano_checkpoint, tmp_path, capsys):
    out, png, wav = tmp_path / "song.mid", tmp_path / "roll.png", tmp_path / "song.wav"
    argv = [
        "sample",
        "piano",
        "--checkpoint",
        str(tiny_piano_checkpoint),
        "--out",
        str(out),
        "--png",
        str(png),
        "--wav",
        str(wav),
        "--seconds",
        "8",
        "--seed",
        "5",
        "--synth",
        "numpy",
    ]
    assert main(argv) == 0
    assert "seed 5" in capsys.readouterr().out
    midi = pretty_midi.PrettyMIDI(str(out))
    assert sum(len(i.notes) for i in midi.instruments) > 5
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with wave.open(str(wav)) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (1, 2, SAMPLE_RATE)
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        assert f.getnframes() / SAMPLE_RATE == pytest.approx(midi.get_end_time() + RELEASE_S, abs=0.05)
    assert np.abs(pcm).max() > 10_000 and np.abs(pcm).max() < 32767  # audible, not clipped
    first = out.read_bytes()
    assert main(argv) == 0
    assert out.read_bytes() == first  # the same seed writes the same MIDI


def test_train_and_eval_piano_through_the_cli(chord_folder, tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "piano",
        "--data",
        str(chord_folder),
        "--out",
        str(out),
        "--hidden",
        "16",
        "--layers",
        "1",
        "--input-dim",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--bptt",
        "checkpoint",
        "--checkpoint-segment",
        "16",
        "--val-fraction",
        "0.25",
        "--no-transpose",
        "--no-progress",
    ]
    assert main(argv) == 0
    checkpoint = load_checkpoint(out / "best.pt", "piano")
    assert checkpoint.meta["frames_per_beat"] == 2 and checkpoint.meta["openings"]
    capsys.readouterr()
    assert (
        main(
            [
                "eval",
                "piano",
                "--checkpoint",
                str(out / "best.pt"),
                "--data",
                str(chord_folder),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert {"nll_per_frame", "frame_accuracy", "frames", "baselines"} <= set(report)
    assert (
        main(
            [
                "eval",
                "piano",
                "--checkpoint",
                str(out / "best.pt"),
                "--data",
                str(chord_folder),
                "--split",
                "test",
            ]
        )
        == 2
    )
    assert "val, all or train" in capsys.readouterr().err


def test_render_piece_gives_every_format_as_bytes_and_shades_a_prime(generator):
    from ml.music.render import render_piece

    prime = np.zeros((8, 88), dtype=bool)
    prime[:, [39, 43, 46]] = True
    continued, fresh = generator.generate(
        [PianoRequest(seconds=4, seed=1, prime=prime), PianoRequest(seconds=4, seed=1)]
    )
    rendered = render_piece(continued, audio=("ogg", "wav"), synth="numpy")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(rendered.midi))
    assert rendered.notes == sum(len(i.notes) for i in midi.instruments) > 0
    assert rendered.png[:8] == b"\x89PNG\r\n\x1a\n" and rendered.synth == "numpy"
    assert rendered.audio["wav"][:4] == b"RIFF" and rendered.audio["ogg"][:4] == b"OggS"
    unshaded = render_piece(replace(continued, prime_frames=0), audio=())
    assert unshaded.png != rendered.png and unshaded.audio == {}
    assert render_piece(fresh, audio=(), png=False).png is None
