"""Batched piano sampling from a trained checkpoint.

All requests advance in lockstep, one LSTM step for the whole batch: a request still
reading its prime is fed its next prime frame, the others their last sample. A frame's
keys are drawn from the model's output (independent keys, or key by key with the NADE
head) with logits divided by the temperature, from the request's own seeded generator, so
batching never changes a request's music.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import torch

from ml.checkpoint import Checkpoint, load_checkpoint, restore_model
from ml.errors import BalladeerError, DataError
from ml.music.form import COMMON_TIME, DECIDE_BEATS, Meter, cadence_chord, detect_meter, triad
from ml.music.guidance import ContinuationGuidance
from ml.music.keyboard import LOWEST_PITCH, key_of_histogram, roll_pitch_classes
from ml.music.meta import PianoMeta
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.performance import performed_midi
from ml.music.pianoroll import KEYS
from ml.music.prime import PrimePiece, read_prime
from ml.music.request import PianoRequest
from ml.music.voicing import VoicedDraw, voices
from ml.paths import DEFAULT_MUSIC_CHECKPOINT
from ml.recurrent import LSTMStepper
from ml.sampling import new_seed, seeded_generator
from ml.sequences import padded_batch

CADENCE_PENALTY = 20.0  # logits: a key outside the cadence chord on a phrase's last frame


@dataclass(frozen=True)
class PianoSample:
    roll: np.ndarray  # (frames, 88) bool, prime included
    seed: int
    temperature: float
    prime_frames: int
    tempo_bpm: float
    frames_per_beat: int
    meter: Meter = COMMON_TIME  # the meter its notes follow (a new piece's; ml.music.form)
    sounding_shift: int = 0  # semitones its MIDI moves the roll by (PianoMeta.sounding_shift)

    @property
    def seconds(self) -> float:
        return len(self.roll) * 60.0 / self.tempo_bpm / self.frames_per_beat

    def to_midi(self) -> pretty_midi.PrettyMIDI:
        """Barred in its meter, with a player's dynamics (ml.music.performance)."""
        return performed_midi(
            self.roll, self.tempo_bpm, self.frames_per_beat, self.meter, self.sounding_shift
        )


class PianoGenerator:
    """A piano model loaded once and shared by every request."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.checkpoint = checkpoint
        self.model = restore_model(PianoLSTM(PianoLSTMConfig(**checkpoint.model_config)), checkpoint, device)
        self.stepper = LSTMStepper(self.model.lstm)
        self.meta = PianoMeta.from_dict(checkpoint.meta)
        self.frames_per_beat = self.meta.frames_per_beat
        self.tempo_bpm = self.meta.tempo_bpm
        self.transpose = self.meta.transpose
        self.openings = self.meta.openings

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, device: str | torch.device = "cpu"
    ) -> PianoGenerator:
        path = DEFAULT_MUSIC_CHECKPOINT if path is None else path
        return cls(load_checkpoint(path, "piano", map_location=device), device)

    def frames_for(self, seconds: float) -> int:
        return max(round(seconds * self.tempo_bpm / 60.0 * self.frames_per_beat), 1)

    def prime_from_midi(
        self, source: str | Path | bytes, bars: float = PianoRequest.PRIME_BARS
    ) -> PrimePiece:
        """The first bars of a MIDI file (in its own meter), read for this model's grid, key
        and register."""
        return self.read(read_prime(_read_bytes(source), bars, self.frames_per_beat, self.transpose))

    def read(self, prime: PrimePiece) -> PrimePiece:
        """A piece read by any model, on this model's grid, in its key convention and in its
        data's register."""
        return prime.regridded(self.frames_per_beat, self.transpose, -self.meta.sounding_shift)

    @torch.no_grad()
    def nll_per_frame(self, roll: np.ndarray) -> float:
        """Nats per frame this model gives `roll` (every frame after the first, as in
        evaluation): how much the piece sounds like what the model was trained on."""
        frames = torch.as_tensor(np.asarray(roll, dtype=np.float32))
        batch = padded_batch([frames], None)
        if not batch.scored:
            raise BalladeerError("a piece of one frame cannot be scored")
        nll, _ = self.model.sequence_nll(batch.to(self.device))
        return float(nll.sum()) / batch.scored

    @torch.no_grad()
    def generate(self, requests: list[PianoRequest]) -> list[PianoSample]:
        """Run every request in one batch: one forward pass per frame for all of them."""
        if not requests:
            return []
        run = self.start(requests)
        while not run.advance(run.frames_left):
            pass
        return run.samples()

    def start(self, requests: list[PianoRequest]) -> PianoRun:
        """A batch ready to be generated in slices (`PianoRun.advance`), so a long piece can
        yield to other requests between slices."""
        for r in requests:
            if r.temperature < 0 or (r.max_notes is not None and r.max_notes < 1):
                raise BalladeerError("temperature must be ≥ 0 and max_notes ≥ 1.")
            if r.prime is not None and (r.prime.ndim != 2 or r.prime.shape[1] != KEYS or not len(r.prime)):
                raise BalladeerError(f"a prime must be a non-empty (frames, {KEYS}) piano roll.")
        return PianoRun(self, requests)

    def feed(self, request: PianoRequest, generator: torch.Generator) -> np.ndarray:
        """The frames a request starts from: its prime, or an opening chord from training."""
        if request.prime is not None:
            return request.prime.astype(bool)
        opening = self.openings[int(torch.randint(len(self.openings), (), generator=generator))]
        frame = np.zeros((1, KEYS), dtype=bool)
        frame[0, opening] = True
        return frame


