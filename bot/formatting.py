"""Turning service replies into chat text: Discord's 2,000-character limit, no markdown
surprises from generated text, and short summaries for history and about.

Every message the bot sends goes through `fit` (one message) or `chunk_message` (several),
so none can be refused for its length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord

from bot.requests import ContinueOptions, LyricsReply, MidiReply
from bot.storage import RequestRecord
from ml.errors import shorten
from ml.text.clean import without_format_chars

MESSAGE_LIMIT = 2000  # Discord refuses longer content with 400 / 50035


def fit(text: str) -> str:
    """`text` as one message: cut to Discord's limit, the cut marked with an ellipsis."""
    return shorten(text, MESSAGE_LIMIT)


def chunk_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends where a line allows it."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:  # a single overlong line: cut it hard
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current.strip():
        chunks.append(current)
    return [c.rstrip("\n") or c for c in chunks if c.strip()]


def safe(text: str) -> str:
    """Generated or user text shown literally: markdown escaped, mentions defused, no
    invisible format characters (a bidi override would display the text reversed)."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(without_format_chars(text)))


def lyrics_header(reply: LyricsReply) -> str:
    o = reply.options
    who = f"in the style of **{safe(reply.artist)}**" if reply.artist else "by any artist"
    if o.artist_note:  # read otherwise than typed: say so
        who += f" ({safe(o.artist_note)})"
    style = f" · style {o.style:g}" if reply.artist else ""
    return f"🎤 Lyrics {who} · temperature {o.temperature:g}{style} · seed {o.seed}"


def lyrics_messages(reply: LyricsReply) -> list[str]:
    """Header plus lyrics, split into Discord-sized messages."""
    body = safe(reply.text.strip()) or "*(the model ended the song at once)*"
    note = ""
    if reply.unknown_chars:
        note = f"\n-# the model doesn't know {safe(' '.join(reply.unknown_chars))}"
    return chunk_message(f"{lyrics_header(reply)}{note}\n\n{body}")


def midi_message(reply: MidiReply, with_audio: bool = True) -> str:
    o = reply.options
    what = f"{reply.seconds or o.seconds:.0f} s of {o.style} music in {reply.meter}"
    if isinstance(o, ContinueOptions):
        what = (
            f"**{safe(o.filename)}** continued for {reply.seconds or o.seconds:.0f} s in the {o.style} style"
        )
    numbers = f"temperature {o.temperature:g} · seed {o.seed} · {reply.notes} notes"
    head = f"🎹 {what} · {numbers} · piece #{reply.request_id}."
    read = f"\n{prime_reading(o)}" if isinstance(o, ContinueOptions) else ""
    if with_audio:
        return f"{head} Play **song.ogg** here, or open **song.mid** in any MIDI player.{read}"
    return (
        f"{head} Open **song.mid** in any MIDI player. The audio preview is left out: "
        f"it is larger than this server's upload limit.{read}"
    )


def prime_reading(options: ContinueOptions) -> str:
    """What /continue read of the user's file: "Read 16 bars of your piece: 96 bpm, 4/4, F♯ minor"."""
    prime = options.prime
    if not prime:
        return ""
    why = f" It {options.style_reason}" if options.style_reason else ""
    cut = (
        " Your file ends early (it seems cut short); I read what was there." if prime.window.cut_short else ""
    )
    return f"Read {prime.bars_text} of your piece: {prime.summary}.{why}{cut}"


def history_lines(records: list[RequestRecord], markdown: bool = True) -> list[str]:
    """One line a request; Discord markdown unless `markdown` is False (the console)."""
    shown = safe if markdown else without_format_chars
    lines = []
    for r in records:
        given = {k: v for k, v in r.options.items() if v not in (None, "")}
        options = " ".join(f"{k}:{shown(str(v))}" for k, v in given.items())
        when = r.created_at.replace("T", " ").removesuffix("+00:00")
        error = f" — {shown(r.error)}" if r.error else ""
        number, name = (
            (f"`#{r.id}`", f"**{shown(r.user_name)}**") if markdown else (f"#{r.id}", shown(r.user_name))
        )
        lines.append(f"{number} {when} UTC · {name} /{r.command} {options} · {r.status}{error}")
    return lines


