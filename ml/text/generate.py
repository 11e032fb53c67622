"""Batched lyrics sampling from a trained checkpoint.

All requests advance in lockstep, one LSTM step for the whole batch: a request still
reading its prime is fed its next prime character, the others their last sample. A
request's random draws all come from its own seed, so its text does not depend on what
else shares the batch.

Style strength is classifier-free guidance: a request with an artist and a style s ≠ 1
gets a second row in the same batch, reading the same characters as "any artist"; its
next-character logits are u + s·(c − u), c given the artist and u given any artist. s = 1
is plain conditional sampling, s = 0 ignores the artist, s > 1 exaggerates the style.
Strong guidance garbles a song's first words ("GIrf Hery"), where the artist and "any
artist" disagree most, so it ramps in: s rises from 1 to its value over the first
`style_ramp` characters. Guidance reweighs what the artist's model finds plausible and
invents nothing: a character the conditional model gives under `plausibility` times its
likeliest one's probability is never written, however far s would raise it (the adaptive
plausibility constraint of contrastive decoding; without it strong guidance spells
"misullepievelign"). A min-p cut then drops what the mix leaves in the tail (characters
under `min_p` times the likeliest one's probability).

`length` is a target, not a cut: past it the request writes on to the end of its line (at
most LINE_SLACK characters more, else it ends at its last line end), so a reply always
stops at a line end or where the model ended the song.

A request may ask for several candidates, written side by side in the same batch; the one
returned is the one the checkpoint's word lexicon (ml.text.lexicon) finds most like the
artist, in real words that rhyme. A checkpoint without a lexicon, or a request at
temperature 0 (which would write the same text each time), writes one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import torch

from ml.checkpoint import Checkpoint, load_checkpoint, restore_model
from ml.errors import BalladeerError
from ml.paths import DEFAULT_LYRICS_CHECKPOINT
from ml.recurrent import LSTMStepper
from ml.sampling import new_seed, seeded_generator
from ml.text.artists import ArtistTable
from ml.text.meta import LyricsMeta
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.request import MAX_CANDIDATES, LyricsRequest
from ml.text.safety import swears, within_swearing, without_slurs
from ml.text.shape import SongShape
from ml.text.surface import tidied
from ml.text.vocab import BOS, EOS, UNK, Vocab

LINE_SLACK = 120  # characters a request may write past its length to finish the line
SWEARING_VS_REAL, SWEARING_SLACK = 2.0, 1.0  # a reply swears at most 2x the artist's rate + 1
NEVER_WRITTEN = torch.tensor([BOS, UNK])  # a song start or an unknown mark


@dataclass(frozen=True)
class LyricsSample:
    text: str  # the prime, then what the model wrote
    artist: str | None  # the artist's name as the model knows it
    seed: int
    temperature: float
    ended: bool  # the model closed the song before reaching the length
    style: float = 1.0  # the guidance strength it was written with (1 without an artist)
    unknown_chars: list[str] = field(default_factory=list)  # prime characters read as <unk>
    lines_cut: int = 0  # lines left out because they held a slur (ml.text.safety)
    lines_tidied: int = 0  # babble, one word over and over, or swearing unlike the artist
    cut_mid_line: bool = False  # no line end within the length's slack: stopped mid-line


class LyricsGenerator:
    """A lyrics model loaded once and shared by every request."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.checkpoint = checkpoint
        self.meta = LyricsMeta.from_dict(checkpoint.meta)
        self.vocab = Vocab(self.meta.vocab)
        self.artist_table = ArtistTable(self.meta.artists, self.meta.data.song_counts, self.meta.stand_ins)
        self.model = restore_model(CharLSTM(CharLSTMConfig(**checkpoint.model_config)), checkpoint, device)
        self.stepper = LSTMStepper(self.model.lstm)
        with torch.no_grad():  # the first layer's input term, looked up per character and artist
            chars, artists = self.model.input_tables(self.stepper.input_weight)
            self.char_gates = chars
            bias = self.stepper.input_bias[None]
            self.artist_gates = bias if artists is None else artists + bias
            self.head_weight = self.model.head.weight.T.contiguous()  # (H, V): MKL's faster layout
        self.lexicon = self.meta.lexicon
        self._swearing: dict[int, bool] = {}
        self.token_chars = [self.vocab.decode([i]) if i != UNK else "" for i in range(len(self.vocab))]
        ids = {ch: i for i, ch in enumerate(self.token_chars) if ch}
        self.known_chars = set(ids)  # the characters the model reads and writes
        self.case_groups = torch.tensor([ids.get(ch.lower(), i) for i, ch in enumerate(self.token_chars)])

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, device: str | torch.device = "cpu"
    ) -> LyricsGenerator:
        path = DEFAULT_LYRICS_CHECKPOINT if path is None else path
        return cls(load_checkpoint(path, "lyrics", map_location=device), device)

    @property
    def artists(self) -> list[str]:
        """Artists the model can write like (empty for an unconditional model)."""
        return self.artist_table.artists

    @property
    def song_counts(self) -> dict[str, int]:
        """Training songs per artist the model can write like."""
        return self.artist_table.song_counts

    def swearing_allowed(self, artist: int) -> float | None:
        """Profane words per 1,000 a reply in the artist's style may hold: twice the rate of
        their training songs, plus one (so none for an artist who never swears); None: no
        limit ("any artist", or a checkpoint that knows nothing of the artist's swearing).
        A checkpoint without rates still knows, from its lexicon, who never swears."""
        name = self.artist_table.names[artist] if artist else None
        if name in self.meta.swearing:
            return SWEARING_VS_REAL * self.meta.swearing[name] + SWEARING_SLACK
        if self.lexicon is None or artist == 0:
            return None
        if artist not in self._swearing:
            self._swearing[artist] = swears(self.lexicon.words_of(artist))
        return None if self._swearing[artist] else 0.0

    def resolve_artist(self, name: str | None) -> tuple[str | None, int]:
        """(canonical name, artist id); None or blank means any artist."""
        if name and name.strip() and not self.model.conditional:
            raise BalladeerError("This lyrics model was trained without artists; leave the artist out.")
        return self.artist_table.resolve(name)

    @torch.no_grad()
    def generate(self, requests: list[LyricsRequest]) -> list[LyricsSample]:
        """Run every request, and each one's candidates, in one batch: one forward pass per
        step for all of them."""
        if not requests:
            return []
        for r in requests:
            check_request(r)
        seeds = [new_seed() if r.seed is None else r.seed for r in requests]
        resolved = [self.resolve_artist(r.artist) for r in requests]
        owners, rows = [], []
        for i, (r, seed) in enumerate(zip(requests, seeds, strict=True)):
            judged = self.lexicon is not None and r.temperature > 0  # argmax writes one text
            for k in range(r.candidates if judged else 1):
                owners.append(i)
                rows.append(replace(r, seed=candidate_seed(seed, k)))
        samples = self._write(rows, [resolved[i] for i in owners])
        best: dict[int, tuple[float, LyricsSample]] = {}
        for owner, sample in zip(owners, samples, strict=True):
            score = self.lexicon.score(sample.text, resolved[owner][1]) if self.lexicon else 0.0
            if owner not in best or score > best[owner][0]:
                best[owner] = (score, sample)
        return [replace(best[i][1], seed=seed) for i, seed in enumerate(seeds)]

    def _write(
        self, requests: list[LyricsRequest], resolved: list[tuple[str | None, int]]
    ) -> list[LyricsSample]:
        """The batch itself. A step's tensor work is the model and the draw; what each row
        read and wrote is kept in Python lists, cheaper than tensor ops at a reply's few rows."""
        guidance = Guidance.of(requests, [index for _, index in resolved], self.case_groups)
        encoded = [self.vocab.encode(r.prime) for r in requests]
        feeds = [[BOS, *e.ids] for e in encoded]  # what each row reads before it writes
        limits = [r.length + LINE_SLACK for r in requests]
        # Every draw a row may make, taken up front from its own seed (one call per row).
        uniforms = [
            torch.rand(limit, generator=seeded_generator(r.seed)).tolist()
            for r, limit in zip(requests, limits, strict=True)
        ]
        line_end = self.vocab.encode("\n").ids[0]
        sampler = TokenSampler.of(
            [r.temperature for r in requests], [r.top_k for r in requests], [r.min_p for r in requests]
        )
        shape = None
        if any(r.recall > 0 or r.rhyme > 0 for r in requests):
            recall, rhyme = [r.recall for r in requests], [r.rhyme for r in requests]
            is_word = None if self.lexicon is None else self.lexicon.is_word
            shape = SongShape([r.prime for r in requests], recall, rhyme, self.token_chars, is_word)

        artists = torch.tensor([index for _, index in resolved] + guidance.twin_artists, device=self.device)
        artist_gates = self.artist_gates[artists]
        output_bias = self.model.output_bias(artists)
        written: list[list[int]] = [[] for _ in requests]
        ended = [False] * len(requests)
        writing = list(range(len(requests)))  # rows that have not finished
        tokens = [feed[0] for feed in feeds]
        state = self.stepper.zero_state(len(artists), self.device)
        step = 0
        while writing:
            rows = guidance.rows(torch.tensor(tokens)).to(self.device)
            out, state = self.stepper.step(self.char_gates.index_select(0, rows).add_(artist_gates), state)
            step += 1
            sampling = [row for row in writing if len(feeds[row]) <= step]  # past their prime, in order
            if sampling:
                raw = torch.addmm(output_bias, out, self.head_weight).cpu()
                draws = [[0.0] for _ in feeds]  # a row not writing draws nothing this step
                for row in sampling:
                    draws[row][0] = uniforms[row][len(written[row])]
                drawn = sampler(
                    guidance.mix(raw, step - 1),
                    torch.tensor(draws),
                    None if shape is None else partial(shape.reshape, rows=sampling),
                ).tolist()
            for row in writing:
                if len(feeds[row]) > step:  # still reading its prime
                    tokens[row] = feeds[row][step]
                elif drawn[row] == EOS:
                    ended[row] = True
                else:
                    written[row].append(drawn[row])
                    tokens[row] = drawn[row]
                    if shape is not None:
                        shape.add(row, self.token_chars[drawn[row]])
            writing = [
                row
                for row in writing
                if not ended[row]
                and len(written[row]) < limits[row]
                and not (written[row][-1:] == [line_end] and len(written[row]) >= requests[row].length)
            ]

        samples = []
        for r, (name, index), w, stop, e in zip(requests, resolved, written, ended, encoded, strict=True):
            whole, mid_line = at_line_end(self.vocab.decode(w), stop)
            if not r.prime:  # a song opening on blank lines (a dropped section label) shows none
                whole = whole.lstrip()
            text, cut = without_slurs(r.prime + whole)
            own_lines = r.prime.count("\n") + 1 if r.prime else 0  # the user's start, as given
            text, tidied_away = tidied(text, own_lines)
            allowed = self.swearing_allowed(index)
            if allowed is not None:
                text, rude = within_swearing(text, allowed, own_lines)
                tidied_away += rude
            samples.append(
                LyricsSample(
                    text=text,
                    artist=name,
                    seed=r.seed,
                    temperature=r.temperature,
                    ended=stop,
                    style=r.style if name else 1.0,
                    unknown_chars=e.unknown,
                    lines_cut=cut,
                    lines_tidied=tidied_away,
                    cut_mid_line=mid_line,
                )
            )
        return samples


