"""The checks of chapters 4 to 8: likelihood, couplings and reflow, diffusion, guidance, MeanFlow.

As in ``basics``, nothing here computes an exercise's answer: cases are inputs, and the
properties are oracles of another kind (finite differences, the marginals of a plan, the
statistics of a random draw).
"""
from types import SimpleNamespace

import numpy as np

from ..checks import Check, Size
from ..packages import module
from .common import ACTIVATIONS, close, field, make_path, normal, with_field

# --- 4. likelihood ---------------------------------------------------------------------------------

def _draw_divergence(rng, size):
    return {**with_field(rng, size), "t": float(rng.uniform(0, 1)), "x": normal(rng, (size.n, size.d), size.dtype)}


def _draw_hutchinson(rng, size):
    shape = (1 + size.variant % 3, size.n, size.d)  # K probes
    probes = rng.choice([-1.0, 1.0], shape) if size.variant < 3 else rng.standard_normal(shape)
    return {**_draw_divergence(rng, size), "probes": probes.astype(size.dtype)}


def _call_divergence(pkg, case):
    v, div = module(pkg, "core/likelihood").divergence(field(case), case["t"], case["x"])
    return {"v": v, "div": div}


def _call_hutchinson(pkg, case):
    return {"div": module(pkg, "core/likelihood").divergence(field(case), case["t"], case["x"], case["probes"])[1]}


def divergence_by_finite_differences(pkg):
    """The exact divergence against central differences, sum_j (v_j(x + h e_j) - v_j(x - h e_j)) / 2h."""
    rng = np.random.default_rng(5)
    case = {"A": rng.standard_normal((3, 3)), "b": rng.standard_normal(3), "x": rng.standard_normal((6, 3))}
    f, x, h = field(case), case["x"], 1e-6
    expected = sum((f(0.3, x + h * e)[:, j] - f(0.3, x - h * e)[:, j]) / (2 * h) for j, e in enumerate(np.eye(3)))
    close("div v against finite differences", module(pkg, "core/likelihood").divergence(f, 0.3, x)[1], expected,
           1e-6, 1e-6)


_SOLVERS = ("heun", "midpoint", "rk4", "euler")


def _draw_log_likelihood(rng, size):
    hutchinson = size.variant >= 4
    return {**with_field(rng, size, 0.5), "x": normal(rng, (size.n, size.d), size.dtype),
            "solver": _SOLVERS[size.variant % 4], "steps": int(rng.integers(2, 6)),
            "method": "hutchinson" if hutchinson else "exact", "probes": 2 if hutchinson else None,
            "seed": int(rng.integers(1000)) if hutchinson else None}


def _call_log_likelihood(pkg, case):
    options = {"solver": case["solver"], "steps": case["steps"], "method": case["method"]}
    if case["method"] == "hutchinson":
        options.update(probes=case["probes"], rng=np.random.default_rng(case["seed"]))
    return {"log_p": module(pkg, "core/likelihood").log_likelihood(field(case), case["x"], **options)}


# --- 5. couplings and reflow -------------------------------------------------------------------------

def _draw_squared_distances(rng, size):
    return {"x_0": normal(rng, (size.n, size.d), size.dtype, 2),
            "x_1": normal(rng, (size.n + 1 + size.variant, size.d), size.dtype, 2)}


def _call_squared_distances(pkg, case):
    return {"C": module(pkg, "core/couplings").squared_distances(case["x_0"], case["x_1"])}


def _draw_sinkhorn(rng, size):
    n, m = size.n + 1, size.n + 2 + size.variant % 2
    cost = (rng.uniform(0, 3, (n, m)) ** 2).astype(size.dtype)
    return {"cost": cost, "epsilon": float(np.mean(cost) * (0.5, 0.1, 2.0)[size.variant % 3]), "tol": 1e-3,
            "max_iterations": 200}


def _call_sinkhorn(pkg, case):
    f, g = module(pkg, "core/couplings").sinkhorn_potentials(case["cost"], case["epsilon"], case["tol"],
                                                         case["max_iterations"])
    return {"f": f, "g": g}


