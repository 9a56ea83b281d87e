import numpy as np

from ..core.checks import check_points
from ..core.solvers import Trajectory

__all__ = ["JUMPS", "meanflow_sample", "sample_by_jumps"]

#: The sampler's name where a solver is named (``Trajectory.method``, ``npflow sample --solver``).
JUMPS = "meanflow"


def meanflow_sample(u, x_0, steps=1):
    """Jump from noise to data in ``steps`` equal steps: ``x_{i+1} = x_i + (t_{i+1} - t_i) u(t_i, t_{i+1}, x_i)``.

    Parameters
    ----------
    u : callable
        An average velocity ``u(s, t, x)``, s <= t floats, x of shape (n, d); e.g.
        ``lambda s, t, x: average_velocity(params, s, t, x)`` or ``exact_average_velocity(gmm)``.
    x_0 : ndarray, shape (n, d)
        Noise at t = 0.
    steps : int
        k >= 1; one step is x_1 = x_0 + u(0, 1, x_0).

    Returns
    -------
    Trajectory
        ``.t`` the grid t_i = i / k, shape (k + 1,); ``.x`` shape (k + 1, n, d); ``.nfe`` = k.

    Examples
    --------
    >>> def u(s, t, x):   # the exact average velocity of dx/dt = -x: x (exp(-(t - s)) - 1) / (t - s)
    ...     return x * np.expm1(-(t - s)) / (t - s)
    >>> traj = meanflow_sample(u, np.ones((1, 1)), steps=3)
    >>> traj.t.tolist(), traj.nfe, bool(np.isclose(traj.x[-1, 0, 0], np.exp(-1.0)))
    ([0.0, 0.3333333333333333, 0.6666666666666666, 1.0], 3, True)
    """
    if not (isinstance(steps, (int, np.integer)) and steps > 0):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    x_0 = check_points(x_0, "x_0")
    times = np.linspace(0.0, 1.0, steps + 1).tolist()  # Python floats, so float32 points stay float32
    points = [x_0]
    for s, t in zip(times[:-1], times[1:]):
        points.append(points[-1] + (t - s) * u(s, t, points[-1]))
    return Trajectory(t=np.array(times), x=np.stack(points), nfe=steps, method=JUMPS)


def sample_by_jumps(u, x_0, solver=None, steps=100):
    """``meanflow_sample(u, x_0, steps)``, for a caller that names a solver: ``npflow.Run.sample``, the CLI.

    A MeanFlow run samples one way, by its jumps; ``solver`` must be ``"meanflow"`` or None.
    An ODE solver is refused rather than run on ``instantaneous_velocity``: that would sample
    another model than the one the run's figures (``npflow evaluate``) describe.

    Parameters
    ----------
    u : callable
        The run's average velocity ``u(s, t, x)`` (``npflow.Run.average_velocity``).
    x_0 : ndarray, shape (n, d)
        Noise at t = 0.
    solver : str or None
    steps : int
        k >= 1 jumps.

    Returns
    -------
    Trajectory
        As ``meanflow_sample``'s.

    Raises
    ------
    ValueError
        For any other solver, one line naming it.
    """
    if solver not in (None, JUMPS):
        raise ValueError(f"a MeanFlow run samples only by K jumps of its average velocity (solver {JUMPS} or none, "
                         f"K steps), not by an ODE solver; got solver {solver!r}")
    return meanflow_sample(u, x_0, steps)
