"""Training's progress line: 'step, loss, steps/s, ETA', printed every few steps and at the end."""
import time

__all__ = ["Progress", "pace"]


def pace(done, total, seconds, unit):
    """``2,917 steps/s  ETA 3s``: the rate of ``done`` units in ``seconds``, and the time the rest of ``total`` takes.

    Examples
    --------
    >>> pace(300, 1000, 2.0, "points")
    '150 points/s  ETA 5s'
    """
    rate = done / max(seconds, 1e-9)
    return f"{rate:,.0f} {unit}/s  ETA {(total - done) / rate:.0f}s"


class Progress:
    """Prints ``step 1000/10000  loss 4.3056  2,917 steps/s  ETA 3s`` every ``every`` steps and at the end.

    Parameters
    ----------
    first : int
        The step training starts from (0, or where a resumed run stopped): the rate counts from it.
    total : int
        The step training ends at.
    every : int
        Print every this many steps; 0 for never.
    stream : file-like or None
        Where the lines go; None for silence.
    """

    def __init__(self, first, total, every, stream):
        self.first, self.total, self.every, self.stream = first, total, every, stream
        self.start = time.perf_counter()

    def __call__(self, step, loss, extra=""):
        """Report step ``step`` (from 0) with its loss, and ``extra`` text after the loss, if this step is due."""
        done = step + 1
        if self.stream is None or not self.every or (done % self.every and done != self.total):
            return
        rate_and_eta = pace(done - self.first, self.total - self.first, time.perf_counter() - self.start, "steps")
        width = len(str(self.total))
        print(f"step {done:>{width}}/{self.total}  loss {loss:.4f}{extra}  {rate_and_eta}", file=self.stream,
              flush=True)
