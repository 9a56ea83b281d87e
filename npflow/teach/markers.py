"""Exercise blocks in source text: find them, blank them, and splice a student's answer in.

In the package source an exercise is a block of lines::

    # >>> exercise NAME: HINT
    ...the reference solution...
    # <<< exercise

A student copy keeps the two marker lines and replaces what is between them by one line,
``raise NotImplementedError("exercise NAME: HINT")``. The student writes between the markers;
the grader takes exactly those lines (nothing else of the student's file) and splices them
into the reference module in place of the reference's own, so that every other exercise runs
on reference code. One name may mark several blocks (in one file or several); they are
matched in order.
"""
import re
from dataclasses import dataclass

__all__ = ["Block", "MissingBlocks", "find_blocks", "blank", "strip_exercises", "splice", "normalise",
           "answer_lines"]

# An exercise name is lower case (so the NAME in the docstring above is not one).
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)# >>> exercise (?P<name>[a-z0-9_]+): (?P<hint>.*?)\n"
                    r"(?P<body>.*?)^[ \t]*# <<< exercise\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One exercise block of a source text.

    Attributes
    ----------
    name, hint, indent : str
    body : str
        The lines between the markers, each ending in a newline.
    start, end : int
        Offsets of the whole block, markers included, in the source.
    line : int
        Line number (from 1) of the body's first line.
    """

    name: str
    hint: str
    indent: str
    body: str
    start: int
    end: int
    line: int


class MissingBlocks(ValueError):
    """A student's module does not hold the markers of an exercise the reference has."""


def find_blocks(source):
    """Every exercise block of ``source``, in order: a list of ``Block``."""
    return [Block(m["name"], m["hint"], m["indent"], m["body"], m.start(), m.end(),
                  source.count("\n", 0, m.start("body")) + 1) for m in _BLOCK.finditer(source)]


def _stub(block):
    message = f"exercise {block.name}: {block.hint}"
    return (f"{block.indent}# >>> exercise {block.name}: {block.hint}\n"
            f"{block.indent}raise NotImplementedError({message!r})\n"
            f"{block.indent}# <<< exercise\n")


def blank(source, names=None):
    """Blank the exercises ``names`` (all when None): each keeps its markers around a stub.

    The blocks of other exercises keep their code and lose their markers, so an exercise that
    was not handed out cannot be graded from this copy.

    Returns
    -------
    text : str
    blanked : list of str
        The names blanked, in order (a name marking two blocks appears twice).
    """
    pieces, blanked, at = [], [], 0
    for block in find_blocks(source):
        pieces.append(source[at:block.start])
        if names is None or block.name in names:
            pieces.append(_stub(block))
            blanked.append(block.name)
        else:
            pieces.append(block.body)
        at = block.end
    pieces.append(source[at:])
    return "".join(pieces), blanked


def strip_exercises(source):
    """Blank every exercise of a module's source; returns ``(text, names)`` as ``blank`` does."""
    return blank(source)


def _reindent(body, old, new):
    """``body``'s lines moved from the marker indentation ``old`` to ``new``."""
    lines = body.splitlines(keepends=True)
    return "".join(new + line[len(old):] if line.startswith(old) and line.strip() else line for line in lines)


def splice(reference, student, name):
    """The reference source with the student's blocks of exercise ``name`` in place of its own.

    Parameters
    ----------
    reference, student : str
        The two versions of one module.
    name : str

    Returns
    -------
    text : str
    lines : dict of int to int
        For each line of ``text`` that came from the student, its line number in ``student``.

    Raises
    ------
    MissingBlocks
        If ``student`` does not hold as many blocks of ``name`` as ``reference``.
    """
    ours = [block for block in find_blocks(reference) if block.name == name]
    theirs = [block for block in find_blocks(student) if block.name == name]
    if len(theirs) != len(ours):
        raise MissingBlocks(f"expected {len(ours)} block(s) of exercise {name} between '# >>> exercise {name}: ...' "
                            f"and '# <<< exercise', found {len(theirs)}: keep the marker lines and write between them")
    pieces, lines, at = [], {}, 0
    for mine, answer in zip(ours, theirs):
        pieces.append(reference[at:mine.start])
        first = "".join(pieces).count("\n") + 2  # the line after the opening marker
        body = _reindent(answer.body, answer.indent, mine.indent)
        lines.update({first + i: answer.line + i for i in range(body.count("\n"))})
        pieces.append(f"{mine.indent}# >>> exercise {name}: {mine.hint}\n{body}{mine.indent}# <<< exercise\n")
        at = mine.end
    pieces.append(reference[at:])
    return "".join(pieces), lines


def normalise(line):
    """A line with its runs of whitespace made one space, and stripped."""
    return " ".join(line.split())


def answer_lines(source, name):
    """The normalised non-empty lines of the blocks of ``name`` in ``source``: what a copy must not hold."""
    return [normalise(line) for block in find_blocks(source) if block.name == name
            for line in block.body.splitlines() if line.strip()]
