"""npflow.discrete against Meta's flow_matching 1.0.10: the path's draw, the velocity and the solver's step.

Runs only where torch and flow_matching are installed (the benchmarks' extras).

- The path: ``MixtureDiscreteProbPath.sample`` keeps x_0 where torch.rand(...) < sigma_t = 1 - kappa;
  fed the same uniforms, it gives the same x_t bit for bit as ``sample_path``.
- The velocity: ``posterior_to_velocity`` against ``probability_velocity``, to rounding.
- The solver: ``MixtureDiscreteEulerSolver.sample`` draws X_1 ~ p_1 (``categorical``), then jumps to
  it where torch.rand(...) < 1 - exp(-h intensity). Its one-step transition probabilities are read
  off the solver itself: X_1 is set to each symbol v in turn, and the uniform that it compares
  records the jump probability q_v the solver computes (and says "jump" wherever q_v > 0, so that
  the step shows where it lands). Then P(x_t -> v) = p_1(v) q_v for v != x_t, which must equal
  ``flow_matching_probabilities``, to rounding.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from npflow.discrete.paths import sample_path
from npflow.discrete.schedulers import polynomial
from npflow.discrete.sources import draw_source, states
from npflow.discrete.velocity import exponential_probabilities, flow_matching_probabilities, probability_velocity

torch = pytest.importorskip("torch")
pytest.importorskip("flow_matching")
discrete_solver = pytest.importorskip("flow_matching.solver.discrete_solver")
from flow_matching.path import MixtureDiscreteProbPath  # noqa: E402
from flow_matching.path.scheduler import PolynomialConvexScheduler  # noqa: E402
from flow_matching.solver import MixtureDiscreteEulerSolver  # noqa: E402
from flow_matching.utils import ModelWrapper  # noqa: E402


def random_posterior(rng, n, D, V):
    logits = rng.normal(size=(n, D, V)) * 3.0
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_path_draw_is_flow_matchings_bit_for_bit(monkeypatch, k):
    n, D, V = 500, 6, 7
    rng = np.random.default_rng(0)
    x_0, x_1 = rng.integers(V, size=(n, D)), rng.integers(V, size=(n, D))
    t = rng.random(n)
    seed = 42
    uniforms = np.random.default_rng(seed).random((n, D))  # what sample_path draws from default_rng(seed)
    monkeypatch.setattr(torch, "rand", lambda size, **kwargs: torch.from_numpy(uniforms.reshape(size)))
    theirs = MixtureDiscreteProbPath(PolynomialConvexScheduler(n=k)).sample(
        torch.from_numpy(x_0), torch.from_numpy(x_1), torch.from_numpy(t)).x_t.numpy()
    ours = sample_path(x_0, x_1, t, polynomial(k), np.random.default_rng(seed))
    assert 0.2 < np.mean(ours == x_1) < 0.8
    assert_array_equal(ours, theirs)


@pytest.mark.parametrize("source", ["mask", "uniform"])
@pytest.mark.parametrize("k", [1.0, 2.0])
def test_probability_velocity_is_flow_matchings(source, k):
    n, D, V = 40, 3, 5
    S = states(source, V)
    rng = np.random.default_rng(1)
    p_1 = random_posterior(rng, n, D, V)
    x_t = rng.integers(S, size=(n, D))
    t = rng.random(n) * 0.95
    padded = np.concatenate([p_1, np.zeros((n, D, S - V))], axis=-1)
    with np.errstate(divide="ignore"):
        logits = torch.from_numpy(np.log(padded))  # -inf at MASK: softmax gives it 0
    theirs = MixtureDiscreteProbPath(PolynomialConvexScheduler(n=k)).posterior_to_velocity(
        logits, torch.from_numpy(x_t), torch.from_numpy(t)).numpy()
    assert_allclose(probability_velocity(p_1, x_t, t, polynomial(k), S), theirs, rtol=1e-12, atol=1e-14)


class Posterior(ModelWrapper):
    """A model that returns fixed posterior probabilities p_1 (n, D, S), whatever (x, t)."""

    def __init__(self, p_1):
        super().__init__(None)
        self.p_1 = p_1

    def forward(self, x, t, **extras):
        return self.p_1


class JumpProbability:
    """Stands in for ``torch.rand(...)`` in the solver's step: records the jump probability it is compared to."""
    recorded = []

    def __init__(self, size, **kwargs):
        pass

    def __lt__(self, jump_probability):
        JumpProbability.recorded.append(jump_probability.clone())
        return jump_probability > 0  # jump wherever the solver could, to see where it lands


def solver_step(monkeypatch, p_1, x_t, t, h, k, v):
    """One step of MixtureDiscreteEulerSolver from (t, x_t) with X_1 = v everywhere: (jump probability, landing)."""
    n, D = x_t.shape
    JumpProbability.recorded = []
    monkeypatch.setattr(discrete_solver, "categorical",
                        lambda probs: torch.full(probs.shape[:-1], v, dtype=torch.int64))
    monkeypatch.setattr(torch, "rand", JumpProbability)
    solver = MixtureDiscreteEulerSolver(Posterior(torch.from_numpy(p_1)), MixtureDiscreteProbPath(
        PolynomialConvexScheduler(n=k)), vocabulary_size=p_1.shape[-1])
    states_ = solver.sample(torch.from_numpy(x_t.copy()), step_size=None, return_intermediates=True,
                            time_grid=torch.tensor([t, t + h, 1.0], dtype=torch.float64))
    monkeypatch.undo()
    return JumpProbability.recorded[0].numpy(), states_[1].numpy()


@pytest.mark.parametrize("source", ["mask", "uniform"])
@pytest.mark.parametrize("k, t, h", [(1.0, 0.3, 0.05), (1.0, 0.8, 0.1), (2.0, 0.5, 0.2)])
def test_solver_step_probabilities_are_flow_matchings(monkeypatch, source, k, t, h):
    n, D, V = 30, 3, 4
    S = states(source, V)
    rng = np.random.default_rng(2)
    p_1 = random_posterior(rng, n, D, V)
    padded = np.concatenate([p_1, np.zeros((n, D, S - V))], axis=-1)
    x_t = np.concatenate([draw_source(source, n, 2, V, rng), rng.integers(V, size=(n, 1))], axis=1)
    theirs = np.zeros((n, D, S))
    for v in range(V):
        q_v, landed = solver_step(monkeypatch, padded, x_t, t, h, k, v)
        moves = x_t != v
        assert_array_equal(landed[moves], v)  # a jump lands on the drawn X_1
        assert_array_equal(q_v[~moves], 0.0)  # the solver never jumps from x_t to x_t
        theirs[..., v] = p_1[..., v] * q_v
    theirs[np.arange(n)[:, None], np.arange(D), x_t] = 1.0 - theirs.sum(-1)  # stay: the rest
    ours = flow_matching_probabilities(p_1, x_t, np.full(n, t), h, polynomial(k), S)
    assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    if source == "mask":  # where x_t is MASK, p_1(x_t) = 0 and the exponential step is the same
        u = probability_velocity(p_1, x_t, t, polynomial(k), S)
        masked = x_t == V
        assert_allclose(exponential_probabilities(x_t, u, h, S)[masked], theirs[masked], rtol=1e-12, atol=1e-14)
