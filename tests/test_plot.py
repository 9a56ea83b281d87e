import numpy as np
import pytest
from PIL import Image

from npflow.core.oracle import exact_velocity
from npflow.core.sampling import generate, noise
from npflow.data.datasets import TWO_GAUSSIANS
from npflow.plumbing import plot


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
    assert arrows.N == 7 * 3 and drawn(fig)  # 7 across 14, so 3 down 8 at the same spacing


def test_field_arrows_show_direction_everywhere_and_speed_by_colour():
    """Every arrow has one length, points along v, and is coloured by |v| on one scale for all panels."""
    f = exact_velocity(TWO_GAUSSIANS)
    fig = plot.field(f, times=(0.0, 0.5, 1.0), resolution=9, exact=f)
    speeds = []
    for ax, t in zip(fig.axes, (0.0, 0.5, 1.0)):
        arrows = ax.collections[0]
        v = f(t, arrows.get_offsets())
        moving = np.hypot(*v.T) > 0  # (the exact field is 0 at the centre at t = 0: no direction to show)
        np.testing.assert_allclose(np.hypot(arrows.U, arrows.V)[moving], 1.0)  # unit arrows: direction only
        np.testing.assert_allclose(np.column_stack([arrows.U, arrows.V]) * np.hypot(*v.T)[:, None], v, atol=1e-9)
        np.testing.assert_allclose(arrows.get_array(), np.hypot(*v.T))  # colour: the speed
        speeds.append(np.asarray(arrows.get_array()))
        assert arrows.norm.vmax == fig.axes[0].collections[0].norm.vmax  # one colour scale
    assert arrows.norm.vmax == pytest.approx(np.quantile(np.concatenate(speeds * 2), 0.95))


def as_tall_as(fig, bar, panel):
    """Whether a colour bar's axes span exactly the height of a panel, as drawn."""
    fig.canvas.draw()
    a, b = bar.get_window_extent(), panel.get_window_extent()
    return abs(a.y0 - b.y0) < 1 and abs(a.y1 - b.y1) < 1


def test_density_model_and_target_share_one_colour_scale_and_a_bar_as_tall_as_a_panel():
    wide = lambda points: TWO_GAUSSIANS.log_prob(points / 1.5) - 2 * np.log(1.5)  # noqa: E731  a lower peak
    fig = plot.density(wide, [[-7, -4], [7, 4]], resolution=30, target_log_p=TWO_GAUSSIANS.log_prob)
    model, target = (ax.collections[0] for ax in fig.axes[:2])
    assert model.get_array().max() < 0.5 * target.get_array().max()
    assert model.norm.vmax == target.norm.vmax == target.get_array().max()  # one scale: the higher peak
    bar = fig.axes[1].child_axes[0]
    assert as_tall_as(fig, bar, fig.axes[1])


def test_density():
    fig = plot.density(TWO_GAUSSIANS.log_prob, [[-7, -4], [7, 4]], resolution=30, target_log_p=TWO_GAUSSIANS.log_prob)
    mesh = fig.axes[0].collections[0]
    assert mesh.get_array().size == 30 * 30 and mesh.get_array().max() == pytest.approx(0.5 / (2 * np.pi), rel=0.05)
    assert drawn(fig)


def test_loss_with_field_errors():
    fig = plot.loss(np.linspace(5, 3, 500), window=50, field_errors=np.array([[100, 0.5], [500, 0.1]]))
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1 and drawn(fig)


def test_loss_ticks_are_plain_numbers_and_the_legend_covers_no_curve():
    """A loss between 3 and 8 is labelled 3, 4, 5, 6, 8 (not 6x10^0); the legend sits above the axes."""
    fig = plot.loss(np.linspace(8, 3, 500), window=50, field_errors=np.array([[100, 0.09], [500, 0.045]]))
    fig.canvas.draw()

    def shown(axis):  # the labels of the ticks in view, bottom to top
        low, high = axis.get_view_interval()
        ticks = sorted((label.get_position()[1], label.get_text()) for label in axis.get_ticklabels(which="both"))
        return [text for y, text in ticks if low <= y <= high and text]

    assert shown(fig.axes[0].yaxis) == ["3", "4", "5", "6", "8"]
    assert shown(fig.axes[1].yaxis) == ["0.05", "0.06", "0.08"]
    (legend,) = fig.legends
    top_of_axes = max(ax.get_window_extent().y1 for ax in fig.axes)
    assert legend.get_window_extent().y0 >= top_of_axes - 1


def test_trajectories_colour_bar_is_as_tall_as_the_panel(trajectory):
    fig = plot.trajectories(trajectory, n_paths=50)
    assert as_tall_as(fig, fig.axes[0].child_axes[0], fig.axes[0])


def test_time_slices(trajectory):
    fig = plot.time_slices(trajectory, times=(0.0, 0.5, 1.0))
    assert [ax.get_title() for ax in fig.axes[:3]] == ["x_t at t = 0.00", "x_t at t = 0.50", "x_t at t = 1.00"]
    assert drawn(fig)


def test_animation_writes_the_frames(tmp_path, trajectory):
    path = tmp_path / "flow.gif"
    plot.animation(trajectory, path, frames=12, n_points=100)
    with Image.open(path) as gif:
        assert gif.n_frames == 12
