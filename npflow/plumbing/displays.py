"""How a run of an objective is shown, where the report and the figures of points or images do not fit it.

``npflow evaluate`` and ``npflow plot`` measure and draw a run of points (``npflow.plumbing.evaluate``,
``npflow.plumbing.plot``) or of images (``evaluate_images``, ``plot_images``). An objective
whose samples are neither (sequences of tokens) registers a ``Display`` under its name: its
own report, the line-by-line table of that report, and its own figures by ``--kind``. The
commands look the run's objective up here first (``display_of``) and never branch on its name.

A chapter registers its display in a module of its own, named in the list of displays,
``npflow.plumbing.chapter_displays``.
"""
from dataclasses import dataclass
from typing import Callable

__all__ = ["Display", "DISPLAYS", "register_display", "display_of", "figure_kinds"]


@dataclass(frozen=True)
class Display:
    """The report and the figures of the runs of one objective.

    Attributes
    ----------
    objective : str
        The registered objective's name (``npflow.models.OBJECTIVES``).
    evaluate : callable
        ``evaluate(run, args, rng) -> dict``: the report of one draw, for ``npflow evaluate``'s
        options ``args`` (``n``, ``solver_steps``, ``solver``, ``dtype``, ``quiet``), every random
        draw from ``rng``. A figure ``key`` may carry its standard error as ``<key>_stderr``, which
        ``npflow.plumbing.error_bars.over_repeats`` combines over ``--repeats``.
    format : callable
        ``format(report) -> str``: the report as a table.
    figures : dict of str to callable
        ``--kind`` -> ``draw(run, args, out) -> Figure``, or None where it wrote ``out`` itself (a GIF).
    """

    objective: str
    evaluate: Callable
    format: Callable
    figures: dict


#: objective name -> Display; filled by the modules ``npflow.plumbing.chapter_displays`` lists.
DISPLAYS = {}


def register_display(display):
    """Add a ``Display`` under its objective's name; return it. An entry never replaces another."""
    if display.objective in DISPLAYS:
        raise ValueError(f"a display of objective {display.objective!r} is registered already")
    DISPLAYS[display.objective] = display
    return display


def display_of(config):
    """The ``Display`` of the run's objective (``config.objective``), or None for a run of points or images."""
    return DISPLAYS.get(config.objective)


def figure_kinds():
    """Every ``--kind`` some registered display draws, in the order they were registered."""
    return list(dict.fromkeys(kind for display in DISPLAYS.values() for kind in display.figures))
