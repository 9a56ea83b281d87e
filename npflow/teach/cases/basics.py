"""The checks of chapters 1 to 3: the path and the exact field, the network and its training, solvers and sampling.

Nothing here computes an exercise's answer. A case is drawn from a generator (inputs only);
what the function should give comes from elsewhere: the reference code, run by the instructor's
grader, or the values it gave on the public cases, stored in a student copy. The properties are
oracles of another kind (finite differences, the order of convergence, autograd's Adam).
"""
import numpy as np

from ..checks import Check, Size
from ..packages import module
from .common import ACTIVATIONS, close, field, make_path, normal, with_field

# --- 1. the path, its velocity through x_t, the exact field -------------------------------------

_PATHS = (("linear", 0.1), ("vp", 0.0), ("icfm", 0.5), ("linear", 0.0))


def _draw_path(rng, size):
    name, sigma = _PATHS[size.variant % len(_PATHS)]
    n, d, dtype = size.n, size.d, size.dtype
    return {"path": name, "sigma_min": sigma, "x_0": normal(rng, (n, d), dtype), "x_1": normal(rng, (n, d), dtype, 3),
            "t": rng.random(n).astype(dtype), "z": normal(rng, (n, d), dtype) if name == "icfm" else None}


def _call_path(pkg, case):
    x_t, u_t = make_path(pkg, case).sample(case["x_0"], case["x_1"], case["t"], case["z"])
    return {"x_t": x_t, "u_t": u_t}


def path_moves_at_its_velocity(pkg):
    """u_t is the time derivative of x_t (central differences); x_t is the noise at t = 0, the data at t = 1."""
    paths, rng, h = module(pkg, "core/paths"), np.random.default_rng(7), 1e-6
    x_0, x_1, t = rng.standard_normal((4, 2)), 3 * rng.standard_normal((4, 2)), rng.uniform(0.1, 0.9, 4)
    for path in (paths.LinearPath(0.1), paths.VPPath()):
        slope = (path.sample(x_0, x_1, t + h)[0] - path.sample(x_0, x_1, t - h)[0]) / (2 * h)
        close(f"u_t of {type(path).__name__} against d/dt x_t", path.sample(x_0, x_1, t)[1], slope, 1e-6, 1e-6)
    straight = paths.LinearPath(0.0)
    close("x_t at t = 0 (noise: x_0)", straight.sample(x_0, x_1, np.zeros(4))[0], x_0)
    close("x_t at t = 1 (data: x_1)", straight.sample(x_0, x_1, np.ones(4))[0], x_1)


_VIEW_PATHS = (("linear", 0.1), ("vp", 0.0), ("linear", 0.0))


def _draw_velocity_from_x_t(rng, size):
    name, sigma = _VIEW_PATHS[size.variant % 3]
    n, d, dtype = size.n, size.d, size.dtype
    t = rng.uniform(0.0, 0.95, n).astype(dtype) if size.variant < 3 else float(rng.uniform(0.0, 0.95))
    return {"path": name, "sigma_min": sigma, "x_t": normal(rng, (n, d), dtype), "x_1": normal(rng, (n, d), dtype, 3),
            "t": t}


def _call_velocity_from_x_t(pkg, case):
    return {"u_t": make_path(pkg, case).velocity_from_x_t(case["x_t"], case["x_1"], case["t"])}


def velocity_from_x_t_agrees_with_sample(pkg):
    """The velocity written through x_t is the path's own u_t at the x_t the path gives."""
    paths, rng = module(pkg, "core/paths"), np.random.default_rng(8)
    x_0, x_1, t = rng.standard_normal((5, 2)), 3 * rng.standard_normal((5, 2)), rng.uniform(0, 0.9, 5)
    for path in (paths.LinearPath(0.2), paths.VPPath()):
        x_t, u_t = path.sample(x_0, x_1, t)
        close(f"velocity_from_x_t on {type(path).__name__} against sample's u_t", path.velocity_from_x_t(x_t, x_1, t),
               u_t)


_ORACLE_PATHS = (("linear", 0.0), ("linear", 0.2), ("vp", 0.0), ("icfm", 0.3))


def _draw_exact_velocity(rng, size):
    name, sigma = _ORACLE_PATHS[size.variant % 4]
    K, n, d, dtype = 1 + int(rng.integers(3)), size.n, size.d, size.dtype
    t = rng.random(n).astype(dtype) if size.variant < 4 else float(rng.random())
    return {"path": name, "sigma_min": sigma, "means": normal(rng, (K, d), "float64", 3),
            "stds": rng.uniform(0.3, 1.2, K), "weights": rng.dirichlet(np.ones(K)), "t": t,
            "x": normal(rng, (n, d), dtype, 2)}


def _call_exact_velocity(pkg, case):
    gmm = module(pkg, "core/gmm").GaussianMixture(case["means"], std=case["stds"], weights=case["weights"])
    return {"v": module(pkg, "core/oracle").exact_velocity(gmm, path=make_path(pkg, case))(case["t"], case["x"])}


# --- 2. the MLP, Adam, one training step -----------------------------------------------------------

