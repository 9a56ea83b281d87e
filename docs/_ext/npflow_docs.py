"""The parts of npflow's documentation site that are made at build time, so that they cannot drift.

- ``cli_reference.md``: the ``--help`` of ``npflow`` and of each sub-command (and of
  ``python -m npflow.teach``), from the argparse parsers themselves: ``npflow.cli.build_parser()``
  and ``npflow.teach.__main__.build_parser()``, walked through their sub-parsers.
- ``api/npflow.md``: the names of the top-level ``npflow`` namespace (its ``__all__``), each
  linked to the module that defines it.
- ``_examples/``: the example scripts of ``examples/`` as sphinx-gallery reads them. The scripts
  are in "percent" format with Markdown cells (``# %% [markdown]``); sphinx-gallery wants a
  module docstring with a title and reStructuredText cells. The copies differ from the scripts
  only there: the first cell becomes the docstring, and each Markdown cell is written again in
  reStructuredText. The code is the same, line for line.
- The examples run with ``--quick --out DIR``, DIR a temporary folder (``example_argv``), so
  that they write nothing into the repository; the figures they save there are collected after
  each cell (``scrape_written_figures``), since they draw on ``matplotlib.figure.Figure``
  objects, not through pyplot.

None of these files is kept in the repository (see ``.gitignore``): a build writes them again.
"""
import argparse
import importlib
import os
import pathlib
import re
import shutil
import sys
import tempfile

from sphinx.errors import ExtensionError
from sphinx.pycode import ModuleAnalyzer
from sphinx_gallery.scrapers import figure_rst

DOCS = pathlib.Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
EXAMPLES = ROOT / "examples"
GALLERY_SOURCES = DOCS / "_examples"
HELP_WIDTH = 80  # the --help texts are wrapped at this width, whatever the terminal of the build

# -- the command-line reference ---------------------------------------------------------------


def _parser_builder(module_name):
    """``build_parser`` of ``module_name``, or an error that says what is missing."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ExtensionError(f"npflow_docs: the CLI reference needs {module_name}.build_parser, "
                             f"and {module_name} cannot be imported: {error}") from error
    build_parser = getattr(module, "build_parser", None)
    if not callable(build_parser):
        raise ExtensionError(f"npflow_docs: the CLI reference needs {module_name}.build_parser(), "
                             f"and {module_name} has none")
    return build_parser


def walk_parsers(parser):
    """``parser`` and every sub-parser below it, depth first, in the order ``--help`` lists them."""
    yield parser
    seen = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if id(sub) not in seen:  # an alias names the same parser twice
                    seen.add(id(sub))
                    yield from walk_parsers(sub)


def _help(parser):
    """``parser.format_help()`` wrapped at HELP_WIDTH columns."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        return parser.format_help().rstrip()
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def _slug(section, prog):
    """The page's anchor of a parser: its section's name and its ``prog``, so that no two are alike."""
    return "cli-" + re.sub(r"[^a-z0-9]+", "-", f"{section} {prog}".lower()).strip("-")


def cli_reference():
    """The text of ``cli_reference.md``."""
    parts = ["# Command-line reference", "",
             "Every option of every command, as `--help` prints it: this page is generated when the site "
             "is built, from the argparse parsers themselves (`npflow.cli.build_parser()` and "
             "`npflow.teach.__main__.build_parser()`), so it says what the installed code does. "
             "[The command line](cli.md) says what the commands have in common, and how runs stop, "
             "resume and are checked.", ""]
    for section, title, module_name in (("npflow", "The `npflow` command", "npflow.cli"),
                                        ("course", "The course: `python -m npflow.teach`", "npflow.teach.__main__")):
        parsers = list(walk_parsers(_parser_builder(module_name)()))
        parts += [f"## {title}", "", "| command | what it does |", "|---|---|"]
        helps = {}
        for action in parsers[0]._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
        for parser in parsers[1:]:
            name = parser.prog.split()[-1]
            parts.append(f"| [`{parser.prog}`](#{_slug(section, parser.prog)}) | "
                         f"{(helps.get(name) or '').replace('|', '/')} |")
        parts.append("")
        for parser in parsers:
            parts += [f"({_slug(section, parser.prog)})=", f"### `{parser.prog}`", "", "```text", _help(parser), "```",
                      ""]
    return "\n".join(parts)


# -- the top-level namespace ------------------------------------------------------------------


