"""The option rules of every command, as pure functions of the settings: defaults filled
in, bounds checked, user text cleaned. The service applies them to each request, the
reroll buttons use them for their steps, whatever Discord was told about the ranges."""

from __future__ import annotations

from dataclasses import replace

from bot.config import Settings
from bot.requests import ContinueOptions, InvalidOption, LyricsOptions, MidiOptions
from ml.errors import UnknownArtistError, shorten
from ml.sampling import new_seed
from ml.text.artists import ArtistTable
from ml.text.clean import without_format_chars

SEED_LIMIT = 2**31


def resolve_lyrics(settings: Settings, artists: ArtistTable, options: LyricsOptions) -> LyricsOptions:
    """Options with defaults filled in, checked against the bounds; raises InvalidOption."""
    s = settings
    temperature = s.lyrics_temperature_default if options.temperature is None else options.temperature
    length = s.lyrics_length_default if options.length is None else options.length
    check_range("temperature", temperature, s.temperature_min, s.temperature_max)
    check_range("length", length, s.lyrics_length_min, s.lyrics_length_max)
    start = check_text("start", options.start or "", s.lyrics_start_max_chars)
    typed_artist = check_text("artist", options.artist or "", s.artist_max_chars) or None
    try:
        artist, _ = artists.resolve(typed_artist)
    except UnknownArtistError as exc:
        hint = "" if exc.suggestions else " /artists lists every artist I know."
        raise InvalidOption(f"{exc}{hint}") from None
    style = s.lyrics_style_default if options.style is None else options.style
    check_range("style", style, s.lyrics_style_min, s.lyrics_style_max)
    if artist is None:
        style = 1.0  # without an artist there is no style to strengthen
    return LyricsOptions(
        artist=artist,
        start=start,
        temperature=temperature,
        length=length,
        seed=seed(options.seed),
        style=style,
    )


def resolve_midi(settings: Settings, options: MidiOptions) -> MidiOptions:
    seconds, temperature = _music_numbers(settings, options.seconds, options.temperature)
    return MidiOptions(seconds=seconds, temperature=temperature, seed=seed(options.seed))


def resolve_continue(settings: Settings, options: ContinueOptions) -> ContinueOptions:
    """The numbers as for /midi, and the file's name and declared size, before any download."""
    seconds, temperature = _music_numbers(settings, options.seconds, options.temperature)
    filename = check_text("file", options.filename, settings.artist_max_chars * 2)
    check_file_size(display_name(filename), options.size, settings.continue_max_bytes)
    return replace(
        options, filename=filename, seconds=seconds, temperature=temperature, seed=seed(options.seed)
    )


def _music_numbers(settings: Settings, seconds: int | None, temperature: float | None) -> tuple[int, float]:
    s = settings
    seconds = s.midi_seconds_default if seconds is None else seconds
    temperature = s.midi_temperature_default if temperature is None else temperature
    check_range("seconds", seconds, s.midi_seconds_min, s.midi_seconds_max)
    check_range("temperature", temperature, s.temperature_min, s.temperature_max)
    return seconds, temperature


def stepped_temperature(settings: Settings, temperature: float, steps: int) -> float:
    """`temperature` moved by `steps` buttons' worth, within the bounds."""
    moved = temperature + steps * settings.temperature_step
    return round(min(max(moved, settings.temperature_min), settings.temperature_max), 2)


def stepped_style(settings: Settings, style: float) -> float:
    return round(min(style + settings.style_step, settings.lyrics_style_max), 2)


def check_range(name: str, value: object, low: float, high: float) -> None:
    """`value` is a number within [low, high]; a whole number where the bounds are."""
    whole = isinstance(low, int) and isinstance(high, int)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "a whole number" if whole else "a number"
        raise InvalidOption(f"{name} must be {kind} between {low:g} and {high:g}.")
    if not low <= value <= high:  # NaN fails this too
        raise InvalidOption(f"{name} must be between {low:g} and {high:g} (got {value:g}).")


def check_text(name: str, text: object, max_chars: int) -> str:
    """User text without invisible format characters (bidi overrides, zero-width spaces),
    so nothing the bot echoes or stores can display other than it reads."""
    if not isinstance(text, str):
        raise InvalidOption(f"{name} must be text.")
    if len(text) > max_chars:
        raise InvalidOption(f"{name} can be at most {max_chars} characters long (got {len(text):,}).")
    return without_format_chars(text)


def check_file_size(shown: str, size: int, limit: int) -> None:
    """A /continue file's size, as declared or as read, within the limit."""
    if size > limit:
        raise InvalidOption(f"{shown} is {size:,} bytes; the limit is {limit:,}.")


def display_name(text: str) -> str:
    """User text fit to quote back in a message: short and without format characters."""
    return shorten(without_format_chars(text))


def seed(value: int | None) -> int:
    if value is None:
        return new_seed()
    check_range("seed", value, 0, SEED_LIMIT - 1)
    return value
