"""The list of displays (``npflow.plumbing.displays``): the imports below, each a module that registers its own.

A chapter whose runs are shown otherwise than as points or images adds one module and one name
here; ``npflow evaluate`` and ``npflow plot`` import this list, and change for no chapter.
"""
from . import tokens_display
from .displays import DISPLAYS, Display, display_of, figure_kinds, register_display

__all__ = ["tokens_display", "DISPLAYS", "Display", "display_of", "figure_kinds", "register_display"]
