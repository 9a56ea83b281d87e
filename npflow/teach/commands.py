"""The course's command line: its parser, and ``grade`` in its three forms.

- In a student copy, without ``--bank``: the copy's own public checks, a process per exercise
  (``runner.run``): the student's check of their own work, which trusts the copy.
- With the instructor's modules: the submission's blocks in a graded copy, each exercise in
  the sandbox, judged against cases drawn now from the reference (``instructor.banks``).
- With ``--bank FILE``: the same sandbox, judged against a bank saved earlier
  (``npflow.teach.bank.save_bank``), with no reference at hand.
"""
import functools
import json
import os
import sys
import tempfile

import numpy as np

from ..cli.options import OneLineErrorParser
from ..plumbing.threads import set_blas_threads
from .bank import explain_from_bank, load_bank
from .config import read_course
from .course import ASSIGNMENTS, EXERCISES, exercises_of, with_depends
from .grading import grade_in_copy
from .runner import run, summary, write_gradescope, write_json
from .sandbox import student_user
from .session import grade_all
from .tree import find_submission, graded_tree

try:  # the instructor's modules, which a student copy does not hold
    from .instructor import banks, copy
except ImportError:
    banks = copy = None

__all__ = ["build_parser", "grade_command", "HOME"]

#: The folder that holds the npflow this module belongs to (a copy's own folder, in a copy).
HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _add_grade(commands, numbers):
    grade = commands.add_parser("grade", help="grade a copy: each exercise in a process of its own, with limits")
    grade.add_argument("directory", nargs="?", metavar="DIR",
                       help="the folder holding the copy's npflow/ [this npflow: the reference, or this copy]")
    grade.add_argument("--course", metavar="FILE", help="the course file (npflow teach init) [course.py's defaults]")
    grade.add_argument("--assignment", type=int, nargs="+", metavar="N",
                       help=f"grade these assignments ({numbers}) [the course's]")
    grade.add_argument("--exercise", nargs="+", metavar="NAME", help="grade these exercises only")
    grade.add_argument("--timeout", type=float, help="seconds each exercise may take [the course's: 20]")
    grade.add_argument("--seed", type=int, help="seed of the hidden cases, to grade again the same way [random]")
    grade.add_argument("--jobs", type=int, default=1, help="exercises graded at once, each in a process of its own [1]")
    grade.add_argument("--bank", metavar="FILE", help="grade against this saved bank of cases, without the reference")
    grade.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    grade.add_argument("--gradescope", nargs="?", const="results.json", metavar="FILE",
                       help="also write Gradescope's results.json [results.json]")


