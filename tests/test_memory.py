import os
import platform
import subprocess
import sys

import pytest

import npflow.memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's")
def test_importing_npflow_keeps_freed_memory_on_glibc_unless_told_not_to():
    assert npflow.memory.KEEPING_FREED_MEMORY is True
    code = "import npflow.memory as m; print(m.KEEPING_FREED_MEMORY)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "NPFLOW_KEEP_FREED_MEMORY": "0"})
    assert result.stdout.strip() == "False"


def test_elsewhere_it_declines_quietly(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert npflow.memory.keep_freed_memory() is False