def sinkhorn_plan_has_the_marginals(pkg):
    """The plan exp((f_i + g_j - C_ij) / eps) has columns summing to 1/m, and rows to 1/n within tol."""
    rng = np.random.default_rng(6)
    cost, epsilon = rng.uniform(0, 4, (5, 7)), 0.5
    f, g = module(pkg, "core/couplings").sinkhorn_potentials(cost, epsilon, tol=1e-8)
    plan = np.exp((f[:, None] + g[None, :] - cost) / epsilon)
    close("the plan's column sums", plan.sum(axis=0), np.full(7, 1 / 7), 1e-9, 1e-12)
    close("the plan's row sums", plan.sum(axis=1), np.full(5, 1 / 5), 1e-7, 1e-12)


class _Source:
    """A source p_0 = N(mean, scale^2 I) for the reflow check."""

    def __init__(self, mean, scale):
        self.mean, self.scale = mean, scale

    def sample(self, n, rng):
        return (self.mean + self.scale * rng.standard_normal((n, len(self.mean)))).astype(self.mean.dtype)


def _draw_reflow(rng, size):
    return {**with_field(rng, size, 0.5), "source": "N(mean, scale^2 I)",
            "mean": normal(rng, size.d, size.dtype), "scale": float(rng.uniform(0.5, 2)), "n": size.n,
            "seed": int(rng.integers(1000)), "solver": ("midpoint", "RK45", "heun")[size.variant % 3],
            "steps": int(rng.integers(2, 6)), "rtol": float(10 ** -rng.uniform(3, 6))}


def _call_reflow(pkg, case):
    run = SimpleNamespace(config=SimpleNamespace(source_distribution=_Source(case["mean"], case["scale"])),
                          velocity=field(case))
    x_0, x_1 = module(pkg, "runs/reflow").reflow_pairs(run, case["n"], np.random.default_rng(case["seed"]), case["solver"],
                                                  steps=case["steps"], rtol=case["rtol"], atol=case["rtol"])
    return {"x_0": x_0, "x_1": x_1}


# --- 6. diffusion ------------------------------------------------------------------------------------

_SCORE_PATHS = (("linear", 0.0), ("vp", 0.0), ("linear", 0.2))


def _draw_score(rng, size):
    name, sigma = _SCORE_PATHS[size.variant % 3]
    n, d, dtype = size.n, size.d, size.dtype
    t = rng.uniform(0.05, 0.95, n).astype(dtype) if size.variant < 3 else float(rng.uniform(0.05, 0.95))
    return {"path": name, "sigma_min": sigma, "v": normal(rng, (n, d), dtype), "x_t": normal(rng, (n, d), dtype),
            "t": t}


def _call_score(pkg, case):
    return {"score": module(pkg, "core/views").velocity_to_score(case["v"], case["x_t"], case["t"], make_path(pkg, case))}


def score_converts_back_to_the_velocity(pkg):
    """score_to_velocity (given) undoes velocity_to_score: the two views are one field."""
    views, paths, rng = module(pkg, "core/views"), module(pkg, "core/paths"), np.random.default_rng(9)
    v, x = rng.standard_normal((2, 5, 2))
    for path in (paths.LinearPath(0.1), paths.VPPath()):
        for t in (0.2, 0.7):
            score = views.velocity_to_score(v, x, t, path)
            close(f"score_to_velocity(velocity_to_score(v)) on {type(path).__name__} at t = {t}",
                   views.score_to_velocity(score, x, t, path), v)


def _draw_euler_maruyama(rng, size):
    name, sigma = _SCORE_PATHS[size.variant % 3]
    n, d, dtype = size.n, size.d, size.dtype
    return {**with_field(rng, size), "path": name, "sigma_min": sigma, "g": float(rng.uniform(0.1, 2)),
            "t": float(rng.uniform(0.05, 0.9)), "h": float(rng.uniform(0.01, 0.1)), "x": normal(rng, (n, d), dtype),
            "z": normal(rng, (n, d), dtype)}


