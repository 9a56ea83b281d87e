"""The instructor's banks: cases drawn from a seed with the reference's values, and what grading keeps secret.

``draw_bank`` gives each exercise its hidden cases (the first ``hidden_cases`` of
``grader.hidden_cases``, smallest first) and its public ones, each with the outcome the
reference gives; with ``mistakes`` it also stores what each usual mistake of the catalogue
gives, as the autograder's bank must (it ships values, not the catalogue's code).
"""
import sys

from ..bank import Entry
from ..cases import CHECKS
from ..checks import outcome
from ..course import EXERCISES
from ..grading import public_cases
from ..markers import normalise
from .copy import answers
from .grader import explainer, hidden_cases, mistake_package
from .mistakes import CATALOGUE

__all__ = ["draw_bank", "explain_from_catalogue", "secret_lines"]

_SHORTEST_SECRET = 8  # shorter lines (``else:``, ``return x``) are everyone's, not the reference's


def _entries(name, seed, settings, mistakes):
    reference, check = sys.modules[__name__.split(".")[0]], CHECKS[name]  # the npflow this module belongs to
    hidden = hidden_cases(name, seed, reference)[:settings.hidden_cases]
    entries = [Entry(label, case, outcome(reference, check, case)) for label, case, _ in hidden]
    entries += [Entry(label, case, outcome(reference, check, case), public=True) for label, case in public_cases(name)]
    if mistakes:
        for entry in entries:
            entry.mistakes = [(m.hint, outcome(mistake_package(name, m.code), check, entry.case))
                              for m in CATALOGUE.get(name, ())]
    return entries


def draw_bank(names, seed, course, mistakes=False):
    """{exercise: [Entry]} for ``names``, drawn from ``seed`` with the ``course``'s number of hidden cases."""
    return {name: _entries(name, seed, course.settings[name], mistakes) for name in names}


def explain_from_catalogue(name, entry, got):
    """The hint of the first usual mistake of ``name`` that gives ``got`` on ``entry``'s case (run here)."""
    return explainer(name)(entry.case, got)


def secret_lines():
    """The normalised lines no output may hold: every exercise's reference lines and the catalogue's code."""
    lines = set(answers(list(EXERCISES)))
    lines |= {normalise(line) for mistakes in CATALOGUE.values() for m in mistakes for line in m.code.splitlines()}
    return frozenset(line for line in lines if len(line) >= _SHORTEST_SECRET)
