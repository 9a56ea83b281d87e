"""The synopsis of docs/cli.md names every option of each ``npflow`` command, and no option the command lacks.

The site's command-line reference is generated from the parsers when it is built, so it cannot
drift; the hand-written synopsis could, and this test keeps it to the parsers.
"""
import argparse
import pathlib
import re

import pytest

from npflow.cli import build_parser

PAGE = pathlib.Path(__file__).parent.parent / "docs" / "cli.md"


def commands():
    """``{command: parser}`` of ``npflow``'s sub-commands."""
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("npflow's parser has no sub-commands")


def synopsis_options():
    """``{command: options}`` that the synopsis block of docs/cli.md names, line by line."""
    text = PAGE.read_text()
    section = text[text.index("## Synopsis"):]
    block = re.search(r"```text\n(.*?)```", section, re.DOTALL).group(1)
    found, command = {}, None
    for line in block.splitlines():
        start = re.match(r"(npflow (\w+)|\S)", line)
        if start:
            command = start.group(2)  # None for a line that starts another program (python -m npflow.teach)
        if command:
            found.setdefault(command, set()).update(re.findall(r"--[a-z][a-z0-9-]*", line))
    return found


def options_of(parser):
    return {option for action in parser._actions for option in action.option_strings
            if option.startswith("--") and option != "--help"}


def test_the_synopsis_has_every_command():
    assert set(synopsis_options()) == set(commands())


@pytest.mark.parametrize("command", sorted(synopsis_options()))
def test_the_synopsis_names_the_options_of_the_command(command):
    parser = commands()[command]
    named = synopsis_options()[command]
    unknown, missing = sorted(named - options_of(parser)), sorted(options_of(parser) - named)
    assert not unknown, f"docs/cli.md names options 'npflow {command}' does not have: {unknown}"
    assert not missing, f"docs/cli.md's synopsis leaves out options of 'npflow {command}': {missing}"
