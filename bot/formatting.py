"""Turning service replies into chat text: Discord's 2,000-character limit, no markdown
surprises from generated text, and short summaries for history and about."""

from __future__ import annotations

import discord

from bot.service import LyricsReply, MidiReply
from bot.storage import RequestRecord

MESSAGE_LIMIT = 2000


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
    """Generated text shown literally: markdown escaped, mentions defused."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def lyrics_header(reply: LyricsReply) -> str:
    o = reply.options
    who = f"in the style of **{safe(reply.artist)}**" if reply.artist else "by any artist"
    return f"🎤 Lyrics {who} · temperature {o.temperature:g} · seed {o.seed}"


def lyrics_messages(reply: LyricsReply) -> list[str]:
    """Header plus lyrics, split into Discord-sized messages."""
    body = safe(reply.text.strip()) or "*(the model ended the song at once)*"
    note = ""
    if reply.unknown_chars:
        note = f"\n-# the model doesn't know {safe(' '.join(reply.unknown_chars))}"
    return chunk_message(f"{lyrics_header(reply)}{note}\n\n{body}")


def midi_message(reply: MidiReply) -> str:
    o = reply.options
    return (
        f"🎹 {o.seconds} s of piano · temperature {o.temperature:g} · seed {o.seed} · "
        f"{reply.notes} notes. Play **song.wav** here, or open **song.mid** in any MIDI player."
    )


def history_lines(records: list[RequestRecord]) -> list[str]:
    lines = []
    for r in records:
        shown = {k: v for k, v in r.options.items() if v not in (None, "")}
        options = " ".join(f"{k}:{safe(str(v))}" for k, v in shown.items())
        when = r.created_at.replace("T", " ").removesuffix("+00:00")
        error = f" — {safe(r.error)}" if r.error else ""
        lines.append(
            f"`#{r.id}` {when} UTC · **{safe(r.user_name)}** /{r.command} {options} · {r.status}{error}"
        )
    return lines
