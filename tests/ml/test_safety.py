"""The slur and profanity lists: every term caught in its common forms, in any case and
anywhere in a line; ordinary words that contain them left alone."""

import codecs

import pytest

from ml.text.safety import masked, without_slurs

# ROT13, as in ml/text/safety.py, so the test file does not display them either.
SLURS_ROT13 = [
    "avttn",
    "avttnm",
    "avttre",
    "avttref",
    "Avttnf",
    "fnaqavttre",
    "a1ttn",
    "puvax",
    "tbbxf",
    "fcvp",
    "fcvpx",
    "xvxr",
    "jrgonpxf",
    "ornare",
    "enturnq",
    "gbjryurnqf",
    "wvtnobb",
    "mvccreurnq",
    "cnxv",
    "wncf",
    "pbba",
    "snt",
    "sntf",
    "sntTbg",
    "qlxr",
    "genaal",
    "genaavrf",
    "furznyr",
    "ergneq",
    "ergneqrq",
]


@pytest.mark.parametrize("slur", [codecs.decode(s, "rot13") for s in SLURS_ROT13])
def test_every_slur_cuts_its_line_in_any_case(slur):
    for form in (slur, slur.upper(), slur.capitalize()):
        text, cut = without_slurs(f"first line\nthey said {form}, again\nlast line")
        assert (text, cut) == ("first line\nlast line", 1)


def test_words_that_only_contain_a_slur_stay():
    text = "a niggling doubt, a raccoon in Japan, spice and a chinkapin, the retardant, Paris"
    assert without_slurs(text) == (text, 0)


def test_profanity_is_masked_to_its_first_letter():
    text, count = masked("Fuck it, this shit is motherfuckin' bullshit, you bitches")
    assert text == "F*** it, this s*** is m***********' b*******, you b******"
    assert count == 5
    assert masked("Scunthorpe, shiitake, cockerel, dickens, assess, classic") == (
        "Scunthorpe, shiitake, cockerel, dickens, assess, classic",
        0,
    )
