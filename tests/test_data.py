import numpy as np
import pytest

from npflow.data.datasets import DATASETS, EIGHT_GAUSSIANS, get_dataset


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shape_and_determinism(name):
    dataset = get_dataset(name)
    a = dataset.sample(500, np.random.default_rng(7))
    b = dataset.sample(500, np.random.default_rng(7))
    assert a.shape == (500, dataset.dim) and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dataset.sample(500, np.random.default_rng(8)))


def test_eight_gaussians_radius_and_spread():
    np.testing.assert_allclose(np.linalg.norm(EIGHT_GAUSSIANS.means, axis=1), 4.0)
    x = get_dataset("eight_gaussians").sample(80_000, np.random.default_rng(0))
    k = np.argmin(((x[:, None, :] - EIGHT_GAUSSIANS.means) ** 2).sum(axis=2), axis=1)
    assert np.bincount(k) / len(x) == pytest.approx(np.full(8, 1 / 8), abs=0.01)
    assert (x - EIGHT_GAUSSIANS.means[k]).std() == pytest.approx(0.5, rel=0.03)


def test_circles_radii():
    r = np.linalg.norm(get_dataset("circles").sample(10_000, np.random.default_rng(0)), axis=1)
    inner, outer = r[r < 3], r[r >= 3]
    assert inner.mean() == pytest.approx(2.0, abs=0.02) and outer.mean() == pytest.approx(4.0, abs=0.02)
    assert len(inner) / len(r) == pytest.approx(0.5, abs=0.02)


def test_checkerboard_uses_only_dark_squares():
    x = get_dataset("checkerboard").sample(10_000, np.random.default_rng(0))
    assert np.all(np.abs(x) <= 4)
    square = np.floor((x + 4) / 2).astype(int)  # (i, j) of each point's square
    assert np.all((square.sum(axis=1) % 2) == 0)
    assert len(np.unique(square, axis=0)) == 8


def test_moons_spirals_and_swiss_roll_stay_in_their_documented_boxes():
    rng = np.random.default_rng(0)
    moons = get_dataset("moons").sample(10_000, rng)
    assert np.abs(moons.mean(axis=0)).max() < 0.05 and np.abs(moons[:, 0]).max() < 4.5
    spirals = get_dataset("spirals").sample(10_000, rng)
    assert np.linalg.norm(spirals, axis=1).max() < 0.4 * 3 * np.pi + 0.5
    roll = get_dataset("swiss_roll").sample(10_000, rng)
    radius = np.linalg.norm(roll, axis=1)
    assert radius.min() > 1.5 * np.pi / 2.5 - 0.5 and radius.max() < 4.5 * np.pi / 2.5 + 0.5


def test_gmm_dataset_has_its_documented_weights_and_widths():
    from npflow.data.datasets import GMM

    dataset = get_dataset("gmm")
    assert dataset.mixture is GMM and dataset.means.shape == (3, 2)
    x = dataset.sample(60_000, np.random.default_rng(0))
    k = np.argmax(GMM.posterior(x), axis=1)  # the components barely overlap
    assert np.bincount(k) / len(x) == pytest.approx([0.5, 0.3, 0.2], abs=0.01)
    assert [(x[k == j] - GMM.means[j]).std() for j in range(3)] == pytest.approx([0.6, 0.9, 0.4], rel=0.03)


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_a_file_dataset_draws_rows_of_the_file(tmp_path, suffix):
    points = np.arange(15.0).reshape(5, 3)  # any d works
    path = str(tmp_path / f"points{suffix}")
    if suffix == ".npy":
        np.save(path, points)
    else:
        np.savetxt(path, points, delimiter=",", header="x,y,z")  # the header line starts with '#'
    dataset = get_dataset(path)
    x = dataset.sample(2000, np.random.default_rng(0))
    assert dataset.dim == 3 and x.shape == (2000, 3)
    rows = {tuple(row) for row in points}
    assert {tuple(row) for row in x} == rows  # only rows of the file, all of them at this size
    counts = np.unique(x[:, 0], return_counts=True)[1]
    assert counts / 2000 == pytest.approx(np.full(5, 0.2), abs=0.04)  # uniformly
    np.testing.assert_array_equal(x, dataset.sample(2000, np.random.default_rng(0)))


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    (np.zeros(4), r"shape \(n, d\) with n >= 2, got shape \(4,\)"),
    (np.zeros((1, 2)), r"n >= 2, got shape \(1, 2\)"),
    (np.array([[0.0, 1.0], [np.nan, 2.0]]), "NaN or infinite values in 1 of its 2 rows"),
    (np.array([["a", "b"], ["c", "d"]]), "one numeric array"),
    (np.array([{"a": 1}, None], dtype=object), "holds Python objects, which only unpickling could read"),
])
def test_bad_data_files_are_refused_with_one_line(tmp_path, content, message):
    path = str(tmp_path / "bad.npy")
    if content is not None:
        np.save(path, content, allow_pickle=True)
    with pytest.raises(ValueError, match=message) as error:
        get_dataset(path)
    assert "bad.npy" in str(error.value) and "\n" not in str(error.value)
    assert "allow_pickle" not in str(error.value)  # numpy's advice, never ours


