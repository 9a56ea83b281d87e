"""The error bars of npflow evaluate: closed forms, the bootstrap against fresh draws, and the mean over repeats."""
import warnings

import numpy as np
import pytest

from npflow.core.metrics import energy_distance, kinetic_energy, mmd_rbf, straightness, wasserstein2
from npflow.core.solvers import Trajectory
from npflow.plumbing.error_bars import bootstrap_stderr, mean_sd, mean_stderr, over_repeats, pm, share_stderr, verdict
from npflow.plumbing.evaluate import _sample_distances, energy_distance_stderr, path_figures


def test_a_means_standard_error_is_sd_over_root_n():
    values = np.array([1.0, 2.0, 4.0, 7.0])
    assert mean_stderr(values) == (3.5, pytest.approx(np.std(values, ddof=1) / 2, rel=1e-15))
    assert share_stderr(0.25, 12) == pytest.approx(np.sqrt(5 / 16 * 11 / 16 / 16), rel=1e-15)  # (3 + 2) / (12 + 4)
    assert share_stderr(1.0, 300) > 0.004 and share_stderr(0.0, 300) == pytest.approx(share_stderr(1.0, 300), rel=1e-12)
    assert share_stderr(0.5, 10**6) == pytest.approx(np.sqrt(0.25 / 10**6), rel=1e-5)


def test_the_bootstrap_of_a_mean_finds_sd_over_root_n(rng):
    x = rng.standard_normal(400) * 3.0
    expected = x.std(ddof=1) / np.sqrt(400)
    assert bootstrap_stderr(lambda i: x[i].mean(), (400,), rng, resamples=400) == pytest.approx(expected, rel=0.1)
    m_out_of_n = bootstrap_stderr(lambda i: x[i].mean(), (400,), rng, resamples=400, draws=100)
    assert m_out_of_n == pytest.approx(expected, rel=0.1)  # the spread at m points, scaled by sqrt(m / n)


def test_the_bootstrap_keeps_the_finite_values_and_gives_nan_without_two(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = bootstrap_stderr(lambda i: np.array([np.nan, i.mean()]), (10,), rng, resamples=20)
    assert np.isnan(both[0]) and both[1] > 0


def test_the_paths_figures_and_their_errors_are_those_of_each_path_alone(rng):
    t = np.array([0.0, 0.1, 0.5, 1.0])
    x = np.cumsum(rng.standard_normal((4, 30, 2)), axis=0)
    trajectory = Trajectory(t, x, 3, "rk4")
    figures = path_figures(trajectory)
    for name, figure in (("straightness", straightness), ("kinetic_energy", kinetic_energy)):
        alone = [figure(Trajectory(t, x[:, i:i + 1], 3, "rk4")) for i in range(30)]
        assert figures[name] == figure(trajectory) == pytest.approx(np.mean(alone), rel=1e-12)
        assert figures[f"{name}_stderr"] == pytest.approx(np.std(alone, ddof=1) / np.sqrt(30), rel=1e-12)


@pytest.mark.slow
def test_each_distances_error_bar_is_its_spread_over_fresh_draws():
    """One draw's standard error against the sd of the figure over 40 fresh draws of two 2-D samples."""
    rng, n = np.random.default_rng(1), 200

    def draw():
        return rng.standard_normal((n, 2)) * [1.0, 2.0], rng.standard_normal((n, 2)) + [0.3, 0.0]

    fresh = [(energy_distance(x, y), wasserstein2(x, y), mmd_rbf(x, y)) for x, y in (draw() for _ in range(40))]
    spread = np.std(fresh, axis=0, ddof=1)
    x, y = draw()
    figures = _sample_distances(x, y, rng)
    assert figures["energy_distance"] == energy_distance(x, y) and figures["mmd"] == mmd_rbf(x, y)
    for key, sd in zip(("energy_distance", "w2", "mmd"), spread):
        assert 0.6 < figures[f"{key}_stderr"] / sd < 1.6, key


def test_the_weighted_energy_distance_of_one_draw_each_is_the_energy_distance(rng, monkeypatch):
    """With every point drawn once, the bootstrap's weighted sums give the figure itself."""
    import npflow.plumbing.evaluate as evaluate

    x, y = rng.standard_normal((20, 3)), rng.standard_normal((25, 3))
    seen = []
    monkeypatch.setattr(evaluate, "bootstrap_stderr",
                        lambda statistic, sizes, rng, **kw: seen.append(statistic(*map(np.arange, sizes))) or 0.0)
    value, _ = energy_distance_stderr(x, y, rng)
    figures = evaluate._sample_distances(x[:20], y[:20], rng)
    assert seen[0] == pytest.approx(value, rel=1e-12)
    assert seen[-1] == pytest.approx(figures["mmd"], rel=1e-12)  # the MMD's, last


def test_repeats_give_the_mean_the_spread_and_the_mean_standard_error():
    reports = [{"n": 5, "kl": k, "kl_stderr": 0.1 * k, "baselines": {"a": k}, "baselines_stderr": {"a": 0.5},
                "labels": {"label": [0, 1], "share": [k, 1.0], "share_stderr": [0.1, 0.0]}, "warnings": ["w"]}
               for k in (1.0, 2.0, 3.0)]
    combined = over_repeats(reports)
    assert combined["repeats"] == 3 and combined["n"] == 5 and combined["warnings"] == ["w"]
    assert (combined["kl"], combined["kl_spread"], combined["kl_stderr"]) == (2.0, 1.0, pytest.approx(0.2))
    assert combined["baselines"] == {"a": 2.0} and combined["baselines_spread"] == {"a": 1.0}
    assert combined["labels"]["share"] == [2.0, 1.0] and combined["labels"]["share_spread"] == [1.0, 0.0]
    assert combined["labels"]["label"] == [0, 1]
    assert pm(combined, "kl", 2) == "2.00 ± 1.00" and pm(reports[0], "kl", 2) == "1.00 ± 0.10"


def test_a_verdict_over_seeds_is_paired_differences_in_words_and_quick_mode_concludes_nothing():
    a, b = [1.0, 2.0, 3.0], [2.0, 3.0, 4.1]  # a below b on every seed, by 1.0333 ± 0.0333
    assert mean_sd(a) == "2.000 ± 1.000" and mean_sd(a, 4) == "2.0000 ± 1.0000"
    assert verdict(a, b, "lower", "higher", 4) == "-1.0333 ± 0.0333: lower"
    assert verdict(b, a, "lower", "higher") == "+1.033 ± 0.033: higher"
    assert verdict(a, [3.0, 1.0, 2.5], "lower", "higher").endswith("no difference beyond the noise")
    assert verdict(a, b, "lower", "higher", quick=True).endswith("quick: too small to conclude")
