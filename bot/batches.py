"""Batches of requests in generation: the glue between the service's jobs and the ML
generators. A batch advances one slice at a time in the worker's thread, so a long piece
yields to other requests between slices; `advance` returns the replies once it is done."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bot.requests import (
    Attachment,
    ContinueOptions,
    LyricsOptions,
    LyricsReply,
    MidiOptions,
    MidiReply,
    Reply,
)
from ml.music.continuation import continuation_request
from ml.music.form import AUTO_METER, plan_for
from ml.music.generate import PianoGenerator, PianoSample
from ml.music.prime import PrimePiece
from ml.music.render import render_piece
from ml.music.request import PianoRequest
from ml.music.voicing import voicing_for
from ml.text.generate import LyricsGenerator
from ml.text.request import LyricsRequest


class Batch(Protocol):
    request_ids: list[int]

    def advance(self) -> list[Reply] | None:
        """Run one slice; the replies (in request order) once the batch is done, else None."""


class LyricsBatch:
    """Lyrics are short (a few seconds at most): one slice runs the whole batch."""

    def __init__(self, generator: LyricsGenerator, jobs: list[tuple[int, LyricsOptions]]) -> None:
        self.generator = generator
        self.request_ids = [request_id for request_id, _ in jobs]
        self.options = [options for _, options in jobs]

    def advance(self) -> list[Reply]:
        requests = [
            LyricsRequest(
                artist=o.artist,
                prime=o.start,
                temperature=o.temperature,
                length=o.length,
                seed=o.seed,
                style=o.style,
            )
            for o in self.options
        ]
        samples = self.generator.generate(requests)
        return [
            LyricsReply(request_id, s.text, s.artist, o, s.ended, s.unknown_chars, s.lines_cut)
            for request_id, o, s in zip(self.request_ids, self.options, samples, strict=True)
        ]


class PianoBatch:
    """Pieces generated `slice_frames` frames at a time, then rendered to what users get,
    one piece a slice (a dense piece's audio and picture take a while too)."""

    def __init__(
        self,
        generator: PianoGenerator,
        jobs: list[tuple[int, MidiOptions | ContinueOptions]],
        slice_seconds: float,
        max_notes: int,
        soundfonts: dict[str, Path],
    ) -> None:
        self.request_ids = [request_id for request_id, _ in jobs]
        self.soundfonts = soundfonts  # by name: what each request's server chose
        self.options = [options for _, options in jobs]
        self.pieces: list[PianoSample] | None = None
        self.replies: list[Reply] = []
        self.slice_frames = generator.frames_for(slice_seconds)
        fpb = generator.frames_per_beat
        self.run = generator.start([self._request(o, max_notes, fpb) for o in self.options])

    def advance(self) -> list[Reply] | None:
        if self.run.frames_left:
            self.run.advance(self.slice_frames)
            return None
        if self.pieces is None:
            self.pieces = self.run.samples()
        done = len(self.replies)
        options = self.options[done]
        soundfont = self.soundfonts.get(options.soundfont) if options.soundfont else None
        rendered = render_piece(self.pieces[done], prime=self._prime(options), soundfont=soundfont)
        attachments = [
            Attachment("song.mid", rendered.midi),
            Attachment("song.ogg", rendered.audio["ogg"]),
            Attachment("piano-roll.png", rendered.png),
        ]
        self.replies.append(
            MidiReply(
                self.request_ids[done],
                self.options[done],
                rendered.notes,
                attachments,
                rendered.meter,
                rendered.seconds,
            )
        )
        return self.replies if len(self.replies) == len(self.request_ids) else None

    @staticmethod
    def _prime(options: MidiOptions | ContinueOptions) -> PrimePiece | None:
        return options.prime if isinstance(options, ContinueOptions) else None

    @classmethod
    def _request(cls, options: MidiOptions | ContinueOptions, max_notes: int, fpb: int) -> PianoRequest:
        """A new piece in its style's form and voicing; a continuation as ml.music.continuation
        asks for it (its seconds at the tempo it plays at, in whole bars, back to its phrases)."""
        prime = cls._prime(options)
        if prime is not None:
            return continuation_request(
                prime,
                options.seconds,
                fpb,
                temperature=options.temperature,
                seed=options.seed,
                max_notes=max_notes,
            )
        return PianoRequest(
            seconds=options.seconds,
            temperature=options.temperature,
            seed=options.seed,
            max_notes=max_notes,
            form=plan_for(options.style, options.meter or AUTO_METER),
            voicing=voicing_for(options.style),
        )