@pytest.mark.parametrize("text, message", [
    ("1,2\nthree,4\n", "cannot be read as an array of numbers"),
    ("", "holds no numbers"),
    ("# x,y\n", "holds no numbers"),
    ("1,2\n3,4,5\n", r"\(the number of columns changed from 2 to 3 at row 2\)$"),
    ("1,2\n", r"n >= 2, got shape \(1, 2\)"),
])
def test_a_csv_that_is_not_a_table_of_numbers_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"dataset file '{path}'.*{message}") as error:
        get_dataset(str(path))
    assert "\n" not in str(error.value)


def test_unknown_names_say_what_is_accepted():
    with pytest.raises(ValueError, match="unknown dataset 'nine_gaussians'.*or a .npy or .csv file"):
        get_dataset("nine_gaussians")


def test_sources():
    from npflow.data.datasets import get_source

    x_0 = get_source("gaussian", 3).sample(4, np.random.default_rng(5))
    np.testing.assert_array_equal(x_0, np.random.default_rng(5).standard_normal((4, 3)))  # the tutorial's draw
    assert get_source("moons", 2) is get_dataset("moons")
    with pytest.raises(ValueError, match="has dimension 2, but the data has dimension 3"):
        get_source("moons", 3)


def test_a_file_dataset_is_what_the_file_holds_when_asked_for(tmp_path):
    path = str(tmp_path / "points.npy")
    np.save(path, np.zeros((3, 2)))
    first = get_dataset(path)
    np.save(path, np.ones((3, 2)))  # same size and shape: only the numbers change
    np.testing.assert_array_equal(get_dataset(path).sample(4, np.random.default_rng(0)), np.ones((4, 2)))
    draw = first.sample(4, np.random.default_rng(0))
    draw += 5.0  # a draw is the caller's own: writing into it changes no later draw
    np.testing.assert_array_equal(first.sample(4, np.random.default_rng(0)), np.zeros((4, 2)))


@pytest.mark.parametrize("dim", [1, 3])
def test_the_gaussian_source_knows_its_density(dim, rng):
    """log N(x; 0, I) against scipy's, independently written."""
    import scipy.stats

    from npflow.data.datasets import get_source

    x = rng.standard_normal((5, dim)) * 2.0
    np.testing.assert_allclose(get_source("gaussian", dim).log_prob(x),
                               scipy.stats.multivariate_normal(np.zeros(dim), np.eye(dim)).logpdf(x), rtol=1e-12)


def test_a_mixture_knows_its_density_and_other_data_do_not(rng):
    import scipy.stats

    from npflow.data.datasets import GMM

    x = rng.standard_normal((5, 2)) * 3.0
    expected = np.log(sum(w * scipy.stats.multivariate_normal(m, s**2 * np.eye(2)).pdf(x)
                          for w, m, s in zip([0.5, 0.3, 0.2], GMM.means, [0.6, 0.9, 0.4])))
    np.testing.assert_allclose(get_dataset("gmm").log_prob(x), expected, rtol=1e-10)
    assert get_dataset("moons").log_prob is None


# --- labels ---------------------------------------------------------------------------------------

LABELLED = {"two_gaussians": 2, "eight_gaussians": 8, "gmm": 3, "moons": 2, "checkerboard": 8, "digits": 10}


def test_the_datasets_with_natural_classes_are_the_labelled_ones():
    assert {name: dataset.num_classes for name, dataset in DATASETS.items() if dataset.num_classes} == LABELLED
    assert all(dataset.sample_labelled is None for dataset in DATASETS.values() if not dataset.num_classes)


@pytest.mark.parametrize("name", sorted(LABELLED))
def test_a_labelled_draw_is_the_unlabelled_draw_to_the_bit_with_its_labels(name):
    dataset = get_dataset(name)
    x, y = dataset.sample_labelled(3000, np.random.default_rng(11))
    np.testing.assert_array_equal(x, dataset.sample(3000, np.random.default_rng(11)))
    assert y.shape == (3000,) and np.issubdtype(y.dtype, np.signedinteger)
    np.testing.assert_array_equal(np.unique(y), np.arange(LABELLED[name]))  # every class turns up at this size


