"""The display of a discrete run (``npflow.plumbing.displays``): its report (``tokens``) and its figures
(``plot_tokens``), registered for objective ``discrete``."""
from .displays import Display, register_display
from .plot_tokens import FIGURES
from .tokens import evaluate_display, format_tokens

__all__ = ["TOKENS_DISPLAY"]

TOKENS_DISPLAY = register_display(Display("discrete", evaluate_display, format_tokens, FIGURES))
