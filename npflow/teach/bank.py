"""A bank of cases: the inputs of an exercise, the values it must give, and what the usual mistakes give.

The grader judges a student's values against a bank. Grading with the reference at hand (the
instructor's ``grade``), the bank is drawn at grading time from a seed and the reference gives
the expected values. The Gradescope autograder ships a bank computed when its zip is built
(``save_bank``), so that it holds values, never the reference's code; it also holds what each
usual mistake gives on each case, so that a hint needs no mistake's code either.
"""
from dataclasses import dataclass, field

from . import exchange
from .checks import Outcome, compare

__all__ = ["Entry", "save_bank", "load_bank", "explain_from_bank"]


@dataclass
class Entry:
    """One case of an exercise: its label, its inputs, the expected outcome, and (hint, outcome) of usual mistakes.

    ``public`` says the case is one of the copy's public cases, whose inputs and values a student has.
    """

    label: str
    case: dict
    expected: Outcome
    mistakes: list = field(default_factory=list)
    public: bool = False


def save_bank(path, bank, seed):
    """Write ``bank`` ({exercise: [Entry]}) and the seed it was drawn from to ``path`` (``.npz``)."""
    table = {name: [{"label": e.label, "case": e.case, "expected": exchange.encode_outcome(e.expected),
                     "mistakes": [[hint, exchange.encode_outcome(got)] for hint, got in e.mistakes],
                     "public": e.public} for e in entries] for name, entries in bank.items()}
    exchange.save(path, {"seed": seed, "bank": table})


def load_bank(path):
    """Read a bank written by ``save_bank``: ``({exercise: [Entry]}, seed)``."""
    data = exchange.load(path)
    bank = {name: [Entry(e["label"], e["case"], exchange.decode_outcome(e["expected"], Outcome),
                         [(hint, exchange.decode_outcome(got, Outcome)) for hint, got in e["mistakes"]], e["public"])
                   for e in entries] for name, entries in data["bank"].items()}
    return bank, data["seed"]


def explain_from_bank(name, entry, got):
    """The hint of the first usual mistake whose stored outcome on ``entry`` is ``got``; None if none is."""
    return next((hint for hint, outcome in entry.mistakes if compare(outcome, got) is None), None)
