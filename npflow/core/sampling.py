"""Generation: carry noise at t = 0 to data at t = 1 along the learned field.

    x(0) = x_0 ~ N(0, I),     dx/dt = v_theta(t, x),     sample = x(1)

**The tutorial's sampler is wrong.** Its ``generate_samples`` starts from noise at *t = 1* and
integrates ``-v(t, x)`` from t = 1 down to t = 0. In the displacement that adds up, that is
the same as integrating +v forward, but every evaluation asks the field about the wrong time:
at the start, where x is pure noise, it queries v(1, x), the velocity the model learned for
points that are already almost data; at the end it queries v(0, x), the velocity meant for
noise. The model was trained with noise at t = 0, so the time labels are mirrored, and the
result lands near the modes but with the wrong spread and balance. ``tutorial_generate`` keeps
that sampler, so the mistake can be measured next to ``generate``.
"""
from .checks import check_points
from .solvers import integrate

__all__ = ["noise", "generate", "decode", "encode", "tutorial_generate"]


def noise(n, dim, rng):
    """Draw x_0 ~ N(0, I): the starting points of generation, shape (n, dim)."""
    return rng.standard_normal((n, dim))


def generate(f, x_0, method="rk4", steps=100, rtol=1e-5, atol=1e-5, callback=None):
    """Integrate dx/dt = f(t, x) forward from noise x_0 at t = 0 to t = 1.

    Parameters
    ----------
    f : callable
        The field ``f(t, x)``, x of shape (n, d).
    x_0 : ndarray, shape (n, d)
        Noise, e.g. ``noise(n, d, rng)``.
    method, steps, rtol, atol, callback
        As for ``npflow.integrate``.

    Returns
    -------
    Trajectory
        ``.x[-1]``, of shape (n, d), holds the samples.
    """
    # >>> exercise generate: integrate dx/dt = f(t, x) from noise at t = 0 to data at t = 1, passing every argument on
    return integrate(f, x_0, 0.0, 1.0, method=method, steps=steps, rtol=rtol, atol=atol, callback=callback)
    # <<< exercise


def decode(f, x_0, method="rk4", steps=100, rtol=1e-5, atol=1e-5):
    """Noise to data: the end x(1) of dx/dt = f(t, x) started from x(0) = x_0.

    Parameters
    ----------
    f : callable
    x_0 : ndarray, shape (n, d)
        Points in noise space (t = 0), e.g. ``encode(f, x)``.
    method, steps, rtol, atol
        As for ``npflow.integrate``.

    Returns
    -------
    ndarray, shape (n, d)
    """
    return generate(f, check_points(x_0, "x_0"), method=method, steps=steps, rtol=rtol, atol=atol).x[-1]


def encode(f, x, method="rk4", steps=100, rtol=1e-5, atol=1e-5):
    """Data to noise: the reverse ODE, x(1) = x integrated back to t = 0. Undoes ``decode``.

    Because the ODE is deterministic and invertible, ``decode(f, encode(f, x))`` returns x up
    to the solver's error.

    Parameters
    ----------
    f : callable
    x : ndarray, shape (n, d)
        Points in data space (t = 1).
    method, steps, rtol, atol
        As for ``npflow.integrate``.

    Returns
    -------
    ndarray, shape (n, d)
    """
    return integrate(f, check_points(x, "x"), 1.0, 0.0, method=method, steps=steps, rtol=rtol, atol=atol).x[-1]


def tutorial_generate(f, x_0, steps=100):
    """The tutorial's (incorrect) sampler, kept for comparison: RK4 on dx/dt = -f(t, x) from t = 1 to 0.

    Parameters
    ----------
    f : callable
    x_0 : ndarray, shape (n, d)
        Noise, which the tutorial places at t = 1.
    steps : int

    Returns
    -------
    Trajectory
        ``.x[-1]`` holds the tutorial's samples.
    """
    return integrate(lambda t, x: -f(t, x), x_0, 1.0, 0.0, method="rk4", steps=steps)