def check_request(r: LyricsRequest) -> None:
    if (
        r.temperature < 0
        or r.length < 1
        or (r.top_k is not None and r.top_k < 1)
        or r.style < 0
        or r.style_ramp < 0
        or not 0 <= r.min_p < 1
        or not 0 <= r.plausibility < 1
        or not 0 <= r.recall <= 1
        or not 0 <= r.rhyme <= 1
        or not 1 <= r.candidates <= MAX_CANDIDATES
    ):
        raise BalladeerError(
            "temperature must be ≥ 0, length ≥ 1, top_k ≥ 1, style ≥ 0, style_ramp ≥ 0, "
            f"min_p and plausibility in [0, 1), recall and rhyme in [0, 1], candidates 1 to {MAX_CANDIDATES}."
        )


def candidate_seed(seed: int, k: int) -> int:
    """Candidate k's seed: the request's own for the first, so one candidate is the plain reply."""
    return seed if k == 0 else (seed * 1_000_003 + k) % 2**31


@dataclass(frozen=True)
class Guidance:
    """The guided requests of a batch. Each gets a twin row, after the requests' own rows,
    reading the same characters as "any artist"; its logits become u + s·(c − u).

    Guidance picks the letter, not its case: an artist whose songs are often in Title Case
    or capitals would otherwise have it exaggerated s-fold ("Girl I Think You I Try To
    Snow"). Each letter's guided probability, both cases together, is shared between the
    cases as the plain conditional model shares it."""

    requests: torch.Tensor  # the guided requests' rows
    styles: torch.Tensor  # (guided, 1): their strengths s
    ramps: torch.Tensor  # (guided, 1): characters over which each rises from 1 to s
    floors: torch.Tensor | None  # (guided, 1): log plausibility (None: no request cuts)
    same_letter: torch.Tensor  # (V, V): 1 where two tokens are cases of one letter (or the same token)
    longest_ramp: float  # past it every request guides at its full strength

    @classmethod
    def of(cls, requests: list[LyricsRequest], artist_ids: list[int], case_groups: torch.Tensor) -> Guidance:
        """Guidance for the requests with an artist and a style other than 1; `case_groups`
        (V,) holds each token's lower-case token (itself if it has none)."""
        guided = [i for i, (r, a) in enumerate(zip(requests, artist_ids, strict=True)) if a and r.style != 1]
        styles = torch.tensor([float(requests[i].style) for i in guided])[:, None]
        ramps = torch.tensor([float(requests[i].style_ramp) for i in guided])[:, None]
        longest = float(ramps.max()) if guided else 0.0
        plausibility = [requests[i].plausibility for i in guided]
        floors = torch.tensor(plausibility).log()[:, None] if any(plausibility) else None
        same_letter = (case_groups[:, None] == case_groups[None, :]).float()
        return cls(torch.tensor(guided, dtype=torch.long), styles, ramps, floors, same_letter, longest)

    @property
    def twin_artists(self) -> list[int]:
        return [0] * len(self.requests)  # any artist

    def rows(self, tokens: torch.Tensor) -> torch.Tensor:
        """The batch's input: each request's token, then its twin's (the same token)."""
        return torch.cat([tokens, tokens.index_select(0, self.requests)])

    def mix(self, logits: torch.Tensor, position: int) -> torch.Tensor:
        """(requests + twins, V) → (requests, V), guided rows mixed with their twins at the
        strength reached `position` characters into the song."""
        requests = len(logits) - len(self.requests)
        if len(self.requests):
            conditional = logits.index_select(0, self.requests)
            unconditional = logits[requests:]
            guided = torch.lerp(unconditional, conditional, self.strengths(position))
            letters = self._per_letter(torch.cat([guided, conditional]))
            cased = letters[: len(guided)].sub_(letters[len(guided) :]).add_(conditional)
            if self.floors is not None:  # what the artist's model itself finds implausible
                floor = conditional.max(dim=-1, keepdim=True).values.add_(self.floors)
                cased.masked_fill_(conditional < floor, -torch.inf)
            logits.index_copy_(0, self.requests, cased)
        return logits[:requests]

    def strengths(self, position: int) -> torch.Tensor:
        """(guided, 1): each request's s reached `position` characters into the song."""
        if position >= self.longest_ramp:
            return self.styles
        ramping = (position / self.ramps.clamp(min=1)).clamp(max=1)
        return 1 + (self.styles - 1) * torch.where(self.ramps > 0, ramping, 1.0)

    def _per_letter(self, logits: torch.Tensor) -> torch.Tensor:
        """Each token's log of its letter's summed probability mass, both cases (unnormalised)."""
        top = logits.max(dim=-1, keepdim=True).values
        return (logits - top).exp_().mm(self.same_letter).log_().add_(top)


