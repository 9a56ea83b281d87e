"""The checks of chapter 9: discrete flow matching (the mixture path's draw, the probability velocity, the Euler step).

Tokens are integers: a case holds sequences of D = ``size.d`` tokens over V symbols (MASK = V
for a masked source, so a token takes S = V + 1 values; S = V for a uniform one), for n =
``size.n`` sequences. As in ``basics``, nothing here computes an exercise's answer: the Euler
step's velocity is any valid rate matrix row (non-negative off the diagonal, each row summing to
zero), and the properties are oracles of another kind (the statistics of a random draw, a row
sum, a limit).
"""
import numpy as np

from ..checks import Check, Size
from ..packages import module
from .common import close

#: The schedulers the cases use: kappa(t) = t^k.
_POWERS = (1.0, 2.0)


def _scheduler(pkg, case):
    return module(pkg, "discrete/schedulers").polynomial(case["k"])


def _draw_tokens(rng, size):
    """V, S and the source of a case: a masked source for even variants, a uniform one for odd."""
    V = int(rng.integers(2, 5))
    mask = size.variant % 2 == 0
    return V, (V + 1 if mask else V), mask


def _posterior(rng, n, D, V):
    """Random rows of probabilities (n, D, V), some nearly one-hot."""
    logits = rng.standard_normal((n, D, V)) * rng.choice([1.0, 6.0], (n, D, 1))
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


# --- the mixture path's draw ---------------------------------------------------------------------

