"""How each exercise is checked: its cases, its call, and the oracles it must satisfy (``CHECKS``).

A ``Check`` (``npflow.teach.checks``) draws a case, a dict of plain inputs, and calls the
exercise's function in a package on it. Nothing here computes an answer: what the function
should give comes from the reference code (the instructor's grader) or from the values the
reference gave on the public cases (stored in a student copy). ``basics`` holds chapters 1 to 3,
``further`` chapters 4 to 8, ``discrete`` chapter 9, and ``common`` what they share.
"""
from . import basics, discrete, further
from .further import check_meanflow_target

__all__ = ["CHECKS", "check_meanflow_target"]

#: The check of each exercise, by name.
CHECKS = {**basics.CHECKS, **further.CHECKS, **discrete.CHECKS}
