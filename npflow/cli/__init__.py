"""The ``npflow`` command line: ``train``, ``reflow``, ``sample``, ``logprob``, ``evaluate``, ``plot``, ``export``,
``demo`` and ``teach`` (the course, run as ``python -m npflow.teach``), a module each (its options, beside the
handler that runs it).

Bad input gets one line on stderr that names the value and what was expected, and exit
status 2; nothing is written. So does a request too large for this machine's memory, and an
``--out`` that would overwrite a run's own files or the command's input. A write the system
refuses (a read-only folder, a full disk) is one line naming the file, and exit status 1.
Ctrl-C exits with 130 and leaves no half-written output; during training it first saves a
checkpoint to resume from. A diverging training run exits with 1.

A command that trains holds the run's lock (``npflow.plumbing.lock``), so a second writer is
refused, and records in the run how training ended (``npflow.plumbing.status``); a command
that reads a run says in one line on stderr when the run is not a finished one.
"""
import os
import sys

from ..version import __version__
from ..plumbing import memory, threads
from ..plumbing.io import RunError
from . import demo, evaluate, export, logprob, plot, reflow, sample, teach, train
from .options import OneLineErrorParser

__all__ = ["build_parser", "main"]

#: The sub-commands, in the order ``npflow --help`` lists them.
COMMANDS = (train, reflow, sample, logprob, evaluate, plot, export, demo, teach)


def build_parser():
    """The ``npflow`` parser: one sub-command per module of ``COMMANDS``, each adding its own options."""
    parser = OneLineErrorParser(prog="npflow", description="Flow matching in NumPy: train a vector field, sample "
                                                           "from it, and see every step. Noise is at t=0, data at t=1.")
    parser.add_argument("--version", action="version", version=f"npflow {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser, required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def _one_line(error):
    """An error the system raised, in one line: a path and its cause (an OSError), or its type and message."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename!r}: {error.strerror}"
    if isinstance(error, MemoryError):
        return f"out of memory ({error or 'a NumPy array did not fit'}); ask for less"
    text = str(error).splitlines()[0] if str(error) else ""
    return text if isinstance(error, OSError) else f"{type(error).__name__}: {text}".rstrip(": ")


def main(argv=None):
    """Run the CLI; returns the exit status (0 ok, 1 training diverged or the system refused, 2 bad input,
    130 interrupted)."""
    if memory.wanted():
        memory.keep_freed_memory()  # fewer page faults for large temporary arrays; see npflow/plumbing/memory.py

    args = build_parser().parse_args(argv)
    try:
        threads.use_threads(threads.command_work(vars(args)))  # BLAS threads by the work's size; see threads.py
        return args.handler(args) or 0
    except (RunError, ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"npflow {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (npflow evaluate RUN | head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 0
    except (OSError, MemoryError, NotImplementedError) as error:  # the system refused, or a student's blank
        print(f"npflow {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"npflow {args.command}: interrupted; no file was left half-written", file=sys.stderr)
        return 130
