"""Runs: a recipe (``config``), the state of training (``run``), the loop that trains it (``loop``), and reflow.

The loop reaches the rest of the tool only through narrow hooks (a callback, a checkpoint, the
progress line and Ctrl-C held between steps); what a run learns is its objective's to say
(``npflow.models``).
"""