ARTISTS_PER_PAGE = 40  # names of up to 100 characters: a page stays one message


def artist_page(ranked: list[str], counts: dict[str, int], search: str, page: int, echo_chars: int) -> str:
    """One page of the artists a lyrics model knows, best known first (or, with `search`,
    the names matching it, closest first), with how to reach the other pages. The search
    is quoted back at most `echo_chars` long."""
    search = without_format_chars(search).strip()
    echo = shorten(search, echo_chars)
    if search and not ranked:
        return f"No artist I know matches {echo!r}; try part of the name."
    pages = max(1, -(-len(ranked) // ARTISTS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = ranked[(page - 1) * ARTISTS_PER_PAGE : page * ARTISTS_PER_PAGE]
    matching = f" matching {echo!r}" if search else ""
    lines = [f"I know {len(counts):,} artists; {len(ranked):,}{matching}, page {page} of {pages}:"]
    lines += [f"{safe(name)} ({counts.get(name, 0)} songs)" for name in shown]
    hints = []
    if page < pages and echo != search:  # too long to repeat: the same search, next page
        hints.append(f"next: the same search with `page:{page + 1}`")
    elif page < pages:
        shown_search = search.replace("`", "")
        query = f' search:"{shown_search}"' if " " in search else f" search:{shown_search}" if search else ""
        hints.append(f"next: `/artists{query} page:{page + 1}`")
    if not search:
        hints.append("find one: `/artists search:NAME`")
    if hints:
        lines.append("(" + "; ".join(hints) + ")")
    return fit("\n".join(lines))


def about_text(about: dict[str, Any]) -> str:
    """/about in Markdown: every model, its data and scores, and how the bot is doing."""
    lyrics = about["lyrics"]
    data, metrics = lyrics["data"], lyrics["metrics"]
    trained = f"{data.get('songs', '?')} songs by {data.get('artists', '?')} artists"
    if data.get("any_artist_songs"):
        trained += f" and {data['any_artist_songs']:,} more as any artist"
    score = f"validation {metrics['val_bpc']:.2f} bits/char" if "val_bpc" in metrics else ""
    lines = [f"**Lyrics**: {_size(lyrics)}; trained on {trained}; {score} (`{lyrics['version']}`)"]
    for style, model in about["music"].items():
        data, metrics = model["data"], model["metrics"]
        trained = _pieces(data)
        if data.get("also_train"):
            trained += f" and {data['also_train'].get('kept', '?')} more"
        if data.get("pretrained"):
            trained += f", pre-trained on {_pieces(data['pretrained'])}"
        nll = metrics.get("val_nll_per_frame")
        score = f"validation {nll:.2f} nats/frame" if nll is not None else ""
        version = model["version"]
        lines.append(f"**Music, {style}**: {_size(model)}; trained on {trained}; {score} (`{version}`)")
    hours, rest = divmod(int(about["uptime_s"]), 3600)
    served = ", ".join(f"{n} {k}" for k, n in about["served"].items()) or "nothing yet"
    lines.append(
        f"Up {hours} h {rest // 60} min; served {served} in {about['batches']} batches; "
        f"{about['waiting']} waiting."
    )
    return "\n".join(lines)


def _pieces(data: dict[str, Any]) -> str:
    """ "87 pieces (Piano_midi)": a music model's training set, named by its file or folder."""
    return f"{data.get('train_tunes', '?')} pieces ({Path(str(data.get('source', '?'))).stem})"


def _size(model: dict[str, Any]) -> str:
    config = model["config"]
    return f"{config.get('layers')}x{config.get('hidden')} LSTM, {model['parameters'] / 1e6:.1f}M parameters"