def _home(name, obj):
    """Where ``npflow.<name>`` is defined: ``(module, qualified name)``."""
    module = getattr(obj, "__module__", None)
    if module and module.startswith("npflow.") and hasattr(obj, "__qualname__"):
        return module, obj.__qualname__
    homes = sorted(m for m, mod in list(sys.modules.items())
                   if m.startswith("npflow.") and name in getattr(mod, "__all__", ()) and getattr(mod, name, None) is obj)
    homes = [m for m in homes if not any(other.startswith(m + ".") for other in homes)] or homes
    return (homes[0] if homes else "npflow"), name  # "npflow": defined in the package itself (__version__)


def _documented(module, qualname, obj):
    """Whether autodoc documents ``module.qualname``: a function or a class, or data with a ``#:`` comment."""
    if module == "npflow":
        return False
    if callable(obj):
        return True
    return ("", qualname) in ModuleAnalyzer.for_module(module).find_attr_docs()


def _summary(obj):
    if isinstance(obj, (str, int, float)):
        return f"`{obj!r}`"
    doc = (getattr(obj, "__doc__", None) or "") if callable(obj) else ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    return re.sub(r"\s+", " ", first)


def namespace_page():
    """The text of ``api/npflow.md``: the names of ``npflow.__all__``, grouped by the module that defines each."""
    import npflow
    groups = {}
    for name in npflow.__all__:
        obj = getattr(npflow, name)
        module, qualname = _home(name, obj)
        link = (f"{{py:obj}}`npflow.{name} <{module}.{qualname}>`" if _documented(module, qualname, obj)
                else f"`npflow.{name}`")
        summary = _summary(obj)
        groups.setdefault(module, []).append(f"- {link}" + (f": {summary}" if summary else ""))
    parts = ["# The `npflow` namespace", "",
             "What `import npflow` gives, as `npflow.__all__` lists it (this page is generated when the site "
             "is built), grouped by the module that defines each name, where its documentation is. The "
             "package re-exports them so that `npflow.train`, `npflow.generate` and the rest are one import "
             "away.", ""]
    for module, rows in groups.items():
        parts += [f"## `{module}`", "", *rows, ""]
    return "\n".join(parts)


# -- the gallery's sources ----------------------------------------------------------------------


def _inline_rst(text):
    """Markdown's inline markup in reStructuredText: code spans, links, and the characters rST reads as markup."""
    pieces = re.split(r"(`[^`]+`)", text)
    out = []
    for piece in pieces:
        if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            out.append(f"``{piece[1:-1]}``")
            continue
        piece = piece.replace("\\", "\\\\").replace("|", "\\|")
        piece = re.sub(r"(\w)_(?=[\s.,;:!?)\]]|$)", r"\1\\_", piece)  # x_ would be a link target
        piece = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"`\1 <\2>`__", piece)
        out.append(piece)
    return "".join(out)


def markdown_to_rst(lines):
    """A Markdown cell of an example (its lines, without ``# ``) in reStructuredText.

    Handles what the examples use: ``#`` and ``##`` headings, paragraphs, ``-`` lists, bold and
    italics (the same in both), code spans, indented code blocks and links.
    """
    out = []
    in_code = False
    for i, line in enumerate(lines):
        previous = lines[i - 1] if i else ""
        if in_code and (line.startswith("    ") or not line.strip()):
            out.append(line)
            continue
        in_code = False
        if line.startswith("    ") and not previous.strip():
            out += ["::", "", line]
            in_code = True
            continue
        heading = re.match(r"^(#{1,3}) (.*)$", line)
        if heading:
            title = _inline_rst(heading.group(2).strip())
            if out and out[-1].strip():
                out.append("")
            out += [title, "=-~"[len(heading.group(1)) - 1] * len(title), ""]
            continue
        out.append(_inline_rst(line))
    while out and not out[-1].strip():
        out.pop()
    return out


def _cells(source):
    """The script's lines, cut into cells: a list of (header line or None, lines)."""
    cells = [(None, [])]
    for line in source.splitlines():
        if re.match(r"^# %%", line):
            cells.append((line, []))
        else:
            cells[-1][1].append(line)
    return cells


def _comment_text(lines):
    """The text of a Markdown cell's comment lines (``# text``), up to the first line that is not a comment."""
    text = []
    for line in lines:
        if not line.startswith("#"):
            break
        text.append(line[2:] if line.startswith("# ") else line[1:])
    return text, lines[len(text):]