def _call_euler_maruyama(pkg, case):
    step = module(pkg, "diffusion/stochastic").euler_maruyama_step
    return {"x_next": step(field(case), make_path(pkg, case), case["g"], case["t"],
                                                                      case["x"], case["h"], case["z"])}


def _draw_ancestral(rng, size):
    name, sigma = _SCORE_PATHS[size.variant % 3]
    n, d, dtype, v = size.n, size.d, size.dtype, size.variant
    s = 0.0 if v % 2 == 0 else float(rng.uniform(0.05, 0.5))
    t = 1.0 if v % 4 == 3 else s + float(rng.uniform(0.05, 0.5))
    return {"path": name, "sigma_min": sigma, "s": s, "t": t, "eta": (0.0, 1.0, 0.5)[v % 3],
            "x0_hat": normal(rng, (n, d), dtype), "x1_hat": normal(rng, (n, d), dtype, 3),
            "z": normal(rng, (n, d), dtype)}


def _call_ancestral(pkg, case):
    return {"x_t": module(pkg, "diffusion/stochastic").ancestral_step(case["x0_hat"], case["x1_hat"], case["s"], case["t"],
                                                            make_path(pkg, case), case["eta"], case["z"])}


# --- 7. guidance ----------------------------------------------------------------------------------

def _draw_label_dropout(rng, size):
    return {"y": rng.integers(0, 4, size.n), "p_uncond": (0.3, 0.0, 0.5, 1.0)[size.variant % 4],
            "seed": int(rng.integers(1000))}


def _call_label_dropout(pkg, case):
    y = case["y"].copy()
    labels = module(pkg, "guidance/labels").drop_labels(y, case["p_uncond"], np.random.default_rng(case["seed"]))
    return {"labels": labels, "y after the call (it must not change)": y}


def labels_drop_at_the_rate_asked(pkg):
    """About p_uncond of 20,000 labels are dropped (within 5 binomial standard deviations), the rest kept, and
    two seeds drop different labels."""
    guidance = module(pkg, "guidance/labels")
    y, p = np.tile(np.arange(4), 5000), 0.25
    got = guidance.drop_labels(y, p, np.random.default_rng(0))
    dropped = got == guidance.NO_LABEL
    if np.any(got[~dropped] != y[~dropped]):
        raise AssertionError("a label that is not dropped must stay as it was")
    if abs(dropped.mean() - p) > 5 * np.sqrt(p * (1 - p) / y.size):
        raise AssertionError(f"with p_uncond = {p} about {p:.0%} of the labels should be dropped, "
                             f"got {dropped.mean():.1%}")
    if np.array_equal(got, guidance.drop_labels(y, p, np.random.default_rng(1))):
        raise AssertionError("two seeds dropped the same labels: the draws must come from rng")


def _draw_guided(rng, size):
    y = rng.integers(0, 3, size.n) if size.variant < 4 else int(rng.integers(0, 3))
    return {"f_cond": "f_cond(t, x, y) = c_y sin(x) + t s_y, c_y = y + 2 and s_y = 1 for a label, "
                      "c = 0.5 and s = -1 for NO_LABEL", "y": y, "w": (2.0, -1.0, 0.5, 3.0)[size.variant % 4],
            "t": float(rng.random()), "x": normal(rng, (size.n, size.d), size.dtype)}


def _call_guided(pkg, case):
    guidance = module(pkg, "guidance/conditional")

    def f_cond(t, x, y):
        unlabelled = (np.asarray(y) == module(pkg, "guidance/labels").NO_LABEL)[:, None]
        return np.where(unlabelled, 0.5, y[:, None] + 2.0) * np.sin(x) + t * np.where(unlabelled, -1.0, 1.0)

    return {"v_w": guidance.guided_velocity(f_cond, case["y"], case["w"])(case["t"], case["x"])}


# --- 8. MeanFlow -----------------------------------------------------------------------------------