def _draw_sample_path(rng, size):
    # More tokens than the size says: each token is one of two values, and with a few tokens two different
    # mistakes would often draw the same x_t by chance (and the hint would name the wrong one).
    n, D = 2 * size.n + 6, size.d + 3
    V, _, mask = _draw_tokens(rng, size)
    return {"x_0": np.full((n, D), V) if mask else rng.integers(V, size=(n, D)), "x_1": rng.integers(V, size=(n, D)),
            "t": rng.random(n), "k": _POWERS[size.variant // 2 % 2], "seed": int(rng.integers(1000))}


def _call_sample_path(pkg, case):
    x_t = module(pkg, "discrete/paths").sample_path(case["x_0"], case["x_1"], case["t"], _scheduler(pkg, case),
                                                     np.random.default_rng(case["seed"]))
    return {"x_t": x_t}


def path_reveals_tokens_at_kappa(pkg):
    """With kappa(t) = t^2 at t = 0.6, about kappa = 0.36 of 20,000 tokens show x_1 (within 5 binomial standard
    deviations), the tokens of a sequence independently (both of a pair about kappa^2), the rest x_0; and two seeds
    draw differently."""
    paths, scheduler = module(pkg, "discrete/paths"), module(pkg, "discrete/schedulers").polynomial(2.0)
    n, kappa = 10000, 0.36
    x_0, x_1, t = np.full((n, 2), 9), np.zeros((n, 2), dtype=np.int64), np.full(n, 0.6)
    x_t = np.asarray(paths.sample_path(x_0, x_1, t, scheduler, np.random.default_rng(0)))
    if x_t.shape != (n, 2) or not np.all((x_t == 0) | (x_t == 9)):
        raise AssertionError(f"x_t must have the shape (n, D) = {(n, 2)} and hold x_0 or x_1 in every token")
    revealed = x_t == 0
    if abs(revealed.mean() - kappa) > 5 * np.sqrt(kappa * (1 - kappa) / revealed.size):
        raise AssertionError(f"a token shows x_1 with probability kappa(t) = {kappa}: got {revealed.mean():.3f}")
    both = np.all(revealed, axis=1).mean()
    if abs(both - kappa ** 2) > 5 * np.sqrt(kappa ** 2 / n):
        raise AssertionError(f"the tokens are independent: both show x_1 with probability kappa^2 = {kappa ** 2:.4f}, "
                             f"got {both:.4f}")
    if np.array_equal(x_t, paths.sample_path(x_0, x_1, t, scheduler, np.random.default_rng(1))):
        raise AssertionError("two seeds drew the same x_t: the draws must come from rng")


# --- the probability velocity --------------------------------------------------------------------

def _draw_velocity(rng, size):
    n, D = size.n, size.d
    V, S, _ = _draw_tokens(rng, size)
    t = rng.uniform(0.05, 0.95, n) if size.variant < 4 else float(rng.uniform(0.05, 0.95))
    return {"p_1": _posterior(rng, n, D, V), "x_t": rng.integers(S, size=(n, D)), "t": t,
            "k": _POWERS[size.variant // 2 % 2], "S": S}


def _call_velocity(pkg, case):
    u = module(pkg, "discrete/velocity").probability_velocity(case["p_1"], case["x_t"], case["t"],
                                                             _scheduler(pkg, case), case["S"])
    return {"u": u}


def velocity_is_a_rate_matrix_row(pkg):
    """Each token's u sums to zero over y and is >= 0 off its diagonal; a token whose posterior is certain of its
    own value does not move (u = 0); and nothing jumps to MASK."""
    velocity, scheduler = module(pkg, "discrete/velocity"), module(pkg, "discrete/schedulers").polynomial(2.0)
    rng = np.random.default_rng(4)
    p_1, x_t, t = _posterior(rng, 6, 3, 4), rng.integers(5, size=(6, 3)), rng.uniform(0.1, 0.9, 6)
    u = np.asarray(velocity.probability_velocity(p_1, x_t, t, scheduler, 5))
    if u.shape != (6, 3, 5):
        raise AssertionError(f"u must have the shape (n, D, S) = (6, 3, 5), got {u.shape}")
    close("the sum of each token's u over y", u.sum(axis=-1), np.zeros((6, 3)), 1e-9, 1e-12)
    off_diagonal = u[np.arange(5) != x_t[..., None]]
    if np.any(off_diagonal < -1e-12):
        raise AssertionError("u(y | x_t) off the diagonal y = x_t^i is a rate of jumping: it must be >= 0")
    to_mask = u[..., 4][x_t != 4]
    close("u(MASK | x_t) where x_t^i is not MASK (nothing jumps to MASK)", to_mask, np.zeros_like(to_mask), 1e-12,
          1e-12)
    certain = np.eye(4)[np.array([[0, 3]])]
    close("u where p(x_1^i | x_t) = delta(x_t^i)", velocity.probability_velocity(certain, np.array([[0, 3]]), 0.5,
                                                                                  scheduler, 5), np.zeros((1, 2, 5)),
          1e-12, 1e-12)


# --- the Euler step ------------------------------------------------------------------------------

_STEPS = (0.05, 0.4, 1.5)


def _draw_euler(rng, size):
    n, D = size.n, size.d
    V, S, mask = _draw_tokens(rng, size)
    x_t = rng.integers(S, size=(n, D))
    rates = rng.exponential(1.0, (n, D, S)) * (rng.random((n, D, S)) < 0.7)  # some rates zero
    if mask:
        rates[..., V] = 0.0  # nothing jumps to MASK
    rates[np.arange(S) == x_t[..., None]] = 0.0
    u = rates - np.where(np.arange(S) == x_t[..., None], rates.sum(axis=-1, keepdims=True), 0.0)
    return {"x_t": x_t, "u": u, "h": _STEPS[size.variant // 2 % 3], "S": S}


def _call_euler(pkg, case):
    return {"p": module(pkg, "discrete/velocity").euler_probabilities(case["x_t"], case["u"], case["h"], case["S"])}


def euler_step_is_a_probability(pkg):
    """For any h the step's rows are probabilities (>= 0, summing to 1); for h small enough that no entry is
    negative, they are delta(y, x_t^i) + h u exactly; and a token at rate zero stays."""
    velocity, rng = module(pkg, "discrete/velocity"), np.random.default_rng(5)
    case = _draw_euler(rng, Size(5, 3, variant=1))
    for h in (0.01, 3.0):
        p = np.asarray(velocity.euler_probabilities(case["x_t"], case["u"], h, case["S"]))
        if p.shape != case["u"].shape or np.any(p < 0):
            raise AssertionError(f"with h = {h} the probabilities must have the shape of u, {case['u'].shape}, "
                                 f"and be >= 0")
        close(f"the row sums with h = {h}", p.sum(axis=-1), np.ones(p.shape[:-1]), 1e-9, 1e-12)
    small = 1e-3
    stay = np.arange(case["S"]) == case["x_t"][..., None]
    close("the step for h = 0.001 (delta + h u, nothing to clip)",
          velocity.euler_probabilities(case["x_t"], case["u"], small, case["S"]), stay + small * case["u"])
    still = velocity.euler_probabilities(case["x_t"], np.zeros_like(case["u"]), 0.5, case["S"])
    close("the step with u = 0 (every token stays)", still, stay.astype(float))


#: The checks of chapter 9, by exercise.
CHECKS = {
    "sample_path": Check(_draw_sample_path, _call_sample_path, 4, (Size(4, 3), Size(3, 2, variant=1)),
                         (path_reveals_tokens_at_kappa,), dtypes=("int64",)),
    "probability_velocity": Check(_draw_velocity, _call_velocity, 6, (Size(3, 2), Size(2, 2, variant=3)),
                                  (velocity_is_a_rate_matrix_row,), dtypes=("float64",)),
    "euler_probabilities": Check(_draw_euler, _call_euler, 6, (Size(3, 2), Size(2, 3, variant=3)),
                                 (euler_step_is_a_probability,), dtypes=("float64",)),
}
