"""Ctrl-C between two training steps, so that training stops in a whole state that can be resumed."""
import signal
import threading
from contextlib import contextmanager

__all__ = ["interrupts_between_steps"]


@contextmanager
def interrupts_between_steps():
    """Hold Ctrl-C (SIGINT) until the current step has ended, so training stops in a whole state.

    Yields a function that tells whether Ctrl-C was pressed. A second Ctrl-C interrupts at once.
    Signal handlers can only be set in the main thread; elsewhere Ctrl-C is left as it is.
    On leaving, the handler that was there before is put back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pressed = []

    def handler(signum, frame):
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