def _draw_mlp(rng, size):
    activation, depth = ACTIVATIONS[size.variant % 3], 1 + (size.variant // 3) % 3
    widths = [size.d + 1, *(int(w) for w in rng.integers(2, 6, depth - 1)), size.d]
    params = [(normal(rng, (a, b), size.dtype), normal(rng, b, size.dtype)) for a, b in zip(widths[:-1], widths[1:])]
    return {"activation": activation, "params": params, "inputs": normal(rng, (size.n, size.d + 1), size.dtype)}


def _call_mlp(pkg, case):
    return {"output": module(pkg, "core/mlp").mlp(case["params"], case["inputs"], case["activation"])}


def _draw_adam(rng, size):
    dtype = size.dtype
    shapes = [(size.d, size.n), (size.n,), (size.n, size.d), (size.d,)]
    params = [(normal(rng, shapes[0], dtype), normal(rng, shapes[1], dtype)),
              (normal(rng, shapes[2], dtype), normal(rng, shapes[3], dtype))]
    grads = [[(normal(rng, W.shape, dtype, 10 ** rng.uniform(-3, 1)), normal(rng, b.shape, dtype)) for W, b in params]
             for _ in range(1 + size.variant % 4)]
    return {"lr": float(10 ** rng.uniform(-3, -1)), "beta1": float(rng.choice([0.9, 0.5, 0.0])),
            "beta2": float(rng.choice([0.999, 0.9])), "eps": float(rng.choice([1e-8, 1e-3, 0.1])),
            "params": params, "grads": grads}


def _call_adam(pkg, case):
    optim = module(pkg, "core/optim")
    adam, params = optim.Adam(lr=case["lr"], beta1=case["beta1"], beta2=case["beta2"], eps=case["eps"]), case["params"]
    for grads in case["grads"]:
        params = adam.step(params, grads)
    return {"params after the steps (flattened)": optim.tree_flatten(params), "m": adam.m, "v": adam.v}


def adam_agrees_with_autograd(pkg):
    """Five steps of your Adam against autograd's own ``autograd.misc.optimizers.adam``."""
    from autograd.misc.optimizers import adam

    rng = np.random.default_rng(0)
    params = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(5)]
    opt, ours = module(pkg, "core/optim").Adam(lr=0.01), params
    for g in grads:
        ours = opt.step(ours, g)
    expected = adam(lambda x, i: grads[i], params, num_iters=5, step_size=0.01)
    for i, (got, want) in enumerate(zip(ours, expected)):
        close(f"params[{i}] after 5 Adam steps, against autograd's adam", got, want, 1e-9, 1e-12)


class _StandInPath:
    """A path for the training-step check: not a real one, but any mistake in using it shows."""

    def sample(self, x_0, x_1, t, z=None):
        x_t = x_0 + 2 * x_1 + np.reshape(t, (-1, 1))
        return (x_t if z is None else x_t + 0.5 * z), 3 * x_1 - x_0


def _stand_in_gradient(trouble):
    """A gradient function for the check: a made-up loss of every argument; NaN or inf on request."""
    def gradient(params, t, x_t, u_t, activation):
        scale = 1.0 + ACTIVATIONS.index(activation)
        loss = float(np.mean((x_t - u_t) * u_t) * scale + np.mean(t))
        grads = [(W * scale + np.mean(x_t), b - np.mean(u_t)) for W, b in params]
        if trouble == "a NaN loss":
            loss = float("nan")
        if trouble == "an infinite gradient":
            grads[0] = (grads[0][0] + np.inf, grads[0][1])
        return loss, grads

    return gradient


_TROUBLE = (None, None, "a NaN loss", "an infinite gradient")


def _draw_training_step(rng, size):
    n, d, dtype = size.n, size.d, size.dtype
    params = [(normal(rng, (d + 1, 3), dtype), normal(rng, 3, dtype)), (normal(rng, (3, d), dtype),
                                                                           normal(rng, d, dtype))]
    return {"path": "a stand-in whose sample gives x_t = x_0 + 2 x_1 + t (+ 0.5 z), u_t = 3 x_1 - x_0",
            "gradient": f"a stand-in, with {_TROUBLE[size.variant % 4] or 'finite values'}",
            "trouble": _TROUBLE[size.variant % 4], "activation": ACTIVATIONS[size.variant % 3],
            "lr": float(rng.uniform(0.01, 0.5)), "params": params, "x_0": normal(rng, (n, d), dtype),
            "x_1": normal(rng, (n, d), dtype), "t": rng.random(n).astype(dtype),
            "z": normal(rng, (n, d), dtype) if size.variant % 4 == 1 else None}


def _call_training_step(pkg, case):
    train, optim = module(pkg, "core/training"), module(pkg, "core/optim")
    params, loss = train.training_step(case["params"], optim.SGD(lr=case["lr"]), _StandInPath(), case["x_0"],
                                       case["x_1"], case["t"], case["activation"], _stand_in_gradient(case["trouble"]),
                                       case["z"])
    return {"params after the step (flattened)": optim.tree_flatten(params), "loss": loss}


