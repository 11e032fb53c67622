"""The README and docs: every relative link resolves, and the CLI reference names every flag
the parsers have."""

import argparse
import re
from pathlib import Path

import pytest

from ml.__main__ import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves(document):
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor
        path = (document.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{document.name} links to {target}, which does not exist"


def _flags(parser: argparse.ArgumentParser, command: str = "python -m ml"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _flags(sub, f"{command} {name}")
        else:
            yield command, next((o for o in action.option_strings if o.startswith("--")), None)


def test_the_cli_reference_names_every_flag():
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = {f"{command} {flag}" for command, flag in _flags(build_parser()) if flag and flag != "--help"}
    missing = {m for m in missing if m.rsplit(" ", 1)[1] not in reference}
    assert not missing, f"docs/cli.md does not mention: {sorted(missing)}"


def test_the_readme_reads_in_five_minutes():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200
