"""``npflow teach ...``: the course (``python -m npflow.teach``), run in an interpreter of its own.

The course sits on top of the whole package and nothing in it imports the course (the layers
of ``docs/architecture.md``), so this subcommand does not import it either: it passes its
arguments on to ``python -m npflow.teach`` and returns its exit status. That also keeps the
course's grader, which adopts and kills the processes a student's code leaves behind, out of
the ``npflow`` process.
"""
import argparse
import subprocess
import sys

from .options import command

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow teach`` and the course's own arguments, passed on untouched."""
    parser = command(commands, _teach)
    parser.add_argument("arguments", nargs=argparse.REMAINDER, metavar="...",
                        help="init | student | grade | solutions | autograder, and their options "
                             "(python -m npflow.teach --help)")


def _teach(args):
    """The course: write a course file, hand out a copy, grade it, write the solutions.

    The same as ``python -m npflow.teach ...``; ``python -m npflow.teach --help`` lists its commands.
    """
    return subprocess.call([sys.executable, "-m", "npflow.teach", *args.arguments])