@pytest.mark.parametrize("name", ["two_gaussians", "eight_gaussians", "gmm"])
def test_label_k_of_a_mixture_is_its_kth_component(name):
    """Each class has the weight, mean and std of component k (5 standard errors), in the order of ``means``."""
    dataset = get_dataset(name)
    gmm, n = dataset.mixture, 40_000
    x, y = dataset.sample_labelled(n, np.random.default_rng(2))
    assert dataset.means is gmm.means
    for k, (w_k, m_k, s_k) in enumerate(zip(gmm.weights, gmm.means, gmm.stds)):
        x_k = x[y == k]
        assert abs(len(x_k) / n - w_k) < 5 * np.sqrt(w_k * (1 - w_k) / n)
        assert np.all(np.abs(x_k.mean(axis=0) - m_k) < 5 * s_k / np.sqrt(len(x_k)))
        assert np.all(np.abs(x_k.std(axis=0) - s_k) < 5 * s_k / np.sqrt(2 * len(x_k)))


def test_label_of_moons_is_the_arc_without_noise():
    """Without noise a point of the upper moon lies on the unit circle about (0, 0) of the unscaled picture, a
    point of the lower one on the unit circle about (1, 1/2)."""
    from npflow.data.datasets import moons

    x, y = moons(500, np.random.default_rng(0), noise=0.0, labels=True)
    unscaled = x / 2.5 + [0.5, 0.25]
    centre = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(unscaled - centre, axis=1), 1.0, atol=1e-12)


def test_label_of_checkerboard_is_its_square_row_by_row():
    x, y = get_dataset("checkerboard").sample_labelled(4000, np.random.default_rng(0))
    i, j = np.floor((x + 4.0) / 2.0).astype(int).T  # column and row of each point's square
    np.testing.assert_array_equal(y, 2 * j + i // 2)
    centres = np.array([x[y == k].mean(axis=0) for k in range(8)])  # (-3, -3), (1, -3), (-1, -1), (3, -1), ...
    np.testing.assert_allclose(centres, [[-3, -3], [1, -3], [-1, -1], [3, -1], [-3, 1], [1, 1], [-1, 3], [3, 3]],
                               atol=0.15)


def test_an_npz_of_points_and_labels_draws_whole_rows(tmp_path):
    points, labels = np.arange(12.0).reshape(6, 2), np.array([2, 0, 1, 1, 0, 2], dtype=np.uint8)
    np.savez(tmp_path / "mine.npz", x=points, y=labels)
    np.save(tmp_path / "mine.npy", points)
    dataset = get_dataset(str(tmp_path / "mine.npz"))
    assert dataset.num_classes == 3 and dataset.dim == 2
    x, y = dataset.sample_labelled(500, np.random.default_rng(4))
    rows = (x[:, 0] // 2).astype(int)  # which row of the file each point is
    np.testing.assert_array_equal(y, labels[rows])
    assert y.dtype == np.int64
    np.testing.assert_array_equal(x, get_dataset(str(tmp_path / "mine.npy")).sample(500, np.random.default_rng(4)))


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((4, 2))}, r"must hold arrays named x \(the points\) and y \(their labels\), got \['x'\]"),
    ({"x": np.zeros((4, 2)), "y": np.array([0.0, 1.0, 0.0, 1.0])}, "y must hold integer labels, got dtype float64"),
    ({"x": np.zeros((4, 2)), "y": np.array([True, False, True, False])}, "y must hold integer labels, got dtype bool"),
    ({"x": np.zeros((4, 2)), "y": np.array([0, 1, 0])}, r"one label per point, shape \(4,\), got shape \(3,\)"),
    ({"x": np.zeros((4, 2)), "y": np.array([0, -1, 0, 1])}, "y must hold labels 0, 1, 2, ..., got -1"),
    ({"x": np.zeros((4, 2)), "y": np.array([0, 2, 0, 2])},
     r"class 1 has no examples; the labels must be 0 .. K - 1 \(here K = 3\) with every class present"),
    ({"x": np.array(["a", "b"]), "y": np.array([0, 0])}, "x must hold numbers, got dtype <U1"),
    ({"x": np.zeros(4), "y": np.array([0, 0, 0, 0])}, r"shape \(n, d\) with n >= 2, got shape \(4,\)"),
])
def test_bad_labels_in_an_npz_are_refused_in_one_line(tmp_path, arrays, message):
    path = tmp_path / "labelled.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=f"^dataset file '{path}'.*{message}") as error:
        get_dataset(str(path))
    assert "\n" not in str(error.value)


def test_only_a_dataset_with_labels_serves_a_conditional_run():
    from npflow.data.datasets import labelled_dataset

    assert labelled_dataset("moons").num_classes == 2
    with pytest.raises(ValueError, match="dataset 'spirals' has no labels; a conditional run needs one that has: "
                                         "two_gaussians, eight_gaussians, gmm, moons, checkerboard, digits, or an .npz"):
        labelled_dataset("spirals")
