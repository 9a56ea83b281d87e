"""``python -m npflow.teach`` (and ``npflow teach``): a course file, a student copy, grading, solutions, an autograder.

    python -m npflow.teach init course.toml                       # instructors: the course file, with the defaults
    python -m npflow.teach student OUT [--course FILE]            # instructors: a copy to hand out
    python -m npflow.teach grade [DIR] [--course FILE] [--gradescope [FILE]] [--json FILE]
    python -m npflow.teach solutions OUT [--course FILE]          # instructors: the answers, for TAs
    python -m npflow.teach autograder OUT.zip [--course FILE]     # instructors: a Gradescope autograder

In a student copy, ``grade`` runs the public checks (and, with ``--bank``, grades against a bank
in the sandbox, as the autograder does).
"""
import os
import sys

from .commands import build_parser, grade_command
from .config import course_text, read_course

try:  # the instructor's modules, which a student copy does not hold
    from .instructor import autograder, copy
except ImportError:
    autograder = copy = None

__all__ = ["main", "build_parser"]


def _instructor_command(args):
    if args.command == "init":
        if os.path.exists(args.file) and not args.force:
            raise FileExistsError(f"{args.file!r} already exists (--force to replace it)")
        with open(args.file, "w") as file:
            file.write(course_text())
        print(f"course file written to {args.file}: edit it, then pass --course {args.file}")
        return 0
    if args.command == "autograder":
        names, seed = autograder.build_autograder(args.out, args.course, args.assignment, args.seed, args.force)
        print(f"autograder written to {args.out}: {len(names)} exercises, hidden cases drawn with seed {seed}; "
              "upload it on Gradescope (Configure Autograder, Zip file upload)")
        return 0
    course = read_course(args.course)
    numbers = args.assignment or list(course.assignments)
    if args.command == "student":
        names = copy.write_student_copy(args.out_dir, numbers, force=args.force, course=course)
        print(f"student copy written to {args.out_dir} with {len(names)} exercises blanked: {', '.join(names)}\n"
              f"handouts in {os.path.join(args.out_dir, 'handouts')}; grade it with: "
              f"npflow teach grade {args.out_dir}")
    else:
        names = copy.write_solutions(args.out_dir, numbers, force=args.force, course=course)
        print(f"solutions to {len(names)} exercises written to {os.path.join(args.out_dir, 'solutions')}")
    return 0


def main(argv=None):
    """Run the course's command line; returns the exit status (0 all passed or done, 1 not all passed, 2 bad input)."""
    instructor = copy is not None
    args = build_parser(instructor).parse_args(argv)
    try:
        if args.command == "grade":
            return grade_command(args, instructor)
        return _instructor_command(args)
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"npflow.teach: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