def at_line_end(text: str, ended: bool) -> tuple[str, bool]:
    """What a request wrote, ending at a line end, and whether it had to be cut mid-line:
    whole when the model ended the song or finished the line, else up to its last line end
    (the whole text, cut, when it wrote none)."""
    if ended or text.endswith("\n"):
        return text.rstrip(), False
    cut = text.rfind("\n")
    return (text[:cut].rstrip(), False) if cut > 0 else (text, True)


@dataclass(frozen=True)
class TokenSampler:
    """How each row of a batch draws its next token: argmax where the temperature is 0,
    else a draw from softmax(logits / T) — over the row's top_k logits where given, and
    over the tokens of at least min_p times the likeliest one's probability, then passed
    through `reshape` (the song shape's nudges) — by inverse CDF at the row's uniform in
    [0, 1). Built once per batch, so a step pays only for the cuts some row asks for."""

    divisors: torch.Tensor  # (B, 1): each row's temperature, 1 where it is 0
    greedy: torch.Tensor | None  # (B,): rows at temperature 0; None when there are none
    top_ks: torch.Tensor | None  # (B,): each row's top_k; None when no row asks for one
    log_min_ps: torch.Tensor | None  # (B, 1): log min_p; None when no row asks for one

    @classmethod
    def of(cls, temperatures: list[float], top_ks: list[int | None], min_ps: list[float]) -> TokenSampler:
        greedy = torch.tensor([t == 0 for t in temperatures])
        return cls(
            divisors=torch.tensor([t or 1.0 for t in temperatures])[:, None],
            greedy=greedy if bool(greedy.any()) else None,
            top_ks=None if all(k is None for k in top_ks) else torch.tensor([k or 2**31 for k in top_ks]),
            log_min_ps=torch.tensor(min_ps).log()[:, None] if any(min_ps) else None,
        )

    def __call__(
        self,
        logits: torch.Tensor,
        uniforms: torch.Tensor,
        reshape: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """One token per row of `logits` (B, V), overwritten; uniforms: (B, 1)."""
        logits.index_fill_(1, NEVER_WRITTEN, -torch.inf)
        if self.top_ks is not None:
            ranks = self.top_ks.clamp(max=logits.shape[1]) - 1
            kth = logits.sort(dim=-1, descending=True).values.gather(1, ranks[:, None])
            logits.masked_fill_(logits < kth, -torch.inf)
        logits.div_(self.divisors)
        if self.log_min_ps is not None:  # p < min_p · p_max  ⇔  logit < max logit + log(min_p)
            floor = logits.max(dim=-1, keepdim=True).values.add_(self.log_min_ps)
            logits.masked_fill_(logits < floor, -torch.inf)
        probs = torch.softmax(logits, dim=-1)
        if reshape is not None:
            probs = reshape(probs)
        cdf = probs.cumsum_(dim=-1)
        sampled = torch.searchsorted(cdf, uniforms * cdf[:, -1:], right=True).squeeze(1)
        sampled.clamp_(max=logits.shape[1] - 1)
        return sampled if self.greedy is None else torch.where(self.greedy, logits.argmax(dim=-1), sampled)