def _draw_meanflow(rng, size):
    n, d, dtype, width = size.n, size.d, size.dtype, int(rng.integers(3, 6))
    s = rng.random(n)
    t = s + (1 - s) * rng.random(n)
    t[: n // 2] = s[: n // 2]  # some empty intervals, where the target is v_s itself
    params = [(normal(rng, (2 + d, width), dtype), normal(rng, width, dtype)),
              (normal(rng, (width, d), dtype), normal(rng, d, dtype))]
    return {"activation": ACTIVATIONS[size.variant % 3], "params": params, "s": s.astype(dtype),
            "t": t.astype(dtype), "x_s": normal(rng, (n, d), dtype), "v_s": normal(rng, (n, d), dtype)}


def _call_meanflow(pkg, case):
    return {"u_tgt": module(pkg, "meanflow/loss").meanflow_target(case["params"], case["s"], case["t"], case["x_s"],
                                                             case["v_s"], case["activation"])}


def check_meanflow_target(pkg):
    """The target against central differences of the network ``average_velocity`` along (1, 0, v_s) (tanh, so
    that it is smooth): du/ds = (u(s + h, x_s + h v_s) - u(s - h, x_s - h v_s)) / 2h with t fixed."""
    rng = np.random.default_rng(0)
    case = _draw_meanflow(rng, Size(8, 2, variant=2))
    meanflow, h = module(pkg, "meanflow/loss"), 1e-6
    average_velocity = module(pkg, "meanflow/average").average_velocity
    params, s, t, x_s, v_s = (case[key] for key in ("params", "s", "t", "x_s", "v_s"))

    def u(start, x):
        return average_velocity(params, start, t, x, "tanh")

    du_ds = (u(s + h, x_s + h * v_s) - u(s - h, x_s - h * v_s)) / (2 * h)
    close("u_tgt = v_s + (t - s) du/ds", meanflow.meanflow_target(params, s, t, x_s, v_s, "tanh"),
           v_s + (t - s)[:, None] * du_ds, 1e-6, 1e-7)


#: The checks of chapters 4 to 8, by exercise.
CHECKS = {
    "divergence": Check(_draw_divergence, _call_divergence, 1, (Size(3, 2),), (divergence_by_finite_differences,)),
    "hutchinson": Check(_draw_hutchinson, _call_hutchinson, 6, (Size(3, 2, variant=2), Size(2, 3, variant=4))),
    "log_likelihood": Check(_draw_log_likelihood, _call_log_likelihood, 8, (Size(3, 2), Size(2, 2, variant=4))),
    "squared_distances": Check(_draw_squared_distances, _call_squared_distances, 2, (Size(3, 2),)),
    "sinkhorn_update": Check(_draw_sinkhorn, _call_sinkhorn, 6, (Size(3, 2),), (sinkhorn_plan_has_the_marginals,)),
    "reflow_pair": Check(_draw_reflow, _call_reflow, 3, (Size(3, 2), Size(2, 2, variant=1))),
    "velocity_to_score": Check(_draw_score, _call_score, 6, (Size(3, 2), Size(2, 2, variant=4)),
                               (score_converts_back_to_the_velocity,)),
    "euler_maruyama_step": Check(_draw_euler_maruyama, _call_euler_maruyama, 3, (Size(3, 2), Size(2, 2, variant=1))),
    "ancestral_step": Check(_draw_ancestral, _call_ancestral, 12, (Size(3, 2), Size(2, 2, variant=1))),
    "label_dropout": Check(_draw_label_dropout, _call_label_dropout, 4, (Size(8, 1),), (labels_drop_at_the_rate_asked,),
                           dtypes=("int64",)),
    "guided_velocity": Check(_draw_guided, _call_guided, 8, (Size(3, 2), Size(2, 2, variant=5))),
    "meanflow_target": Check(_draw_meanflow, _call_meanflow, 3, (Size(4, 2), Size(3, 2, variant=1)),
                             (check_meanflow_target,)),
}
