"""The "Math to code" table of docs/math_to_code.md quotes code lines; each must still stand in the file it names."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parent.parent
PAGE = ROOT / "docs" / "math_to_code.md"
ROWS = re.findall(r"^\| [^|`]+(?:\\\|[^|`]*)* \| `(.+?)` \| `(npflow/[\w/]+\.py)` \|$", PAGE.read_text(), re.MULTILINE)


def test_the_table_is_there():
    assert len(ROWS) >= 15


@pytest.mark.parametrize("code, path", ROWS, ids=[row[0][:40] for row in ROWS])
def test_each_quoted_line_is_in_its_file(code, path):
    lines = [line.strip() for line in (ROOT / path).read_text().splitlines()]
    assert code in lines, f"{code!r} is no longer a line of {path}"