# --- 3. solvers and sampling ----------------------------------------------------------------------

def _draw_step(rng, size):
    h = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.5))  # backward steps too (the reverse ODE)
    return {**with_field(rng, size), "t": float(rng.uniform(-1, 1)), "x": normal(rng, (size.n, size.d), size.dtype),
            "h": h}


def _call_euler(pkg, case):
    return {"x_next": module(pkg, "core/solvers").euler_step(field(case), case["t"], case["x"], case["h"])}


def _call_midpoint(pkg, case):
    return {"x_next": module(pkg, "core/solvers").midpoint_step(field(case), case["t"], case["x"], case["h"])}


def _call_rk4(pkg, case):
    k = module(pkg, "core/solvers").rk4_stages(field(case), case["t"], case["x"], case["h"])
    return {f"k{i}": k_i for i, k_i in enumerate(k, start=1)}


def _order_of(pkg, method, f, exact):
    """The observed order of ``method`` on dx/dt = f(t, x) from x(0) = 1 to t = 1: log2 of the error ratio."""
    integrate = module(pkg, "core/solvers").integrate
    errors = [abs(integrate(f, np.ones((1, 1)), 0.0, 1.0, method, steps=n).x[-1, 0, 0] - exact) for n in (16, 32)]
    return np.log2(errors[0] / errors[1])


def _order_property(method, order):
    def has_its_order(pkg):
        observed = _order_of(pkg, method, lambda t, x: -x * (1 + t), np.exp(-1.5))
        if abs(observed - order) > 0.25:
            raise AssertionError(f"{method}: halving h should divide the error by 2^{order} on dx/dt = -(1 + t) x; "
                                 f"the observed order is {observed:.2f}")

    has_its_order.__doc__ = f"The error of {method} shrinks like h^{order} (the observed order of convergence)."
    return has_its_order


def rk4_is_simpson_on_a_cubic(pkg):
    """When f depends on t alone, an RK4 step is Simpson's rule: exact for a cubic."""
    def cubic(t, x):
        return np.full_like(x, 4 * t**3 - 3 * t**2 + 1)

    got = module(pkg, "core/solvers").rk4_step(cubic, 0.5, np.zeros((1, 1)), 1.5)
    close("one RK4 step of dx/dt = 4t^3 - 3t^2 + 1 from t = 0.5 to 2", got, [[2.0**4 - 2.0**3 + 2 - 0.4375]],
           1e-12, 1e-12)


_METHODS = ("heun", "RK23", "midpoint", "rk4", "euler", "RK45")


def _draw_generate(rng, size):
    return {**with_field(rng, size, 0.5), "x_0": normal(rng, (size.n, size.d), size.dtype),
            "method": _METHODS[size.variant % 6], "steps": int(rng.integers(2, 6)),
            "rtol": float(10 ** -rng.uniform(2, 5)), "atol": float(10 ** -rng.uniform(2, 5)),
            "callback": "records each step's t" if size.variant >= 6 else None}


def _call_generate(pkg, case):
    seen = []
    callback = (lambda step: seen.append(step.t)) if case["callback"] else None
    trajectory = module(pkg, "core/sampling").generate(field(case), case["x_0"], case["method"], steps=case["steps"],
                                                  rtol=case["rtol"], atol=case["atol"], callback=callback)
    result = {"trajectory.t": trajectory.t, "trajectory.x": trajectory.x}
    return {**result, "t seen by the callback": np.array(seen)} if callback else result


#: The checks of chapters 1 to 3, by exercise.
CHECKS = {
    "path": Check(_draw_path, _call_path, 4, (Size(3, 2), Size(2, 2, variant=1), Size(2, 1, variant=2)),
                  (path_moves_at_its_velocity,)),
    "velocity_from_x_t": Check(_draw_velocity_from_x_t, _call_velocity_from_x_t, 4, (Size(3, 2), Size(2, 2, variant=1)),
                               (velocity_from_x_t_agrees_with_sample,)),
    "exact_velocity": Check(_draw_exact_velocity, _call_exact_velocity, 8, (Size(3, 2), Size(2, 2, variant=6))),
    "mlp_forward": Check(_draw_mlp, _call_mlp, 9, (Size(3, 2, variant=3), Size(2, 1, variant=8))),
    "adam_step": Check(_draw_adam, _call_adam, 4, (Size(3, 2, variant=2),), (adam_agrees_with_autograd,)),
    "training_step": Check(_draw_training_step, _call_training_step, 4, (Size(3, 2), Size(2, 2, variant=1),
                                                                         Size(2, 2, variant=2))),
    "euler_step": Check(_draw_step, _call_euler, 1, (Size(3, 2),), (_order_property("euler", 1),)),
    "midpoint_step": Check(_draw_step, _call_midpoint, 1, (Size(3, 2),), (_order_property("midpoint", 2),)),
    "rk4_step": Check(_draw_step, _call_rk4, 1, (Size(3, 2),), (rk4_is_simpson_on_a_cubic, _order_property("rk4", 4))),
    "generate": Check(_draw_generate, _call_generate, 12, (Size(3, 2), Size(2, 2, variant=7))),
}
