"""Every command in a ```bash block of a page under docs/ runs as written, in a fresh folder, in the page's order.

One test a page: the page's commands run one after the other in an empty folder of their own
(what one command writes, the next may read), each with bash, and each must exit with 0.
Left out, as in ``tests/test_readme.py``, are the commands that need the repository's folder:
installing (``pip install -e ...``, which would also change the environment the tests run in),
the tests (``python -m pytest``) and the site's build (``sphinx-build ...``). CI (``.ci/run``)
runs those as written, and a test here checks that it does. Synopses and expected output are in
```text blocks, which are not run. A page's commands are written to be quick (a few seconds each, with
``--steps`` where training in full would take minutes); the whole set takes a few minutes.
"""
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).parent.parent
DOCS = ROOT / "docs"
GENERATED = {"cli_reference.md", "api/npflow.md"}  # written by docs/_ext/npflow_docs.py when the site is built

_spec = importlib.util.spec_from_file_location("_readme_commands", pathlib.Path(__file__).with_name("test_readme.py"))
_readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_readme)
bash_commands, run_command, without_comment = _readme.bash_commands, _readme.run_command, _readme.without_comment
NEEDS_THE_CHECKOUT, CI = _readme.NEEDS_THE_CHECKOUT, _readme.CI

PAGES = sorted(path for path in DOCS.rglob("*.md")
               if "_build" not in path.parts and path.relative_to(DOCS).as_posix() not in GENERATED
               and bash_commands(path.read_text()))


def test_the_pages_with_commands_are_found():
    names = {path.relative_to(DOCS).as_posix() for path in PAGES}
    assert {"chapters/tutorial.md", "chapters/exact_field.md", "data_and_metrics.md"} <= names


def test_ci_runs_the_commands_of_the_pages_that_need_the_checkout():
    ci_lines = [line.strip() for line in CI.read_text().splitlines() if not line.strip().startswith("#")]
    for page in PAGES:
        for command in bash_commands(page.read_text()):
            if NEEDS_THE_CHECKOUT.match(command):
                bare = without_comment(command)
                assert any(bare in line for line in ci_lines), f".ci/run does not run {bare!r} ({page.name}) as written"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[path.relative_to(DOCS).as_posix() for path in PAGES])
def test_the_commands_of_a_page_run_in_a_fresh_folder(page, tmp_path):
    for command in bash_commands(page.read_text()):
        if NEEDS_THE_CHECKOUT.match(command):
            continue  # pip install / pytest / sphinx-build: .ci/run runs them from the repository's folder
        run_command(command, tmp_path)
