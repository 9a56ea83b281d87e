"""ODE solvers for dx/dt = f(t, x): hand-written fixed-step methods and scipy's adaptive ones.

Every vector field in npflow has the signature ``f(t, x)``, with ``t`` a float and ``x`` a batch
of points of shape (n, d); it returns dx/dt of shape (n, d). That is scipy's ``fun(t, y)``
convention, so one field serves both kinds of solver.

The fixed-step methods take ``steps`` equal steps of size h = (t_1 - t_0) / steps and use
1, 2, 2 and 4 evaluations of f per step. Their global error shrinks like h^p with
p = 1 (Euler), 2 (midpoint, Heun) and 4 (RK4).

The adaptive methods are scipy's ``OdeSolver`` classes (RK45, RK23, DOP853, Radau, BDF,
LSODA), driven one accepted step at a time exactly as ``scipy.integrate.solve_ivp`` drives
them, so ``integrate`` returns the same points as ``solve_ivp`` does. The batch is flattened
into one state vector of length n * d. The points do not interact, so the Jacobian of that big
system is block diagonal with d x d blocks; the implicit methods are told so, and their
finite-difference Jacobians then cost d evaluations of f instead of n * d.

Time may run either way: t_1 < t_0 integrates backward (the reverse ODE, data to noise).
"""
from dataclasses import dataclass

import numpy as np

from .checks import check_points

__all__ = [
    "FIXED_STEP_METHODS", "SCIPY_METHODS", "METHODS", "Step", "Trajectory",
    "euler_step", "midpoint_step", "heun_step", "rk4_stages", "rk4_step", "iterate", "integrate",
]


def euler_step(f, t, x, h):
    """Euler: x_next = x + h * f(t, x). Order 1, one evaluation."""
    # >>> exercise euler_step: one step along the slope at the start: x_next = x + h f(t, x)
    return x + h * f(t, x)
    # <<< exercise


def midpoint_step(f, t, x, h):
    """Explicit midpoint: x_next = x + h * f(t + h/2, x + h/2 * f(t, x)). Order 2, two evaluations."""
    # >>> exercise midpoint_step: half a step along f(t, x) to the midpoint, then the whole step along the slope there
    return x + h * f(t + h / 2, x + h / 2 * f(t, x))
    # <<< exercise


def heun_step(f, t, x, h):
    """Heun (explicit trapezoid): average the slope at both ends. Order 2, two evaluations.

    k1 = f(t, x), k2 = f(t + h, x + h * k1), x_next = x + h/2 * (k1 + k2).
    """
    k1 = f(t, x)
    k2 = f(t + h, x + h * k1)
    return x + h / 2 * (k1 + k2)


def rk4_stages(f, t, x, h):
    """The four slopes of the classic Runge-Kutta method, for a caller who wants to see them.

    Returns
    -------
    k1, k2, k3, k4 : ndarray, each shaped like x
        Slopes at the start, twice at the midpoint, and at the end of the step.
    """
    k1 = f(t, x)
    # >>> exercise rk4_step: given k1, the slope at the start: twice at the midpoint (each from the last), then at the end
    k2 = f(t + h / 2, x + h / 2 * k1)
    k3 = f(t + h / 2, x + h / 2 * k2)
    k4 = f(t + h, x + h * k3)
    return k1, k2, k3, k4
    # <<< exercise


def rk4_step(f, t, x, h):
    """Classic RK4: x_next = x + h/6 * (k1 + 2 k2 + 2 k3 + k4). Order 4, four evaluations."""
    k1, k2, k3, k4 = rk4_stages(f, t, x, h)
    return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


#: Hand-written fixed-step methods: name -> step function ``step(f, t, x, h) -> x_next``.
FIXED_STEP_METHODS = {"euler": euler_step, "midpoint": midpoint_step, "heun": heun_step, "rk4": rk4_step}
#: scipy.integrate's adaptive methods, by the names ``solve_ivp`` takes.
SCIPY_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
METHODS = (*FIXED_STEP_METHODS, *SCIPY_METHODS)


@dataclass(frozen=True)
class Step:
    """One point of a solve, as ``iterate`` yields it.

    Attributes
    ----------
    index : int
        0 for the start, then 1, 2, ...
    t : float
    x : ndarray, shape (n, d)
    nfe : int
        Evaluations of f so far.
    """

    index: int
    t: float
    x: np.ndarray
    nfe: int


@dataclass(frozen=True)
class Trajectory:
    """The result of ``integrate``.

    Attributes
    ----------
    t : ndarray, shape (k,)
        Times of the recorded points, t[0] = t_0 and t[-1] = t_1.
    x : ndarray, shape (k, n, d)
        The points at those times; x[0] is the start and x[-1] the end.
    nfe : int
        Number of evaluations of f.
    method : str
    """

    t: np.ndarray
    x: np.ndarray
    nfe: int
    method: str


class _CountedField:
    """Wraps f(t, x) to count its calls and check the shape of what it returns."""

    def __init__(self, f):
        self.f = f
        self.nfe = 0

    def __call__(self, t, x):
        self.nfe += 1
        dx = self.f(t, x)
        if np.shape(dx) != np.shape(x):
            raise ValueError(f"the vector field returned shape {np.shape(dx)}, expected {np.shape(x)} like x")
        return dx


