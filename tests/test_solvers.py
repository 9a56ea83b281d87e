import numpy as np
import pytest
import scipy.integrate

from npflow.core.solvers import SCIPY_METHODS, integrate, iterate, rk4_stages, rk4_step


def growth(t, x):
    """dx/dt = cos(t) x, solved by x(t) = x(t_0) exp(sin t - sin t_0)."""
    return np.cos(t) * x


def growth_solution(x_0, t_0, t):
    return x_0 * np.exp(np.sin(t) - np.sin(t_0))


X_0 = np.array([[1.0, -0.5], [2.0, 0.25]])


@pytest.mark.parametrize("method, order", [("euler", 1), ("midpoint", 2), ("heun", 2), ("rk4", 4)])
def test_observed_order_of_convergence(method, order):
    step_counts = [8, 16, 32, 64]
    errors = [np.abs(integrate(growth, X_0, 0.0, 2.0, method, steps=n).x[-1] - growth_solution(X_0, 0.0, 2.0)).max()
              for n in step_counts]
    observed = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))  # halving h divides the error by 2^p
    assert observed[-1] == pytest.approx(order, abs=0.15), observed


@pytest.mark.parametrize("method, per_step", [("euler", 1), ("midpoint", 2), ("heun", 2), ("rk4", 4)])
def test_fixed_step_nfe(method, per_step):
    trajectory = integrate(growth, X_0, 0.0, 1.0, method, steps=7)
    assert trajectory.nfe == 7 * per_step
    assert trajectory.x.shape == (8, 2, 2) and trajectory.t.shape == (8,)
    np.testing.assert_array_equal(trajectory.t, np.linspace(0.0, 1.0, 8))
    np.testing.assert_array_equal(trajectory.x[0], X_0)


def test_rk4_is_exact_for_cubic_time_fields():
    # With f depending on t alone, RK4 is Simpson's rule, which is exact for cubics.
    def f(t, x):
        return np.full_like(x, 4 * t**3 - 3 * t**2 + 1)

    x_1 = rk4_step(f, 0.5, np.zeros((1, 1)), 1.5)
    assert x_1[0, 0] == pytest.approx((2**4 - 2**3 + 2) - (0.5**4 - 0.5**3 + 0.5), abs=1e-12)
    k1, k2, k3, k4 = rk4_stages(f, 0.0, np.zeros((1, 1)), 1.0)
    assert (k1[0, 0], k2[0, 0], k3[0, 0], k4[0, 0]) == (1.0, 0.75, 0.75, 2.0)


@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_scipy_methods_reach_the_exact_solution(method):
    trajectory = integrate(growth, X_0, 0.0, 2.0, method, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(trajectory.x[-1], growth_solution(X_0, 0.0, 2.0), rtol=1e-5)
    assert trajectory.t[0] == 0.0 and trajectory.t[-1] == 2.0


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853"])
def test_integrate_takes_the_same_steps_as_solve_ivp(method):
    trajectory = integrate(growth, X_0, 0.0, 2.0, method, rtol=1e-6, atol=1e-8)
    sol = scipy.integrate.solve_ivp(lambda t, y: growth(t, y), (0.0, 2.0), X_0.ravel(), method=method,
                                    rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(trajectory.t, sol.t)
    np.testing.assert_array_equal(trajectory.x.reshape(len(sol.t), -1), sol.y.T)
    assert trajectory.nfe == sol.nfev


@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA"])
def test_implicit_methods_use_the_block_diagonal_jacobian(method):
    # 300 independent 2-D points: a dense finite-difference Jacobian would cost 600 evaluations.
    x_0 = np.random.default_rng(0).standard_normal((300, 2))
    trajectory = integrate(lambda t, x: -x * (1 + t), x_0, 0.0, 1.0, method, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(trajectory.x[-1], x_0 * np.exp(-1.5), rtol=1e-4)
    assert trajectory.nfe < 300


def rotation(t, x):
    """A non-linear, time-dependent field: rotation whose speed depends on radius and time."""
    speed = 1.0 + t * np.sum(x**2, axis=1, keepdims=True)
    return speed * np.column_stack([-x[:, 1], x[:, 0]])


@pytest.mark.parametrize("method, options", [("rk4", {"steps": 400}), ("RK45", {"rtol": 1e-10, "atol": 1e-12})])
def test_backward_then_forward_round_trip(method, options):
    backward = integrate(rotation, X_0, 1.0, 0.0, method, **options)
    assert backward.t[0] == 1.0 and backward.t[-1] == 0.0
    forward = integrate(rotation, backward.x[-1], 0.0, 1.0, method, **options)
    np.testing.assert_allclose(forward.x[-1], X_0, atol=1e-7)
    assert not np.allclose(backward.x[-1], X_0)


def test_backward_integration_follows_the_exact_solution():
    trajectory = integrate(growth, X_0, 2.0, 0.5, "rk4", steps=200)
    np.testing.assert_allclose(trajectory.x[-1], growth_solution(X_0, 2.0, 0.5), rtol=1e-8)


@pytest.mark.parametrize("method", ["heun", "RK23"])
def test_iterate_and_callback_show_every_step(method):
    steps = list(iterate(growth, X_0, 0.0, 1.0, method, steps=5))
    seen = []
    trajectory = integrate(growth, X_0, 0.0, 1.0, method, steps=5, callback=seen.append)
    assert [s.index for s in steps] == list(range(len(trajectory.t)))
    assert [s.t for s in seen] == list(trajectory.t)
    assert steps[-1].nfe == trajectory.nfe and steps[0].nfe == 0
    np.testing.assert_array_equal(steps[-1].x, trajectory.x[-1])


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "rk5"}, "unknown solver 'rk5'"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"steps": 2.5}, "steps must be a positive integer"),
    ({"t_1": 0.0}, "must be finite and different"),
    ({"x_0": np.zeros(3)}, r"x_0 must have shape \(n, d\)"),
    ({"x_0": np.array([[np.nan, 0.0]])}, "NaN"),
    ({"method": "RK45", "rtol": 0.0}, "rtol must be a finite positive number"),
])
def test_bad_arguments(kwargs, message):
    arguments = {"x_0": X_0, "t_0": 0.0, "t_1": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        integrate(growth, **arguments)


def test_field_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"returned shape \(2,\), expected \(2, 2\)"):
        integrate(lambda t, x: x[:, 0], X_0, 0.0, 1.0, "euler", steps=2)



@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_float32_points_stay_float32(method):
    trajectory = integrate(lambda t, x: -x, np.ones((3, 2), dtype=np.float32), 0.0, 1.0, method, steps=10)
    assert trajectory.x.dtype == np.float32
    expected = 0.9**10 if method == "euler" else np.exp(-1.0)  # Euler multiplies by (1 - h) each step
    np.testing.assert_allclose(trajectory.x[-1], expected, rtol=1e-5)
