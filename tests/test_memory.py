import os

import pytest

from npflow.plumbing import memory
from npflow.cli import main


def on_glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not on_glibc(), reason="the allocator settings are glibc's")
def test_glibc_takes_the_settings():
    assert memory.keep_freed_memory() is True


def test_elsewhere_it_declines_quietly(monkeypatch):
    def no_such_name(name):
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(os, "confstr", no_such_name)
    assert memory.keep_freed_memory() is False


@pytest.mark.parametrize("value, expected", [(None, True), ("1", True), ("0", False), ("off", False), ("False", False)])
def test_the_command_tunes_the_allocator_unless_told_not_to(monkeypatch, capsys, value, expected):
    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: calls.append(1))
    if value is None:
        monkeypatch.delenv("NPFLOW_KEEP_FREED_MEMORY", raising=False)
    else:
        monkeypatch.setenv("NPFLOW_KEEP_FREED_MEMORY", value)
    assert main(["evaluate", "no-such-run"]) == 2  # any command: the setting comes first
    assert bool(calls) is expected
