import numpy as np
import pytest
from PIL import Image

from npflow.plumbing import plot
from npflow.data import TWO_GAUSSIANS
from npflow.oracle import exact_velocity
from npflow.sampling import generate, noise


@pytest.fixture(scope="module")
def trajectory():
    return generate(exact_velocity(TWO_GAUSSIANS), noise(300, 2, np.random.default_rng(0)), "rk4", steps=20)


def drawn(fig):
    """The figure renders to a non-blank image."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    return np.asarray(Image.open(buffer).convert("L"), dtype=float).std() > 5


def test_samples(trajectory):
    fig = plot.samples(TWO_GAUSSIANS.sample(200, np.random.default_rng(1)), {"a": trajectory.x[-1], "b": trajectory.x[0]})
    assert len(fig.axes) == 2 and [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert len(fig.axes[0].collections) == 2 and drawn(fig)


def test_trajectories(trajectory):
    fig = plot.trajectories(trajectory, n_paths=50)
    lines = fig.axes[0].collections[0]
    assert len(lines.get_segments()) == 20 * 50  # a segment per step per path
    np.testing.assert_allclose(lines.get_array().min(), 0.025)  # coloured by the time of each segment
    assert drawn(fig)


def test_field_side_by_side_with_the_exact_one():
    f = exact_velocity(TWO_GAUSSIANS)
    fig = plot.field(f, times=(0.0, 0.5, 1.0), resolution=7, exact=f)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["learned, t = 0", "learned, t = 0.5", "learned, t = 1", "exact, t = 0", "exact, t = 0.5", "exact, t = 1"]
    arrows = fig.axes[0].collections[0]
    assert arrows.N == 49 and drawn(fig)


def test_density():
    fig = plot.density(TWO_GAUSSIANS.log_prob, [[-7, -4], [7, 4]], resolution=30, target_log_p=TWO_GAUSSIANS.log_prob)
    mesh = fig.axes[0].collections[0]
    assert mesh.get_array().size == 30 * 30 and mesh.get_array().max() == pytest.approx(0.5 / (2 * np.pi), rel=0.05)
    assert drawn(fig)


def test_loss_with_field_errors():
    fig = plot.loss(np.linspace(5, 3, 500), window=50, field_errors=np.array([[100, 0.5], [500, 0.1]]))
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1 and drawn(fig)


def test_time_slices(trajectory):
    fig = plot.time_slices(trajectory, times=(0.0, 0.5, 1.0))
    assert [ax.get_title() for ax in fig.axes[:3]] == ["x_t at t = 0.00", "x_t at t = 0.50", "x_t at t = 1.00"]
    assert drawn(fig)


def test_animation_writes_the_frames(tmp_path, trajectory):
    path = tmp_path / "flow.gif"
    plot.animation(trajectory, path, frames=12, n_points=100)
    with Image.open(path) as gif:
        assert gif.n_frames == 12
