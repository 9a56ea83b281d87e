"""``python -m npflow.teach``: write a student copy, grade one, write the solutions.

    python -m npflow.teach student OUT [--assignment N ...]       # instructors: a copy to hand out
    python -m npflow.teach grade [DIR] [--assignment N ...] [--gradescope [FILE]] [--json FILE]
    python -m npflow.teach solutions OUT [--assignment N ...]     # instructors: the answers, for TAs

In a student copy only ``grade`` is there, and it runs the public checks.
"""
import functools
import json
import os
import sys

import numpy as np

from ..cli.options import OneLineErrorParser
from ..plumbing.threads import set_blas_threads
from .course import ASSIGNMENTS, EXERCISES, exercises_of
from .grading import grade_in_copy
from .runner import run, summary, write_gradescope, write_json

try:  # the instructor's modules, which a student copy does not hold
    from .instructor import copy, grader
except ImportError:
    copy = grader = None

__all__ = ["main", "build_parser"]

#: The folder that holds the npflow this module belongs to (a copy's own folder, in a copy).
HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _instructor():
    """The instructor's modules, or None in a student copy (which does not hold them)."""
    return None if copy is None else (copy, grader)


def build_parser(instructor=True):
    parser = OneLineErrorParser(prog="python -m npflow.teach",
                                description="The npflow course: hand out assignments, and grade what comes back.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    numbers = ", ".join(str(a.number) for a in ASSIGNMENTS)
    grade = commands.add_parser("grade", help="grade a copy: each exercise in a process of its own, with a time limit")
    grade.add_argument("directory", nargs="?", metavar="DIR",
                       help="the folder holding the copy's npflow/ [this npflow: the reference, or this copy]")
    grade.add_argument("--assignment", type=int, nargs="+", metavar="N",
                       help=f"grade these assignments ({numbers}) [those handed out in the copy, or all]")
    grade.add_argument("--exercise", nargs="+", metavar="NAME", help="grade these exercises only")
    grade.add_argument("--timeout", type=float, default=20.0, help="seconds each exercise may take [20]")
    grade.add_argument("--seed", type=int, help="seed of the hidden cases, to grade again the same way [random]")
    grade.add_argument("--jobs", type=int, default=1, help="exercises checked at once [1]")
    grade.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    grade.add_argument("--gradescope", nargs="?", const="results.json", metavar="FILE",
                       help="also write Gradescope's results.json [results.json]")
    if instructor:
        for name, what in (("student", "write a student copy: exercises blanked, handouts, public checks"),
                           ("solutions", "write the solutions and the usual mistakes, for instructors")):
            command = commands.add_parser(name, help=what)
            command.add_argument("out_dir", metavar="OUT", help="folder to create")
            command.add_argument("--assignment", type=int, nargs="+", metavar="N", help=f"only these ({numbers}) [all]")
            command.add_argument("--force", action="store_true", help=f"replace OUT if it holds an earlier {name} copy")
    return parser


def _handed_out(directory):
    path = os.path.join(directory, "npflow", "teach", "handed_out.json")
    if not os.path.isfile(path):
        return None
    with open(path) as file:
        return json.load(file)["exercises"]


def _chosen(args, directory):
    """The exercises to grade: --exercise, else --assignment, else the copy's, else all."""
    if args.exercise:
        unknown = [name for name in args.exercise if name not in EXERCISES]
        if unknown:
            raise ValueError(f"unknown exercise {unknown[0]!r}; expected one of: {', '.join(EXERCISES)}")
        return [name for name in EXERCISES if name in args.exercise]
    if args.assignment:
        return exercises_of(args.assignment)
    handed_out = _handed_out(directory) if directory else None
    return [name for name in EXERCISES if name in handed_out] if handed_out else exercises_of()


def _grade(args, instructor):
    directory = args.directory or (None if instructor else HOME)
    # The instructor's grader reads only the modules of the exercises; a copy's own runs the whole package.
    needed = os.path.join("npflow", "") if instructor else os.path.join("npflow", "__init__.py")
    if directory is not None and not os.path.exists(os.path.join(directory, needed)):
        raise ValueError(f"{directory!r} holds no npflow package (no {needed})")
    if not args.timeout > 0 or args.jobs < 1 or (args.seed is not None and args.seed < 0):
        raise ValueError(f"--timeout must be > 0, --jobs >= 1 and --seed >= 0, got {args.timeout:g}, {args.jobs} "
                         f"and {args.seed}")
    for path in filter(None, (args.json, args.gradescope)):
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ValueError(f"cannot write {path!r}: its folder does not exist")
    names = _chosen(args, directory)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 10**9)
    if instructor:
        task = functools.partial(instructor[1].grade_exercise, student_dir=directory, seed=seed)
        what = f"public and hidden checks, hidden seed {seed}"
    else:
        task, what = functools.partial(grade_in_copy, directory=directory), "public checks"
    set_blas_threads(1)  # tiny arrays: one BLAS thread, and none running when a child is forked
    print(f"grading {len(names)} exercises of {directory or 'the reference npflow'} ({what}; "
          f"{args.timeout:g} s each)", flush=True)
    results = run(names, task, args.timeout, sys.stdout, args.jobs)
    print(summary(results))
    if args.json:
        write_json(args.json, results, seed)
    if args.gradescope:
        write_gradescope(args.gradescope, results, seed)
        print(f"Gradescope results written to {args.gradescope}")
    return 0 if all(result.passed for result in results) else 1


def main(argv=None):
    instructor = _instructor()
    args = build_parser(instructor is not None).parse_args(argv)
    try:
        if args.command == "grade":
            return _grade(args, instructor)
        copy = instructor[0]
        if args.command == "student":
            names = copy.write_student_copy(args.out_dir, args.assignment, force=args.force)
            print(f"student copy written to {args.out_dir} with {len(names)} exercises blanked: {', '.join(names)}\n"
                  f"handouts in {os.path.join(args.out_dir, 'handouts')}; grade it with: "
                  f"python -m npflow.teach grade {args.out_dir}")
        else:
            names = copy.write_solutions(args.out_dir, args.assignment, force=args.force)
            print(f"solutions to {len(names)} exercises written to {os.path.join(args.out_dir, 'solutions')}")
        return 0
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"npflow.teach: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