def build_parser(instructor=True):
    """The parser of ``python -m npflow.teach``; a student copy's has ``grade`` alone."""
    parser = OneLineErrorParser(prog="npflow teach",
                                description="The npflow course: hand out assignments, and grade what comes back.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    numbers = ", ".join(str(a.number) for a in ASSIGNMENTS)
    _add_grade(commands, numbers)
    if not instructor:
        return parser
    init = commands.add_parser("init", help="write the course file, with the defaults")
    init.add_argument("file", metavar="FILE", help="the course file to write (TOML)")
    init.add_argument("--force", action="store_true", help="replace FILE")
    for name, what in (("student", "write a student copy: exercises blanked, handouts, public checks"),
                       ("solutions", "write the solutions and the usual mistakes, for instructors")):
        command = commands.add_parser(name, help=what)
        command.add_argument("out_dir", metavar="OUT", help="folder to create")
        command.add_argument("--course", metavar="FILE", help="the course file [course.py's defaults]")
        command.add_argument("--assignment", type=int, nargs="+", metavar="N", help=f"only these ({numbers})")
        command.add_argument("--force", action="store_true", help=f"replace OUT if it holds an earlier {name} copy")
    autograder = commands.add_parser("autograder", help="write a Gradescope autograder: a zip of setup.sh, "
                                                        "run_autograder, a blank copy and a bank of cases")
    autograder.add_argument("out", metavar="OUT.zip", help="the zip to write")
    autograder.add_argument("--course", metavar="FILE", help="the course file [course.py's defaults]")
    autograder.add_argument("--assignment", type=int, nargs="+", metavar="N", help=f"only these ({numbers})")
    autograder.add_argument("--seed", type=int, help="seed of the bank's hidden cases [random]")
    autograder.add_argument("--force", action="store_true", help="replace OUT.zip")
    return parser


def _chosen(args, course, directory, trusted):
    """The exercises to grade: --exercise, else --assignment, else the course's; a copy's own check may read
    its ``handed_out.json``, which grading never does."""
    if args.exercise:
        unknown = [name for name in args.exercise if name not in EXERCISES]
        if unknown:
            raise ValueError(f"unknown exercise {unknown[0]!r}; expected one of: {', '.join(EXERCISES)}")
        return [name for name in EXERCISES if name in args.exercise]
    if args.assignment:
        return exercises_of(args.assignment)
    path = os.path.join(directory or HOME, "npflow", "teach", "handed_out.json")
    if not trusted and os.path.isfile(path):
        with open(path) as file:
            handed_out = json.load(file)["exercises"]
        return [name for name in EXERCISES if name in handed_out]
    return course.exercises


def _check_args(args):
    if (args.timeout is not None and not args.timeout > 0) or args.jobs < 1 or (args.seed is not None and args.seed < 0):
        raise ValueError(f"--timeout must be > 0, --jobs >= 1 and --seed >= 0, got {args.timeout}, {args.jobs} "
                         f"and {args.seed}")
    for path in filter(None, (args.json, args.gradescope)):
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ValueError(f"cannot write {path!r}: its folder does not exist")


def _sandboxed(args, course, names, seed, instructor):
    """Grade ``names`` of the submission in the sandbox; the results once no student process is left."""
    submission = find_submission(args.directory) if args.directory else HOME
    user = student_user()
    if user is None:
        print(f"note: the student's code runs as this account (uid {os.getuid()}); run as root with a user "
              "npflow-student (the autograder's setup.sh makes one) to keep it from this account's files", flush=True)
    with tempfile.TemporaryDirectory(prefix="npflow-graded-") as tmp:
        os.chmod(tmp, 0o755)
        if args.bank:
            bank, seed = load_bank(args.bank)
            base, explain, secrets = HOME, explain_from_bank, ()
            names = [name for name in names if name in bank]
        else:
            base = os.path.join(tmp, "base")
            copy.write_blank_package(os.path.join(base, "npflow"), course.exercises)
            bank, explain, secrets = banks.draw_bank(names, seed, course), banks.explain_from_catalogue, banks.secret_lines()
        tree = graded_tree(base, submission, with_depends(names, course.exercises), os.path.join(tmp, "tree"))
        what = f"hidden seed {seed}" if not args.bank else f"the bank of {args.bank}"
        print(f"grading {len(names)} exercises of {args.directory or 'the reference npflow'} "
              f"(public and hidden cases, {what}), each in a sandbox", flush=True)
        return grade_all(names, tree, bank, course, sys.stdout, user, explain, secrets, args.jobs), seed


def grade_command(args, instructor):
    """``grade``: check, grade and write the results; exit status 0 only when every exercise passed."""
    _check_args(args)
    course = read_course(args.course)
    if args.timeout is not None:
        course = course.with_timeout(args.timeout)
    directory = args.directory
    if directory is not None and not os.path.isdir(directory):
        raise ValueError(f"{directory!r} holds no npflow package (it is not a folder)")
    sandboxed = instructor or args.bank
    names = _chosen(args, course, directory, sandboxed)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 10**9)
    set_blas_threads(1)  # tiny arrays: one BLAS thread, and none running when a child starts
    if sandboxed:
        results, seed = _sandboxed(args, course, names, seed, instructor)
    else:
        if directory is not None and not os.path.isfile(os.path.join(directory, "npflow", "__init__.py")):
            raise ValueError(f"{directory!r} holds no npflow package (no npflow/__init__.py)")
        timeout = course.settings[names[0]].limits.timeout if names else 20.0
        print(f"grading {len(names)} exercises of {directory or 'this copy'} (public checks; {timeout:g} s each)",
              flush=True)
        task = functools.partial(grade_in_copy, directory=directory or HOME)
        results = run(names, task, timeout, sys.stdout, args.jobs)
    print(summary(results))
    if args.json:
        write_json(args.json, results, seed)
    if args.gradescope:
        write_gradescope(args.gradescope, results, seed, course)
        print(f"Gradescope results written to {args.gradescope}")
    return 0 if all(result.passed for result in results) else 1
