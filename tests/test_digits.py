import numpy as np
import pytest
from scipy.stats import norm

from npflow.data.digits import load_digits
from npflow.images.pixels import CLASSES, DIM, LEVELS, bits_per_dim, to_model, to_pixels


def test_splits_are_disjoint_and_cover_the_data():
    train, test, everything = (load_digits(split) for split in ("train", "test", "all"))
    assert (len(train.labels), len(test.labels), len(everything.labels)) == (1438, 359, 1797)
    assert train.pixels.shape == (1438, DIM) and train.pixels.dtype == np.float64
    for split in (train, test, everything):
        assert np.array_equal(split.pixels, np.round(split.pixels))
        assert split.pixels.min() == 0 and split.pixels.max() == LEVELS - 1
        assert set(split.labels) == set(range(CLASSES))
    # train and test together are all the images, each once
    rows = lambda d: sorted(map(tuple, np.column_stack([d.pixels, d.labels])))
    assert sorted(rows(train) + rows(test)) == rows(everything)


def test_split_is_the_stated_stratified_permutation():
    """Rebuild is_test from the module docstring's rule: one default_rng(0), class by class."""
    everything, test = load_digits("all"), load_digits("test")
    rng, is_test = np.random.default_rng(0), np.zeros(len(everything.labels), dtype=bool)
    for k in range(CLASSES):
        images = np.flatnonzero(everything.labels == k)
        is_test[images[rng.permutation(len(images))[: round(0.2 * len(images))]]] = True
    np.testing.assert_array_equal(everything.pixels[is_test], test.pixels)
    np.testing.assert_array_equal(everything.labels[is_test], test.labels)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split must be 'train', 'test' or 'all', got 'val'"):
        load_digits("val")


def test_to_pixels_undoes_to_model(rng):
    pixels = load_digits("test").pixels
    x = to_model(pixels, rng)
    assert x.min() >= -1 and x.max() < 1
    np.testing.assert_array_equal(to_pixels(x), pixels)


def test_dequantization_fills_each_bin_uniformly(rng):
    """Pixel v lands uniformly in [v, v + 1) / 17 * 2 - 1: mean at the bin's middle, width 2/17."""
    x = to_model(np.full((20000, 1), 5.0), rng)[:, 0]
    low, high = 5 / LEVELS * 2 - 1, 6 / LEVELS * 2 - 1
    assert x.min() >= low and x.max() < high
    assert x.mean() == pytest.approx((low + high) / 2, abs=1e-3)
    assert x.std() == pytest.approx((high - low) / np.sqrt(12), rel=0.02)


def test_to_pixels_clips_samples_outside_the_range():
    np.testing.assert_array_equal(to_pixels(np.array([[-5.0, 1.0, 40.0, np.nextafter(-1.0, -2)]])), [[0, 16, 16, 0]])


def test_uniform_density_scores_log2_17_bits():
    """Uniform on [0, 17)^64 in pixel units is the uniform density 2^-64 on [-1, 1)^64."""
    np.testing.assert_allclose(bits_per_dim(np.full(3, -DIM * np.log(2.0))), np.log2(17), rtol=1e-14)


def test_bits_per_dim_is_the_discrete_nll_for_a_density_constant_on_each_bin(rng):
    """A density constant on every bin (here in 1-D) makes Jensen's bound an equality, for any u."""
    P = rng.dirichlet(np.ones(LEVELS))  # the discrete model: P(v) for v = 0..16
    v = rng.integers(0, LEVELS, size=50)
    x = to_model(v[:, None].astype(float), rng)  # (50, 1)
    log_p = np.log(P[v] * LEVELS / 2)  # its mass P(v) spread over a bin of width 2/17
    np.testing.assert_allclose(bits_per_dim(log_p, dim=1), -np.log2(P[v]), rtol=1e-12)


def test_bits_per_dim_bounds_the_discrete_nll_from_above(rng):
    """For a smooth 1-D density, E_u[bits] >= -log2 P(v), with P(v) the exact mass of the bin."""
    scale = 0.3
    v = np.arange(LEVELS)
    edges = np.arange(LEVELS + 1) / LEVELS * 2 - 1
    P = norm.cdf(edges[1:], scale=scale) - norm.cdf(edges[:-1], scale=scale)  # exact masses of the bins
    u = (np.arange(4000) + 0.5) / 4000  # a fine midpoint rule for E_u
    x = (v[:, None] + u) / LEVELS * 2 - 1  # (17, 4000)
    expected_bits = bits_per_dim(norm.logpdf(x, scale=scale).ravel(), dim=1).reshape(x.shape).mean(axis=1)
    assert np.all(expected_bits >= -np.log2(P) - 1e-9)
    assert np.any(expected_bits > -np.log2(P) + 1e-3)  # strict where the density bends within a bin


def test_a_split_is_read_once_and_shared_read_only():
    train = load_digits("train")
    assert load_digits("train") is train  # the file is not read again for the next batch
    with pytest.raises(ValueError, match="read-only"):
        train.pixels[0, 0] = 3.0