def _check_arguments(t_0, t_1, method, steps, rtol, atol):
    if method not in METHODS:
        raise ValueError(f"unknown solver {method!r}; expected one of: {', '.join(METHODS)}")
    if not (np.isfinite(t_0) and np.isfinite(t_1)) or t_0 == t_1:
        raise ValueError(f"t_0 and t_1 must be finite and different, got {t_0!r} and {t_1!r}")
    if method in FIXED_STEP_METHODS and not (isinstance(steps, (int, np.integer)) and steps > 0):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if method in SCIPY_METHODS:
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if not (np.isfinite(tol) and tol > 0):
                raise ValueError(f"{name} must be a finite positive number, got {tol!r}")


def _fixed_steps(f, x, t_0, t_1, method, steps):
    step = FIXED_STEP_METHODS[method]
    times = np.linspace(t_0, t_1, steps + 1).tolist()  # exact end points; h < 0 when t_1 < t_0
    for i in range(steps):
        # Python floats (not NumPy scalars) for t and h, so float32 points stay float32.
        x = step(f, times[i], x, times[i + 1] - times[i])
        yield times[i + 1], x


def _scipy_steps(f, x_0, t_0, t_1, method, rtol, atol):
    import scipy.integrate  # imported here: it takes a third of a second, and most solves never need it
    import scipy.sparse

    n, d = x_0.shape

    def fun(t, y):  # scipy's view: one flat state of length n * d
        return f(t, y.reshape(n, d)).ravel()

    options = {"rtol": rtol, "atol": atol}
    # Tell implicit methods that the Jacobian is block diagonal (points do not interact).
    if method in ("Radau", "BDF"):
        options["jac_sparsity"] = scipy.sparse.kron(scipy.sparse.identity(n), np.ones((d, d)), format="csc")
    elif method == "LSODA":
        options["lband"] = options["uband"] = d - 1
    solver = getattr(scipy.integrate, method)(fun, t_0, x_0.ravel(), t_1, **options)
    while solver.status == "running":
        message = solver.step()
        if solver.status == "failed":
            raise RuntimeError(f"{method} failed at t = {solver.t:.6g}: {message}")
        yield solver.t, solver.y.reshape(n, d).copy()  # scipy may reuse its buffer


def iterate(f, x_0, t_0=0.0, t_1=1.0, method="rk4", steps=100, rtol=1e-5, atol=1e-5):
    """Solve dx/dt = f(t, x) from x(t_0) = x_0 and yield every step as it is taken.

    Parameters are those of ``integrate``.

    Yields
    ------
    Step
        The start (index 0), then one ``Step`` per fixed step or per accepted adaptive step.

    Examples
    --------
    >>> for step in iterate(lambda t, x: -x, np.ones((1, 1)), 0.0, 1.0, "euler", steps=2):
    ...     print(step.index, step.t, step.x.ravel(), step.nfe)
    0 0.0 [1.] 0
    1 0.5 [0.5] 1
    2 1.0 [0.25] 2
    """
    _check_arguments(t_0, t_1, method, steps, rtol, atol)
    x_0 = check_points(x_0, "x_0")
    field = _CountedField(f)
    yield Step(0, float(t_0), x_0, 0)
    if method in FIXED_STEP_METHODS:
        points = _fixed_steps(field, x_0, t_0, t_1, method, steps)
    else:
        points = _scipy_steps(field, x_0, t_0, t_1, method, rtol, atol)
    for index, (t, x) in enumerate(points, start=1):
        yield Step(index, float(t), x, field.nfe)


def integrate(f, x_0, t_0=0.0, t_1=1.0, method="rk4", steps=100, rtol=1e-5, atol=1e-5, callback=None):
    """Solve dx/dt = f(t, x) from x(t_0) = x_0 to t_1 and return the whole trajectory.

    Parameters
    ----------
    f : callable
        The vector field ``f(t, x) -> dx/dt``, x and dx/dt of shape (n, d).
    x_0 : ndarray, shape (n, d)
        Starting points.
    t_0, t_1 : float
        Start and end times; t_1 < t_0 integrates backward.
    method : str
        ``"euler"``, ``"midpoint"``, ``"heun"``, ``"rk4"`` (fixed step, uses ``steps``), or a
        ``solve_ivp`` method ``"RK45"``, ``"RK23"``, ``"DOP853"``, ``"Radau"``, ``"BDF"``,
        ``"LSODA"`` (adaptive, uses ``rtol`` and ``atol``).
    steps : int
        Number of fixed steps.
    rtol, atol : float
        Relative and absolute tolerances of the adaptive methods.
    callback : callable, optional
        Called with each ``Step`` (the start included) as the solve goes.

    Returns
    -------
    Trajectory
        ``.t`` of shape (k,), ``.x`` of shape (k, n, d), ``.nfe``. For a fixed-step method
        k = steps + 1.

    Examples
    --------
    >>> traj = integrate(lambda t, x: -x, np.ones((3, 2)), 0.0, 1.0, method="rk4", steps=10)
    >>> traj.x.shape, traj.nfe
    ((11, 3, 2), 40)
    >>> bool(abs(traj.x[-1, 0, 0] - np.exp(-1.0)) < 1e-6)
    True
    """
    times, points = [], []
    nfe = 0
    for step in iterate(f, x_0, t_0, t_1, method, steps, rtol, atol):
        if callback is not None:
            callback(step)
        times.append(step.t)
        points.append(step.x)
        nfe = step.nfe
    return Trajectory(t=np.array(times), x=np.stack(points), nfe=nfe, method=method)
