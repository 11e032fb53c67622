"""What a reader strikes out of a reply at a glance: babble and unbalanced marks.

- Babble: a line of nothing but vocables ("Hey, hey, hey", "Oh, yeah"). Real songs have
  a few (about 2% of lines); a character model, happy to repeat what it just wrote, writes
  far more. A reply keeps at most VOCABLE_SHARE of its lines as such lines.
- A line that says one word more than MAX_WORD_REPEATS times ("yeah yeah yeah …").
- Brackets and quotes left open, closed twice or closed by the wrong mark ("(Chorus] I"):
  each line is balanced (a stray closer dropped, a wrong one corrected, an open one closed
  at the line's end, an odd straight quote closed at the end if it opens, else dropped).

Measured the same way on real songs in ml.text.quality.
"""

from __future__ import annotations

import re
from collections import Counter

from ml.text.safety import WORD

VOCABLE_SHARE = 0.03  # 1.5x the share of vocable-only lines in real songs
MAX_WORD_REPEATS = 8
_VOCABLE = re.compile(
    r"(?:o+h*|a+h+|u+h+|m+|h*m+|ye+a+h*|yea|ya+|ye+|he+y+|la+|na+|da+|doo+|wo+a*h*|whoa+|"
    r"woo+|oo+h*|ay+|ey+|hu+h|sha+|ba+|hoo+|ha+)",
)
_OPENERS = {"(": ")", "[": "]", "“": "”"}
_CLOSERS = {closer: opener for opener, closer in _OPENERS.items()}


def line_words(line: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(line)]  # "whoa-oh" is two vocables


def is_vocable_line(line: str) -> bool:
    """A line with words, every one of them a vocable (oh, yeah, hey, la, na, ooh, whoa…)."""
    found = line_words(line)
    return bool(found) and all(_VOCABLE.fullmatch(w) for w in found)


def most_repeats(line: str) -> int:
    """How often the line's most frequent word occurs in it."""
    return max(Counter(line_words(line)).values(), default=0)


def balanced(line: str) -> str:
    """The line with its brackets and quotes paired (see the module docstring)."""
    out: list[str] = []
    stack: list[str] = []
    for ch in line:
        if ch in _OPENERS:
            stack.append(ch)
        elif ch in _CLOSERS:
            if not stack:
                continue  # closes nothing: dropped
            ch = _OPENERS[stack.pop()]  # the closer the open mark needs
        out.append(ch)
    text = "".join(out).rstrip() + "".join(_OPENERS[opener] for opener in reversed(stack))
    if text.count('"') % 2:  # an odd straight quote: the last one opens or is a stray
        cut = text.rfind('"')
        opens = cut == 0 or text[cut - 1].isspace()
        text = text + '"' if opens and cut < len(text) - 1 else (text[:cut] + text[cut + 1 :]).rstrip()
    return text


def is_balanced(text: str) -> bool:
    """Every line's brackets and quotes paired."""
    return all(balanced(line) == line.rstrip() for line in text.split("\n"))


def tidied(text: str, keep_lines: int = 0) -> tuple[str, int]:
    """`text` without babble lines past the reply's share, without lines that repeat a word
    more than MAX_WORD_REPEATS times, every line balanced; the first `keep_lines` lines (the
    user's own start) as they are. Returns the text and how many lines were left out."""
    lines = text.split("\n")
    kept = lines[:keep_lines]
    vocable_budget = int(VOCABLE_SHARE * sum(1 for line in lines if line.strip()))
    left_out = 0
    for line in lines[keep_lines:]:
        if most_repeats(line) > MAX_WORD_REPEATS:
            left_out += 1
            continue
        if is_vocable_line(line):
            if vocable_budget <= 0:
                left_out += 1
                continue
            vocable_budget -= 1
        kept.append(balanced(line))
    # Lines left out may leave blank lines side by side: one is a verse break, more a hole.
    joined = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", "\n".join(kept)).rstrip()
    return (joined if keep_lines else joined.lstrip()), left_out