class PianoRun:
    """One batch in progress: every request advances in lockstep, one LSTM step per frame
    for all of them, and the state carries over between `advance` calls."""

    def __init__(self, generator: PianoGenerator, requests: list[PianoRequest]) -> None:
        self.generator = generator
        self.requests = requests
        self.seeds = [new_seed() if r.seed is None else r.seed for r in requests]
        self.rngs = [seeded_generator(s) for s in self.seeds]
        self.feeds = [generator.feed(r, g) for r, g in zip(requests, self.rngs, strict=True)]
        self.lengths = [
            len(f) + (r.frames or generator.frames_for(r.seconds)) - (r.prime is None)
            for r, f in zip(requests, self.feeds, strict=True)
        ]
        self.rolls = [list(f) for f in self.feeds]
        self.temperatures = torch.tensor([r.temperature for r in requests])
        self.max_notes = [_cap(r.max_notes, generator.meta.max_keys) for r in requests]
        self.guidance = ContinuationGuidance(
            [r.prime for r in requests], [r.onsets_per_frame for r in requests]
        )
        # A phrase plan's repeats (frame → the frame it copies), set once the meter is heard.
        self.copies: list[dict[int, int]] = [
            r.reprise.copies(len(f), n) if r.reprise is not None and r.prime is not None else {}
            for r, f, n in zip(requests, self.feeds, self.lengths, strict=True)
        ]
        self.cadences: list[dict[int, str]] = [{} for _ in requests]  # phrase-end frame → its cadence
        self.meters: list[Meter | None] = [None for _ in requests]
        self.step = 1
        self.state = generator.stepper.zero_state(len(requests), generator.device)
        self.frames = self._tensor([f[0] for f in self.feeds])

    @property
    def frames_left(self) -> int:
        return max(max(self.lengths, default=0) - self.step, 0)

    @torch.no_grad()
    def advance(self, frames: int) -> bool:
        """Generate up to `frames` more frames of every request; True once all are done."""
        g = self.generator
        for _ in range(min(frames, self.frames_left)):
            step = self.step
            if step == DECIDE_BEATS * g.frames_per_beat:
                self._plan_form()
            out, self.state = g.stepper(g.model.project(self.frames), self.state)
            writing = [len(f) <= step < n for n, f in zip(self.lengths, self.feeds, strict=True)]
            drawn = g.model.sample(
                out,
                self.temperatures,
                self.rngs,
                self.max_notes,
                writing,
                self.guidance.bias(self.frames) + self._cadence_bias(step),
                self._voiced_draws(step),
            )
            self.guidance.update(drawn, self.frames, writing)
            next_frames = []
            for i, feed in enumerate(self.feeds):
                copied = self.copies[i].get(step)
                frame = (
                    feed[step] if step < len(feed) else drawn[i] if copied is None else self.rolls[i][copied]
                )
                if len(feed) <= step < self.lengths[i]:
                    self.rolls[i].append(frame)
                next_frames.append(frame)
            self.frames = self._tensor(next_frames)
            self.step += 1
        return self.frames_left == 0

    def _cadence(self, i: int, step: int) -> tuple[int, bool] | None:
        """The chord request `i` ends a phrase on at `step` ((root, minor)), if it does: a
        formed piece's phrase ends (its plan's), and its last frame on the tonic."""
        request = self.requests[i]
        if request.form is None or request.prime is not None:
            return None
        kind = self.cadences[i].get(step) or ("authentic" if step == self.lengths[i] - 1 else None)
        if kind is None or step in self.copies[i]:
            return None
        key = key_of_histogram(roll_pitch_classes(np.array(self.rolls[i])))
        return cadence_chord(key, kind)

    def _cadence_bias(self, step: int) -> torch.Tensor:
        """On a phrase's last frame every key outside its cadence chord is all but ruled out
        (a voiced piece chooses its chord voice by voice, ml.music.voicing)."""
        bias = torch.zeros(len(self.requests), KEYS)
        for i, request in enumerate(self.requests):
            chord = self._cadence(i, step) if request.voicing is None else None
            if chord is not None:
                outside = ~np.isin((np.arange(KEYS) + LOWEST_PITCH) % 12, list(triad(chord)))
                bias[i, torch.from_numpy(outside)] = -CADENCE_PENALTY
        return bias

    def _voiced_draws(self, step: int) -> list[VoicedDraw | None] | None:
        """For each request sung in voices: its voicing, the voices it last sang, and at a
        phrase end the chord to end on."""
        if all(r.voicing is None for r in self.requests):
            return None
        draws: list[VoicedDraw | None] = []
        for i, request in enumerate(self.requests):
            if request.voicing is None:
                draws.append(None)
                continue
            before = voices(self.rolls[i][-1])
            previous = before if len(before) == len(request.voicing.ranges) else None
            chord = self._cadence(i, step) if request.voicing.cadences else None
            draws.append(VoicedDraw(request.voicing, previous, chord))
        return draws

    def _plan_form(self) -> None:
        """The meter heard in the first DECIDE_BEATS beats of each new piece with a plan; its
        repeats from there on, and its length moved to the nearest phrase end."""
        fpb = self.generator.frames_per_beat
        for i, request in enumerate(self.requests):
            if request.form is None or request.prime is not None or self.lengths[i] <= self.step:
                continue
            meter = self.meters[i] = request.form.meter_of(np.array(self.rolls[i]), fpb)
            pickup = meter.pickup_beats * fpb
            self.lengths[i] = pickup + request.form.length(meter, fpb, self.lengths[i] - pickup)
            plan = request.form.copies(meter, fpb, self.lengths[i] - pickup)
            self.copies[i] = {pickup + t: pickup + source for t, source in plan.items()}
            ends = request.form.cadences(meter, fpb, self.lengths[i] - pickup)
            self.cadences[i] = {pickup + t: kind for t, kind in ends.items()}

    def _meter_heard(self, request: PianoRequest, roll: np.ndarray) -> Meter:
        """A new piece's meter, read at its end when it was too short for the plan to hear it."""
        if request.prime is not None:
            return COMMON_TIME  # a continuation is barred in its prime's meter (ml.music.continuation)
        if request.form is not None:
            return request.form.meter_of(roll, self.generator.frames_per_beat)
        return detect_meter(roll, self.generator.frames_per_beat)

    def samples(self) -> list[PianoSample]:
        g = self.generator
        pieces = []
        for i, (r, roll, seed, feed) in enumerate(
            zip(self.requests, self.rolls, self.seeds, self.feeds, strict=True)
        ):
            roll = np.array(roll, dtype=bool)
            meter = self.meters[i] or self._meter_heard(r, roll)
            prime_frames = len(feed) if r.prime is not None else 0
            pieces.append(
                PianoSample(
                    roll,
                    seed,
                    r.temperature,
                    prime_frames,
                    g.tempo_bpm,
                    g.frames_per_beat,
                    meter,
                    g.meta.sounding_shift,
                )
            )
        return pieces

    def _tensor(self, frames: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(frames).astype(np.float32)).to(self.generator.device)


def _cap(asked: int | None, trained: int | None) -> int | None:
    """The tighter of the request's cap on keys at once and the most its model heard."""
    caps = [c for c in (asked, trained) if c is not None]
    return min(caps) if caps else None


def _read_bytes(source: str | Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    path = Path(source)
    if path.is_dir():
        raise DataError("it is a folder, not a MIDI file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError("no such file") from None
    except OSError as exc:
        raise DataError(exc.strerror or str(exc)) from None
