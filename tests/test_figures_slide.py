"""Figures fit for a slide: markers sized by n, colours that a legend or a bar explains, the target as
contour lines over the samples, legible NFE panels, quick mode marked on the figure, and files of
150 dpi and 800 px at least (vectors for .svg and .pdf)."""
import struct

import numpy as np
import pytest
from matplotlib.contour import ContourSet
from PIL import Image

from npflow.core.oracle import exact_velocity
from npflow.core.sampling import generate, noise
from npflow.data.datasets import GMM, TWO_GAUSSIANS
from npflow.plumbing import plot, plot_curves, plot_images, plot_parts


def png_size(path):
    """(width, height) in pixels, from the PNG's header (its IHDR chunk), and its dots per inch where it says."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    at = data.find(b"pHYs")
    dpi = struct.unpack(">I", data[at + 4:at + 8])[0] * 0.0254 if at > 0 else None  # pixels per metre
    return width, height, dpi


@pytest.fixture(scope="module")
def trajectory():
    return generate(exact_velocity(TWO_GAUSSIANS), noise(300, 2, np.random.default_rng(0)), "rk4", steps=20)


def test_marker_size_and_opacity_fall_with_n_by_the_stated_rule():
    few, some, many = (plot_parts.marker_style(n) for n in (100, 1000, 10_000))
    assert (few["s"], few["alpha"]) == (36.0, 1.0)  # a hundred: large and solid
    assert some["s"] == pytest.approx(4.0) and some["alpha"] == pytest.approx(np.sqrt(0.4))
    assert (many["s"], many["alpha"]) == (1.5, 0.2)  # ten thousand: small and light
    assert plot_parts.marker_style(10**7)["alpha"] == 0.15 and plot_parts.marker_style(1)["s"] == 36.0


def test_samples_scale_their_markers_and_draw_the_target_as_lines_over_them():
    target = TWO_GAUSSIANS.sample(2000, np.random.default_rng(1))
    generated = {"few": target[:100], "many": TWO_GAUSSIANS.sample(20_000, np.random.default_rng(2))}
    fig = plot.samples(target, generated, target_log_p=TWO_GAUSSIANS.log_prob)
    for ax, n in zip(fig.axes, (100, 20_000)):
        (points,) = ax.collections[:1]
        assert points.get_sizes()[0] == plot_parts.marker_style(n)["s"]
        assert points.get_alpha() == plot_parts.marker_style(n)["alpha"]
        (lines,) = [c for c in ax.get_children() if isinstance(c, ContourSet)]
        assert lines.get_zorder() > points.get_zorder()  # over the samples: the target hides none of them
        assert not any(len(c.get_offsets()) == len(target) for c in ax.collections)  # no cloud of the target beneath
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["generated (100 points)", "target: its densest 50% and 90%"]


def test_target_contour_of_a_draw_holds_about_its_share_of_the_mass():
    """The 50 % line of a draw's smoothed histogram encloses about half of a fresh draw."""
    from matplotlib.figure import Figure
    from matplotlib.path import Path

    ax = Figure().subplots()
    box = plot.bounds_around(GMM.sample(4000, np.random.default_rng(0)))
    plot_parts.target_contour(ax, box, target=GMM.sample(4000, np.random.default_rng(0)), masses=(0.5,))
    (lines,) = [c for c in ax.get_children() if isinstance(c, ContourSet)]
    fresh = GMM.sample(4000, np.random.default_rng(1))
    inside = np.zeros(len(fresh), bool)
    for path in lines.get_paths():
        for polygon in path.to_polygons():
            inside |= Path(polygon).contains_points(fresh)
    assert 0.4 < inside.mean() < 0.6


def test_more_than_three_sample_panels_wrap_to_a_second_row():
    x = TWO_GAUSSIANS.sample(200, np.random.default_rng(0))
    fig = plot.samples(x, {f"NFE {k}": x for k in (1, 2, 4, 8)})
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(shown) == 4 and len({round(ax.get_position().y0, 3) for ax in shown}) == 2


def test_guidance_maps_each_colour_to_its_class_in_a_legend():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    rows = {"learned": {w: GMM.sample(150, rng) for w in (-1.0, 0.0, 2.0)}}
    fig = plot.guidance(GMM.sample(300, rng), rows, y, means=GMM.means)
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[:3] == ["0", "1", "2"] and legend.get_title().get_text() == "class asked for"
    colours = plot_parts.label_colours(3)
    for handle, colour in zip(legend.legend_handles[:3], colours):
        np.testing.assert_allclose(handle.get_color(), colour)
    assert all(any(isinstance(c, ContourSet) for c in ax.get_children()) for ax in fig.axes)


