"""Progress of work on many points: ``sample: 40,320/1,000,000 points  8,310 points/s  ETA 115s`` on stderr.

A command that flows n points does it in chunks (``npflow.plumbing.chunks``), and reports
after each one. Whether to report at all is decided as soon as the chunks done have taken
``MEASURE`` seconds (after the first chunk, when it takes that long): their time, scaled to the
n points, estimates the whole work's, and only work estimated at more than ``LONG`` seconds gets
lines, so a short command still prints its one line of result. (A first chunk of 64 points
alone is a poor estimate of fast work: the cost of each call, not of each point, dominates it.)
Then a line comes at most every ``EVERY`` seconds, and one when the last chunk is done. The
rate and the ETA are those of training's progress line (``npflow.runs.progress.pace``).
"""
import time

from ..runs.progress import pace

__all__ = ["ChunkProgress", "MEASURE", "LONG", "EVERY"]

#: Seconds of work from which the whole work's time is estimated.
MEASURE = 0.25
#: Work estimated to take more seconds than this shows its progress.
LONG = 2.0
#: Seconds between two progress lines, at least.
EVERY = 1.0


class ChunkProgress:
    """Call with the number of points done after each chunk; prints a progress line when one is due.

    Parameters
    ----------
    what : str
        The work's name, first on each line (``"sample"``).
    total : int
        Points in all.
    stream : file-like or None
        Where the lines go; None for silence (``--quiet``).
    clock : callable
        Seconds, as ``time.perf_counter`` counts them.
    """

    def __init__(self, what, total, stream, clock=time.perf_counter):
        self.what, self.total, self.stream, self.clock = what, total, stream, clock
        self.start = clock()
        self.shown = None  # whether to show lines: decided at the first chunk
        self.last = None  # when the last line was printed

    def __call__(self, done):
        """Report that ``done`` points of ``total`` are done, if the work is long and a line is due."""
        now = self.clock()
        seconds = now - self.start
        if self.shown is None and (seconds >= MEASURE or done == self.total):  # total / done times as long in all
            self.shown = self.stream is not None and done < self.total and seconds * self.total / done > LONG
        due = self.last is None or now - self.last >= EVERY or done == self.total
        if self.shown and due:
            self.last = now
            print(f"{self.what}: {done:,}/{self.total:,} points  {pace(done, self.total, seconds, 'points')}",
                  file=self.stream, flush=True)
