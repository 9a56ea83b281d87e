"""The npflow course: assignments a teacher can hand out, and a grader for what comes back.

    python -m npflow.teach student OUT [--assignment N ...]   # a copy with the exercises blanked, and handouts
    python -m npflow.teach grade [DIR] [--gradescope]         # grade it: each exercise in its own process
    python -m npflow.teach solutions OUT                      # the answers and the usual mistakes, for TAs
    python -m npflow.teach autograder OUT.zip                 # a Gradescope autograder: no reference in it

**The marker convention.** In the package source an exercise is a block of lines between
``# >>> exercise NAME: HINT`` and ``# <<< exercise`` (``markers``). A student copy keeps the
markers around a ``NotImplementedError`` stub; the student writes between them.

**The modules.** ``course``: the nine assignments, their exercises and points. ``cases``: how
each exercise is checked (its cases, its call, its public oracles). ``checks``: comparing an
outcome with the expected one, with messages. ``grading``: one exercise's public and hidden
checks. ``runner``: the copy's own check, a process per exercise; JSON and Gradescope output.
``config``: the course file. ``tree``, ``sandbox``, ``reaper``, ``exchange``, ``child``, ``judge``,
``bank``, ``session``: grading in the sandbox (``docs/teaching.md`` states what it defends).
``commands``: the command line.
``packages``: loading a copy of npflow under a name of its own. ``instructor/`` (not in a
student copy): the hidden cases and the reference, the catalogue of mistakes, the copy writer,
the handouts and the Gradescope autograder's builder.
"""
from .cases import check_meanflow_target
from .course import ASSIGNMENTS, EXERCISES
from .markers import strip_exercises

__all__ = ["ASSIGNMENTS", "EXERCISES", "strip_exercises", "check_meanflow_target"]