def gallery_source(path):
    """The text sphinx-gallery reads for the example at ``path`` (see the module's docstring)."""
    cells = _cells(pathlib.Path(path).read_text())
    head, rest = cells[0], cells[1:]
    if head[1] and any(line.strip() for line in head[1]):
        raise ExtensionError(f"npflow_docs: {path} has code before its first '# %%' cell")
    if not rest or "[markdown]" not in rest[0][0]:
        raise ExtensionError(f"npflow_docs: {path} does not open with a '# %% [markdown]' cell holding its title")
    text, after = _comment_text(rest[0][1])
    docstring = markdown_to_rst(text)
    if '"""' in "\n".join(docstring):
        raise ExtensionError(f'npflow_docs: {path}: its first cell holds """')
    out = ['r"""'] + docstring + ['"""'] + after
    for header, lines in rest[1:]:
        if "[markdown]" in header:
            text, after = _comment_text(lines)
            out.append("# %%")
            out += [("# " + line).rstrip() for line in markdown_to_rst(text)]
            out += after
        else:
            out.append(header)
            out += lines
    return "\n".join(out) + "\n"


def _write_if_changed(path, text):
    """Write ``text`` to ``path`` unless it holds it already (so that an unchanged page is not read again)."""
    path = pathlib.Path(path)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def prepare_gallery_sources():
    """Write ``_examples/``: each example as sphinx-gallery reads it, and the gallery's header."""
    GALLERY_SOURCES.mkdir(exist_ok=True)
    wanted = {"GALLERY_HEADER.rst"}
    for script in sorted(EXAMPLES.glob("*.py")):
        _write_if_changed(GALLERY_SOURCES / script.name, gallery_source(script))
        wanted.add(script.name)
    _write_if_changed(GALLERY_SOURCES / "GALLERY_HEADER.rst", "\n".join([
        "Example gallery",
        "===============",
        "",
        "The scripts of ``examples/``, each run here in its quick mode (``--quick``: shorter training,",
        "fewer points), with what it printed and the figures it drew. Their numbers are the quick",
        "mode's, not the full runs' that the chapters quote. Each script is in \"percent\" format:",
        "download it as a script or as a notebook, or run it from the repository's folder, e.g.",
        "``python examples/sampler_pitfall.py --quick``. :doc:`../examples` says what each one shows.",
        "",
    ]))
    for stale in GALLERY_SOURCES.iterdir():
        if stale.name not in wanted and stale.is_file():
            stale.unlink()


class CourseOrder:
    """Sort key of the gallery: the order in which docs/examples.md lists the scripts."""

    def __init__(self, src_dir):
        self.order = re.findall(r"`examples/(\w+\.py)`", (DOCS / "examples.md").read_text())

    def __call__(self, filename):
        name = os.path.basename(filename)
        return (self.order.index(name) if name in self.order else len(self.order), name)

    def __repr__(self):
        return "CourseOrder"

# -- running the examples -----------------------------------------------------------------------

_OUT = {"root": None}
_SEEN = set()
FIGURE_SUFFIXES = {".png", ".gif", ".svg", ".jpg", ".jpeg"}


def _out_root():
    if _OUT["root"] is None:
        _OUT["root"] = tempfile.mkdtemp(prefix="npflow-gallery-")
    return _OUT["root"]


def example_argv(gallery_conf, script_vars):
    """An example's command line: its quick mode, its figures into a temporary folder of its own."""
    name = pathlib.Path(script_vars["src_file"]).stem
    return ["--quick", "--out", os.path.join(_out_root(), name)]


def scrape_written_figures(block, block_vars, gallery_conf):
    """The figures the example has written into its ``--out`` folder since the last cell, for sphinx-gallery."""
    out = pathlib.Path(_out_root()) / pathlib.Path(block_vars["src_file"]).stem
    if not out.is_dir():
        return ""
    new = sorted((p for p in out.iterdir() if p.suffix.lower() in FIGURE_SUFFIXES and p not in _SEEN),
                 key=lambda p: (p.stat().st_mtime_ns, p.name))
    images = []
    for figure in new:
        _SEEN.add(figure)
        target = pathlib.Path(next(block_vars["image_path_iterator"])).with_suffix(figure.suffix.lower())
        shutil.copyfile(figure, target)
        images.append(str(target))
    return figure_rst(images, gallery_conf["src_dir"])


# -- Sphinx ---------------------------------------------------------------------------------------


def _generate_pages(app):
    _write_if_changed(DOCS / "cli_reference.md", cli_reference())
    _write_if_changed(DOCS / "api" / "npflow.md", namespace_page())


def _clean_up(app, exception):
    if _OUT["root"] is not None:
        shutil.rmtree(_OUT["root"], ignore_errors=True)
        _OUT["root"] = None


def setup(app):
    prepare_gallery_sources()  # now: sphinx-gallery reads them when the builder starts
    app.connect("builder-inited", _generate_pages)
    app.connect("build-finished", _clean_up)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
