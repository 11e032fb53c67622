"""The option rules of every command, as pure functions of the settings: defaults filled
in, bounds checked, user text cleaned. The service applies them to each request, the
reroll buttons use them for their steps, whatever Discord was told about the ranges."""

from __future__ import annotations

from dataclasses import replace

from bot.config import Settings
from bot.requests import AUTO_STYLE, ArtistChoice, ContinueOptions, InvalidOption, LyricsOptions, MidiOptions
from ml.errors import UnknownArtistError, shorten
from ml.music.form import AUTO_METER, METERS
from ml.sampling import new_seed
from ml.text.artists import AmbiguousArtistError, ArtistMatch
from ml.text.clean import start_letters, without_format_chars
from ml.text.generate import LyricsGenerator


def resolve_lyrics(settings: Settings, model: LyricsGenerator, options: LyricsOptions) -> LyricsOptions:
    """Options with defaults filled in, checked against the bounds; raises InvalidOption."""
    s, artists = settings, model.artist_table
    temperature = s.lyrics.temperature_default if options.temperature is None else options.temperature
    length = s.lyrics.length_default if options.length is None else options.length
    check_range("temperature", temperature, s.sampling.temperature_min, s.sampling.temperature_max)
    check_range("length", length, s.lyrics.length_min, s.lyrics.length_max)
    start = lyrics_start(check_text("start", options.start or "", s.lyrics.start_max_chars), model)
    typed_artist = check_text("artist", options.artist or "", s.lyrics.artist_max_chars) or None
    try:
        found = artists.match(typed_artist)
    except AmbiguousArtistError as exc:
        raise ArtistChoice(str(exc), exc.suggestions) from None
    except UnknownArtistError as exc:
        hint = "" if exc.suggestions else " /artists lists every artist I know."
        raise InvalidOption(f"{exc}{hint}") from None
    artist = found.name
    style = s.lyrics.style_default if options.style is None else options.style
    check_range("style", style, s.lyrics.style_min, s.lyrics.style_max)
    if artist is None:
        style = 1.0  # without an artist there is no style to strengthen
    return LyricsOptions(
        artist=artist,
        start=start,
        temperature=temperature,
        length=length,
        seed=seed(settings, options.seed),
        style=style,
        artist_note=artist_note(found, typed_artist),
    )


def artist_note(found: ArtistMatch, typed: str | None) -> str | None:
    """What the reply says when the artist was read otherwise than typed."""
    if found.how == "stand_in":
        return f"the closest I know to {found.stand_in_for}"
    return f"for “{typed}”" if found.inexact else None


def lyrics_start(start: str, model: LyricsGenerator) -> str:
    """The start as the model will read it: none when it holds no letter (blank, emoji,
    punctuation); refused when most of its letters are in a script the model never read."""
    letters, unknown = start_letters(start, model.known_chars)
    if not letters:
        return ""
    if unknown * 2 > letters:
        raise InvalidOption(
            "I can only write on from words in the alphabets of my training songs (mostly English); "
            "most of that start's letters are not among them. Try a start in English, or leave it out."
        )
    return start


def resolve_midi(settings: Settings, options: MidiOptions) -> MidiOptions:
    seconds, temperature = _music_numbers(settings, options.seconds, options.temperature)
    style = check_style(settings, options.style or settings.music.style_default)
    meter = options.meter or AUTO_METER
    if meter not in (AUTO_METER, *METERS):
        shown = display_name(settings, str(meter))
        raise InvalidOption(f"meter must be one of {', '.join((AUTO_METER, *METERS))} (got {shown!r}).")
    return MidiOptions(
        seconds=seconds, temperature=temperature, seed=seed(settings, options.seed), style=style, meter=meter
    )


def resolve_continue(settings: Settings, options: ContinueOptions) -> ContinueOptions:
    """The numbers as for /midi, and the file's name and declared size, before any download."""
    seconds, temperature = _music_numbers(settings, options.seconds, options.temperature)
    filename = check_text("file", options.filename, settings.lyrics.artist_max_chars * 2)
    check_file_size(display_name(settings, filename), options.size, settings.music.continue_max_bytes)
    style = options.style or AUTO_STYLE
    if style != AUTO_STYLE:
        check_style(settings, style)
    return replace(
        options,
        filename=filename,
        seconds=seconds,
        temperature=temperature,
        seed=seed(settings, options.seed),
        style=style,
    )


def check_style(settings: Settings, style: object) -> str:
    """One of the styles this bot has a model for."""
    styles = list(settings.music.checkpoints())
    if style not in styles:
        shown = display_name(settings, str(style))
        raise InvalidOption(f"style must be one of {', '.join(styles)} (got {shown!r}).")
    return style


def _music_numbers(settings: Settings, seconds: int | None, temperature: float | None) -> tuple[int, float]:
    s = settings
    seconds = s.music.seconds_default if seconds is None else seconds
    temperature = s.music.temperature_default if temperature is None else temperature
    check_range("seconds", seconds, s.music.seconds_min, s.music.seconds_max)
    check_range("temperature", temperature, s.sampling.temperature_min, s.sampling.temperature_max)
    return seconds, temperature


def stepped_temperature(settings: Settings, temperature: float, steps: int) -> float:
    """`temperature` moved by `steps` buttons' worth, within the bounds."""
    moved = temperature + steps * settings.sampling.temperature_step
    return round(min(max(moved, settings.sampling.temperature_min), settings.sampling.temperature_max), 2)


def stepped_style(settings: Settings, style: float) -> float:
    return round(min(style + settings.lyrics.style_step, settings.lyrics.style_max), 2)


def check_range(name: str, value: object, low: float, high: float) -> None:
    """`value` is a number within [low, high]; a whole number where the bounds are."""
    whole = isinstance(low, int) and isinstance(high, int)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "a whole number" if whole else "a number"
        raise InvalidOption(f"{name} must be {kind} between {low:g} and {high:g}.")
    if not low <= value <= high:  # NaN fails this too
        raise InvalidOption(f"{name} must be between {low:g} and {high:g} (got {value:g}).")


def soundfont_choice(settings: Settings, value: object) -> str | None:
    """A SoundFont by name among those offered, or "default" (None)."""
    if value == DEFAULT_SOUNDFONT:
        return None
    offered = settings.music.soundfonts()
    if value not in offered:
        shown = display_name(settings, str(value))
        names = ", ".join([DEFAULT_SOUNDFONT, *offered])
        raise InvalidOption(f"soundfont must be one of {names} (got {shown!r}); nothing was changed.")
    return value


def on_off(name: str, value: object) -> bool:
    """A switch given exactly as "on" or "off" (a client may send anything)."""
    if value not in ("on", "off"):
        shown = shorten(str(value), 40)
        raise InvalidOption(f"{name} must be on or off (got {shown!r}); nothing was changed.")
    return value == "on"


DEFAULT_SOUNDFONT = "default"


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


def display_name(settings: Settings, text: str) -> str:
    """User text fit to quote back in a message: short and without format characters."""
    return shorten(without_format_chars(text), settings.discord.echo_chars)


def seed(settings: Settings, value: int | None) -> int:
    """The user's seed within SEED_MAX, or a fresh one (reported back, so it can be reused)."""
    if value is None:
        return new_seed() % (settings.sampling.seed_max + 1)
    check_range("seed", value, 0, settings.sampling.seed_max)
    return value
