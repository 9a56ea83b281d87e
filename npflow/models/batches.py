"""How a run draws its training batches (x_0, x_1, t), coupled as its recipe says, with labels where it has them.

Every draw comes from the run's one generator, in a fixed order: t, then x_1 (with its labels),
then x_0, then what the coupling draws. The same recipe therefore gives the same batches, bit
for bit, in float64 and float32.
"""
from ..core.couplings import coupling_for
from ..core.training import draw_batch
from ..data.datasets import get_dataset, get_source, labelled_dataset
from ..data.pairs import draw_pairs, load_pairs
from ..guidance.conditional import pair_within_labels
from ..guidance.labels import drop_labels

__all__ = ["labelled_batch_sampler", "batch_sampler"]


def labelled_batch_sampler(config, p_uncond):
    """How a conditional run draws its batches: a function ``draw(n, rng) -> (x_0, x_1, t, y)``.

    The same draws, in the same order, as an unconditional run's (``batch_sampler``): t, then
    x_1 with its labels, then x_0. Then one uniform per label for the label dropout with
    probability ``p_uncond`` (``drop_labels``), and last the coupling, within each label
    (``pair_within_labels``).
    x_0, x_1 and t come in ``config.dtype``.
    """
    dataset = labelled_dataset(config.dataset)
    sample_source = get_source(config.source, dataset.dim).sample
    pair = coupling_for(config.coupling, config.ot_reg)

    def draw(n, rng):
        t = rng.random(n)  # (n,)
        x_1, y = dataset.sample_labelled(n, rng)  # (n, d): the points an unlabelled draw gives; (n,) their labels
        x_0 = sample_source(n, rng)  # (n, d)
        y = drop_labels(y, p_uncond, rng)  # (n,): some labels become NO_LABEL
        if config.coupling != "independent":  # which keeps the pairs as drawn
            x_0, x_1 = pair_within_labels(pair, x_0, x_1, y, rng)
        x_0, x_1, t = (a.astype(config.dtype, copy=False) for a in (x_0, x_1, t))
        return x_0, x_1, t, y

    return draw


def batch_sampler(config):
    """How a run draws its batches: a function ``draw(n, rng) -> (x_0, x_1, t)``, coupled as ``config`` says.

    With ``coupling="pairs"``, t ~ U(0, 1) and then whole pairs from the table in
    ``config.pairs_file``; otherwise ``draw_batch`` from the dataset and the source, re-paired by
    the coupling (independent: as drawn; ot: by optimal transport). The arrays come in
    ``config.dtype``; the draws are the same for every dtype.
    """
    if config.coupling == "pairs":
        table = load_pairs(config.pairs_file)

        def coupled(n, rng):
            t = rng.random(n)
            x_0, x_1 = draw_pairs(*table, n, rng)
            return x_0, x_1, t
    else:
        dataset = get_dataset(config.dataset)
        sample_data, sample_source = dataset.sample, get_source(config.source, dataset.dim).sample
        pair = coupling_for(config.coupling, config.ot_reg)

        def coupled(n, rng):
            x_0, x_1, t = draw_batch(sample_data, n, rng, sample_source)
            x_0, x_1 = pair(x_0, x_1, rng)
            return x_0, x_1, t

    def draw(n, rng):
        return tuple(a.astype(config.dtype, copy=False) for a in coupled(n, rng))

    return draw