def test_time_slices_share_one_count_scale_with_its_colour_bar(trajectory):
    fig = plot.time_slices(trajectory, times=(0.0, 0.5, 1.0))
    bars = [child for ax in fig.axes for child in ax.child_axes]
    assert len(bars) == 1 and bars[0].get_ylabel() == "points per bin"
    norms = {id(ax.collections[0].norm) for ax in fig.axes if ax.collections}
    assert len(norms) == 1


def test_nfe_panels_take_few_labelled_curves_and_share_their_axes():
    nfe = [1, 4, 16, 64]
    panels = {"flow": {"Euler": (nfe, [1, 0.3, 0.1, 0.05]), "RK4": (nfe, [0.5, 0.1, 0.05, 0.05], [0.1] * 4)},
              "diffusion": {"DDPM": (nfe, [2, 0.5, 0.1, 0.06]), "DDIM": (nfe, [1, 0.2, 0.07, 0.05])}}
    fig = plot.against_nfe(panels, floor=0.04, title="two_gaussians")
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["Euler", "RK4", "floor: two fresh draws"]
    assert left.get_shared_y_axes().joined(left, right) and left.get_xscale() == "log"
    too_many = {"crowded": {f"s{k}": (nfe, [1, 1, 1, 1]) for k in range(plot_curves.MAX_CURVES + 1)}}
    with pytest.raises(ValueError, match="split them over more panels"):
        plot.against_nfe(too_many)


def test_quick_mode_is_written_on_the_figure_above_every_panel():
    x = TWO_GAUSSIANS.sample(200, np.random.default_rng(0))
    plain = plot.samples(x, {"a": x})
    assert plot.mark_quick(plain, quick=False) is plain and not plain.texts
    height = plain.get_figheight()
    fig = plot.mark_quick(plot.samples(x, {"a": x}, title="a title"))
    (note,) = [text for text in fig.texts if text is not fig._suptitle]
    assert note.get_text() == plot.QUICK_NOTE == "quick: too small to conclude"
    assert fig.get_figheight() > height
    fig.canvas.draw()
    box = note.get_window_extent()
    assert all(box.y0 >= artist.get_window_extent().y1 - 1 for artist in [*fig.axes, fig._suptitle])


def test_digit_grids_say_their_weight_and_what_their_rows_are():
    rows = {str(k): np.zeros((3, 64)) for k in range(2)}
    fig = plot_images.image_grid(rows, title="samples, w = 1", row_label="class asked for")
    assert fig.get_suptitle() == "samples, w = 1" and fig.get_supylabel() == "class asked for"
    fig = plot_images.image_grids({plot.weight_title(w): rows for w in (-1.0, 2.0)}, title="per w",
                                  row_label="class asked for")
    assert [sub.get_suptitle() for sub in fig.subfigs] == ["w = -1 (unconditional)", "w = 2"]
    assert fig.get_supylabel() == "class asked for"


@pytest.mark.parametrize("size", [(3.0, 2.0), (6.0, 4.0), (14.0, 3.0)])
def test_a_saved_png_has_150_dpi_and_800_px_on_its_long_side(tmp_path, size):
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    fig.subplots().plot([0, 1])
    plot.save(fig, tmp_path / "f.png")
    width, height, dpi = png_size(tmp_path / "f.png")
    assert max(width, height) >= 800 and dpi >= 149.9


def test_svg_and_pdf_stay_vectors(tmp_path):
    x = TWO_GAUSSIANS.sample(200, np.random.default_rng(0))
    for suffix in (".svg", ".pdf"):
        plot.save(plot.samples(x, {"a": x}), tmp_path / f"f{suffix}")
    svg = (tmp_path / "f.svg").read_text()
    assert svg.startswith("<?xml") and "<path" in svg and "<image" not in svg  # drawn, not pasted as pixels
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"


def test_gifs_are_800_px_on_their_long_side(tmp_path, trajectory):
    plot.animation(trajectory, tmp_path / "flow.gif", frames=4, n_points=100, quick=True)
    frames = np.random.default_rng(0).integers(0, 17, (3, 2, 3, 64)).astype(float)
    plot_images.image_animation(frames, np.linspace(0, 1, 3), tmp_path / "grid.gif", names=["0", "1"], title="w = 1")
    for name in ("flow.gif", "grid.gif"):
        with Image.open(tmp_path / name) as gif:
            assert max(gif.size) >= 800 and (tmp_path / name).stat().st_size < 3_000_000
