"""Conditioning and classifier-free guidance: a field told which class to draw.

**The label enters the network as a one-hot.** With K classes, label y becomes a vector of
K + 1 slots, the last one meaning "no label" (``NO_LABEL`` in a label array), appended to the
network's input::

    v_theta(t, x, y) = MLP([t, x, onehot(y)])          input width 1 + d + K + 1

Why a one-hot and not an embedding table: the first layer multiplies the one-hot by the rows
of W_1 that face it, and ``onehot(y) @ W_1[1 + d:] = W_1[1 + d + y]``, a single row picked by
y. That row is what an embedding lookup ``E[y]`` would add to the first layer, so for the
K = 2 to 10 classes here **the one-hot is an embedding with its table folded into W_1: those
K + 1 rows of W_1 ARE the embedding**, learned by the same gradient. An embedding of its own
width e followed by the first layer would only factor that table as (K + 1, e) @ (e, h_1),
which for K + 1 <= 11 rows buys nothing. It pays off for thousands of classes, where a narrow
table saves parameters and a lookup saves the (n, K + 1) product; that is why image models use
``nn.Embedding`` (DiT's label embedder keeps one extra row for its dropped labels, as the
"no label" slot here).

**Label dropout** trains one network to be both conditional and unconditional: each label of a
batch is replaced by ``NO_LABEL`` with probability ``p_uncond`` (``drop_labels``), so the "no
label" slot learns the unconditional field ``v(t, x, no label)``.

**Guidance** (Ho & Salimans, 2022, "Classifier-free diffusion guidance", arXiv:2207.12598; their
form for noise predictions, written here for velocities)::

    v_w(t, x, y) = (1 + w) v(t, x, y) - w v(t, x, no label)

w = 0 is the plain conditional field, w = -1 the unconditional one, w > 0 sharpens. On an
affine Gaussian path v is affine in the score at fixed (t, x), ``v = a_t x + b_t grad log p_t``,
and the weights (1 + w) and -w sum to 1, so guiding v is guiding the score:
``grad log p_t(x | y) + w grad log p_t(y | x)``, the class's own score plus w times a
classifier's pull. For w > 0 that is not the field of any path towards p(x | y): samples are
pushed past the class's own spread, which is what the measurements show.

**How w maps to other libraries.** flow_matching's image example (``CFGScaledModel`` in
``examples/image/training/eval_loop.py``) computes ``(1.0 + cfg_scale) * conditional -
cfg_scale * condition_free``: its ``cfg_scale`` is this w (0 for none). diffusers documents
``guidance_scale`` as "w of equation 2 of the Imagen paper", "enabled by setting
guidance_scale > 1", and its pipelines compute ``uncond + guidance_scale * (cond - uncond)``:
its ``guidance_scale`` is 1 + w (1 for none; the usual 7.5 is w = 6.5).

**The exact answer.** For a Gaussian-mixture target with one label per component, the target
given label k is component k alone, N(m_k, s_k^2 I), so the exact conditional field is the
exact field (``npflow.oracle``) of that one component, and without a label it is the exact
field of the whole mixture. The exact guided field follows from the formula above.

**A conditional run** (``TrainConfig(conditional=True)``, ``npflow train --conditional``) draws
each batch as an unconditional run does, to the bit, with the labels of its x_1 beside it
(``labelled_batch_sampler``), drops labels, and couples the batch within each label, "no label"
being one more (``pair_within_labels``: OT must not pair class k's data with the noise that
suits class j). The labels then enter through the gradient (``labelled_gradient``), autograd's
or the hand-written one. A table of pairs (``coupling="pairs"``, reflow) has no labels, so it
cannot train a conditional run. A trained network gives its guided field by
``learned_guided_velocity``; ``class_measures`` and ``label_field_errors`` measure it class by
class, against the modes and against the exact field.

Label arrays are data, never differentiated: plain NumPy. What autograd traces (the network and
the loss) uses ``autograd.numpy``, without in-place updates or index assignment.
"""
import autograd
import autograd.numpy as anp
import numpy as np

from . import backprop
from .couplings import coupling_for
from .data import get_source, labelled_dataset
from .gmm import GaussianMixture
from .metrics import field_error, nearest_mode
from .mlp import layer_input, layer_sizes, mlp
from .oracle import exact_velocity, points_on_path
from .paths import LinearPath
from .train import mean_squared_error

__all__ = ["NO_LABEL", "check_labels", "label_inputs", "conditional_sizes", "conditional_velocity", "drop_labels",
           "conditional_cfm_loss", "conditional_loss_and_grad", "guided_velocity", "exact_conditional_velocity",
           "exact_guided_velocity", "classes_of", "learned_guided_velocity", "pair_within_labels",
           "labelled_batch_sampler", "labelled_gradient", "equal_shares", "class_measures", "label_field_errors"]

#: The label meaning "no label" in a label array; its one-hot is the last slot, index K.
NO_LABEL = -1


def check_labels(y, num_classes=None):
    """Return ``y`` as an integer array of shape (n,), or raise ValueError in one line.

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Labels in 0 .. K - 1, or ``NO_LABEL``.
    num_classes : int, optional
        K; when given, every label must be below it.
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.signedinteger):
        raise ValueError(f"labels must be a 1-D array of signed integers, got shape {y.shape} and dtype {y.dtype}")
    top = np.inf if num_classes is None else num_classes
    outside = (y < NO_LABEL) | (y >= top)
    if outside.any():
        allowed = "0 or more" if num_classes is None else f"in 0..{num_classes - 1}"
        raise ValueError(f"labels must be {allowed} or NO_LABEL ({NO_LABEL}), got {y[outside][0]}")
    return y


def label_inputs(y, num_classes, dtype=float):
    """The one-hot of each label, with slot K for "no label": shape (n, K + 1).

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Labels in 0 .. K - 1, or ``NO_LABEL``.
    num_classes : int
        K, the number of classes.
    dtype : dtype
        Of the result; the network's input dtype, so float32 stays float32.

    Returns
    -------
    ndarray, shape (n, K + 1)

    Examples
    --------
    >>> label_inputs([2, NO_LABEL], num_classes=3)
    array([[0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    """
    y = check_labels(y, num_classes)
    slot = np.where(y == NO_LABEL, num_classes, y)  # (n,): "no label" is slot K
    return (slot[:, None] == np.arange(num_classes + 1)).astype(dtype)


def conditional_sizes(dim, hidden, num_classes):
    """Widths of every layer of the conditional network: ``[1 + dim + num_classes + 1, *hidden, dim]``.

    The unconditional network's (``npflow.mlp.layer_sizes``) with K + 1 more inputs for the one-hot.
    For ``npflow.init_mlp``.
    """
    first, *rest = layer_sizes(dim, hidden)
    return [first + num_classes + 1, *rest]


def conditional_velocity(params, t, x, y, num_classes, activation="relu"):
    """The learned conditional field ``v_theta(t, x, y) = MLP([t, x, onehot(y)])``.

    Parameters
    ----------
    params : list of (W, b)
        From ``init_mlp(conditional_sizes(d, hidden, num_classes), rng)``.
    t : float or ndarray of shape (n,)
    x : ndarray, shape (n, d)
    y : ndarray of int, shape (n,)
        Labels in 0 .. K - 1, or ``NO_LABEL`` for the unconditional field.
    num_classes : int
    activation : str
        A key of ``npflow.mlp.ACTIVATIONS``.

    Returns
    -------
    v : ndarray, shape (n, d)
        The velocity of each point given its label.

    Examples
    --------
    >>> from npflow.mlp import init_mlp
    >>> params = init_mlp(conditional_sizes(2, [8], 3), np.random.default_rng(0))
    >>> conditional_velocity(params, 0.5, np.zeros((2, 2)), np.array([0, NO_LABEL]), 3).shape
    (2, 2)
    """
    inputs = anp.concatenate([layer_input(t, x), label_inputs(y, num_classes, x.dtype)], axis=1)  # (n, 1 + d + K + 1)
    return mlp(params, inputs, activation)


def drop_labels(y, p_uncond, rng):
    """Label dropout: each label becomes ``NO_LABEL`` with probability ``p_uncond``, independently.

    Parameters
    ----------
    y : ndarray of int, shape (n,)
    p_uncond : float
        In [0, 1]; 0 keeps every label, 1 drops them all.
    rng : numpy.random.Generator
        One uniform draw per label.

    Returns
    -------
    ndarray of int, shape (n,)
        A new array; ``y`` is left as it was.
    """
    y = check_labels(y)
    if not 0.0 <= p_uncond <= 1.0:
        raise ValueError(f"p_uncond must be a probability in [0, 1], got {p_uncond!r}")
    # >>> exercise label_dropout: one uniform draw u per label from rng; where u < p_uncond the label becomes NO_LABEL
    dropped = rng.random(y.shape) < p_uncond  # (n,) booleans, each True with probability p_uncond
    return np.where(dropped, NO_LABEL, y)
    # <<< exercise


def conditional_cfm_loss(params, t, x_t, u_t, y, num_classes, activation="relu"):
    """The conditional CFM loss: ``L = mean((v_theta(t, x_t, y) - u_t)^2)`` over points and coordinates.

    The same regression as ``npflow.train.cfm_loss``, with each point's label (or ``NO_LABEL``,
    after ``drop_labels``) beside it: its minimiser is ``E[u_t | x_t, y]``.

    Parameters
    ----------
    params : list of (W, b)
    t : ndarray, shape (n,)
    x_t, u_t : ndarray, shape (n, d)
    y : ndarray of int, shape (n,)
    num_classes : int
    activation : str

    Returns
    -------
    loss : float
    """
    v_t = conditional_velocity(params, t, x_t, y, num_classes, activation)  # (n, d)
    return mean_squared_error(v_t, u_t)


#: (params, t, x_t, u_t, y, num_classes, activation) -> (loss, dloss/dparams), by reverse-mode autograd.
conditional_loss_and_grad = autograd.value_and_grad(conditional_cfm_loss)


def guided_velocity(f_cond, y, w):
    """Classifier-free guidance: ``v_w(t, x, y) = (1 + w) v(t, x, y) - w v(t, x, no label)``.

    Parameters
    ----------
    f_cond : callable
        A conditional field ``f_cond(t, x, y) -> (n, d)``, y of shape (n,) with ``NO_LABEL``
        allowed: e.g. ``lambda t, x, y: conditional_velocity(params, t, x, y, K)``, or
        ``exact_conditional_velocity(gmm)``.
    y : int or ndarray of int, shape (n,)
        The label asked for: one for every point, or one per point.
    w : float
        Guidance weight: 0 conditional, -1 unconditional, > 0 sharper. (flow_matching's
        ``cfg_scale`` is w; diffusers' ``guidance_scale`` is 1 + w.)

    Returns
    -------
    f : callable
        ``f(t, x) -> (n, d)``, a field every solver and sampler accepts.

    Examples
    --------
    >>> def f_cond(t, x, y):  # a field that moves a point at its label's speed, 0 without one
    ...     return x * 0 + np.where(y == NO_LABEL, 0.0, y + 1.0)[:, None]
    >>> guided_velocity(f_cond, 1, w=3.0)(0.5, np.zeros((1, 2)))   # 4 * 2 - 3 * 0
    array([[8., 8.]])
    """
    w = float(w)
    if not np.isfinite(w):
        raise ValueError(f"the guidance weight w must be a finite number, got {w!r}")
    y = np.asarray(y)
    if w == 0.0:  # v_0 is the conditional field itself: one evaluation instead of two
        return lambda t, x: f_cond(t, x, np.broadcast_to(y, x.shape[:1]))

    def f(t, x):
        labels = np.broadcast_to(y, x.shape[:1])  # (n,): the label asked of each point
        # >>> exercise guided_velocity: v_w = (1 + w) v(t, x, y) - w v(t, x, no label); "no label" is NO_LABEL per point
        v_cond = f_cond(t, x, labels)  # (n, d): v(t, x, y)
        v_uncond = f_cond(t, x, np.full_like(labels, NO_LABEL))  # (n, d): v(t, x, no label)
        return (1 + w) * v_cond - w * v_uncond
        # <<< exercise

    return f


def _component(gmm, k):
    """Component k of ``gmm`` alone, with weight 1: the target given label k."""
    return GaussianMixture(gmm.means[k:k + 1], gmm.stds[k:k + 1])


def exact_conditional_velocity(gmm, sigma_min=0.0, path=None):
    """The exact conditional field of a Gaussian-mixture target, one label per component.

    Given label k the target is component k alone, so the field is that component's exact field;
    without a label it is the whole mixture's::

        u_t(x | y) = sum_k [y = k] u_t^(k)(x) + [y = no label] u_t(x)

    with u_t^(k) = ``exact_velocity`` of N(m_k, s_k^2 I) (weight 1) and u_t that of ``gmm``.
    The brackets are the label's one-hot, so each point gets its own label's field.

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1; label k is its k-th component.
    sigma_min : float
    path : AffinePath, optional
        Any path of ``npflow.paths``; the linear path with ``sigma_min`` by default (as ``exact_velocity``).

    Returns
    -------
    f : callable
        ``f(t, x, y) -> (n, d)``, t a float or shape (n,), x of shape (n, d), y of int of
        shape (n,) in 0 .. K - 1 or ``NO_LABEL``. Autograd-safe in x, like ``exact_velocity``.

    Examples
    --------
    >>> f = exact_conditional_velocity(GaussianMixture([[-4.0, 0.0], [4.0, 0.0]], std=1.0))
    >>> f(0.0, np.zeros((3, 2)), np.array([0, 1, NO_LABEL]))   # from noise to each mean; unlabelled: their average
    array([[-4.,  0.],
           [ 4.,  0.],
           [ 0.,  0.]])
    """
    K = len(gmm.weights)
    fields = [exact_velocity(_component(gmm, k), sigma_min, path) for k in range(K)]
    fields.append(exact_velocity(gmm, sigma_min, path))  # slot K: no label

    def f(t, x, y):
        one_hot = label_inputs(y, K, x.dtype)  # (n, K + 1): [y = k]
        present = np.flatnonzero(one_hot.any(axis=0))  # only the fields some point asks for are evaluated
        return sum(one_hot[:, k, None] * fields[k](t, x) for k in present)  # (n, d)

    return f


def exact_guided_velocity(gmm, sigma_min=0.0, label=NO_LABEL, guidance=0.0, path=None):
    """The exact guided field ``(1 + w) u_t(x | y) - w u_t(x)`` of a Gaussian-mixture target.

    ``guided_velocity`` applied to ``exact_conditional_velocity``. With ``label=NO_LABEL`` it is
    the unconditional exact field, whatever w.

    Parameters
    ----------
    gmm : GaussianMixture
    sigma_min : float
    label : int or ndarray of int, shape (n,)
        The label asked for (k-th component), one for all points or one per point.
    guidance : float
        w.
    path : AffinePath, optional
        The linear path with ``sigma_min`` by default.

    Returns
    -------
    f : callable
        ``f(t, x) -> (n, d)``.
    """
    return guided_velocity(exact_conditional_velocity(gmm, sigma_min, path), label, guidance)


# --- a trained conditional network, and how a conditional run trains -----------------------------

def classes_of(params):
    """K, the number of classes of a conditional network, read from its weights.

    Its first layer takes 1 + d + K + 1 inputs (``conditional_sizes``) and its last gives d outputs.
    """
    (W_1, _), (W_L, _) = params[0], params[-1]  # (1 + d + K + 1, h_1), (h_L, d)
    return W_1.shape[0] - 2 - W_L.shape[1]


def learned_guided_velocity(params, activation="relu", label=NO_LABEL, guidance=0.0):
    """The guided field of a conditional network: ``guided_velocity`` of its ``conditional_velocity``.

    Parameters
    ----------
    params : list of (W, b)
        A conditional network (``conditional_sizes``); K is read from it (``classes_of``).
    activation : str
    label : int or ndarray of int, shape (n,)
        The class asked for; ``NO_LABEL`` (the default) for the unconditional field.
    guidance : float
        w.

    Returns
    -------
    f : callable
        ``f(t, x) -> (n, d)``.
    """
    K = classes_of(params)
    check_labels(np.atleast_1d(label), K)
    return guided_velocity(lambda t, x, y: conditional_velocity(params, t, x, y, K, activation), label, guidance)


def pair_within_labels(pair, x_0, x_1, y, rng):
    """Couple a labelled batch within each label: each group of points with one label ("no label" is one
    more) is paired by ``pair`` on its own.

    A coupling across labels would give a point of class k the noise that suits class j, and
    the field learned for label k would then bend towards class j. Within a group every point
    has the same label, so however ``pair`` reorders it, each x_1 keeps its label.

    Parameters
    ----------
    pair : callable
        A coupling from ``npflow.couplings.coupling_for``, ``pair(x_0, x_1, rng) -> (x_0, x_1)``.
    x_0, x_1 : ndarray, shape (n, d)
    y : ndarray of int, shape (n,)
    rng : numpy.random.Generator
        For a coupling that draws (sinkhorn).

    Returns
    -------
    x_0, x_1 : ndarray, shape (n, d)
        New arrays; row i of both still carries label y[i].
    """
    x_0, x_1 = x_0.copy(), x_1.copy()
    for label in np.unique(y):
        rows = y == label
        x_0[rows], x_1[rows] = pair(x_0[rows], x_1[rows], rng)
    return x_0, x_1


def labelled_batch_sampler(config):
    """How a conditional run draws its batches: a function ``draw(n, rng) -> (x_0, x_1, t, y)``.

    The same draws, in the same order, as an unconditional run's (``npflow.train.batch_sampler``):
    t, then x_1 with its labels, then x_0. Then one uniform per label for the label dropout
    (``drop_labels``), and last the coupling, within each label (``pair_within_labels``).
    x_0, x_1 and t come in ``config.dtype``.
    """
    dataset = labelled_dataset(config.dataset)
    sample_source = get_source(config.source, dataset.dim).sample
    pair = coupling_for(config.coupling, config.ot_reg)

    def draw(n, rng):
        t = rng.random(n)  # (n,)
        x_1, y = dataset.sample_labelled(n, rng)  # (n, d): the points an unlabelled draw gives; (n,) their labels
        x_0 = sample_source(n, rng)  # (n, d)
        y = drop_labels(y, config.p_uncond, rng)  # (n,): some labels become NO_LABEL
        if config.coupling != "independent":  # which keeps the pairs as drawn
            x_0, x_1 = pair_within_labels(pair, x_0, x_1, y, rng)
        x_0, x_1, t = (a.astype(config.dtype, copy=False) for a in (x_0, x_1, t))
        return x_0, x_1, t, y

    return draw


def labelled_gradient(grad, y, num_classes, network="mlp"):
    """The gradient ``npflow.training_step`` takes, ``(params, t, x_t, u_t, activation) -> (loss, grads)``, for a
    batch labelled y.

    Parameters
    ----------
    grad : str
        ``"autograd"``: ``conditional_loss_and_grad``; ``"backprop"``: ``npflow.backprop.loss_and_grad``
        with the one-hot as more input columns (the same numbers to rounding).
    y : ndarray of int, shape (n,)
        The batch's labels, after the dropout.
    num_classes : int
    network : str
        ``"mlp"``, or ``"resnet"`` for ``npflow.resnet_run.resnet_gradient`` (by autograd or by hand likewise).
    """
    if network == "resnet":
        from .resnet_run import resnet_gradient  # here: npflow.resnet_run builds on this module

        return resnet_gradient(grad, y, num_classes)
    if grad == "backprop":
        return lambda params, t, x_t, u_t, activation: backprop.loss_and_grad(
            params, t, x_t, u_t, activation, condition=label_inputs(y, num_classes, x_t.dtype))
    return lambda params, t, x_t, u_t, activation: conditional_loss_and_grad(params, t, x_t, u_t, y, num_classes,
                                                                             activation)


# --- what guidance does, measured ----------------------------------------------------------------

def equal_shares(classes, n):
    """n labels that share ``classes`` equally, in blocks: point i asks for ``classes[i * C // n]`` (C classes).

    Examples
    --------
    >>> equal_shares([0, 1, 2], 7)
    array([0, 0, 0, 1, 1, 2, 2])
    """
    classes = np.asarray(classes)
    return classes[np.arange(n) * len(classes) // n]


def class_measures(x, y, means):
    """Where the samples asked for each class land, against the modes of the classes.

    For each label k in y, with x_k the samples asked for k and c_k those of them nearest to
    m_k of all the modes::

        share_k  = |c_k| / |x_k|                         the share that lands in the asked class
        spread_k = sqrt(mean over coordinates of var c_k)  s_k for samples of N(m_k, s_k^2 I)
        shift_k  = |mean(c_k) - m_k|                       how far their centre sits from the mode

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Samples.
    y : ndarray of int, shape (n,)
        The label each sample was asked for.
    means : ndarray, shape (K, d)
        m_k, the mode of class k.

    Returns
    -------
    dict of ndarray, each of shape (number of labels in y,)
        ``label``, ``share``, ``spread`` and ``shift``; spread and shift are NaN for a class
        that fewer than 2 samples land in.
    """
    labels, nearest = np.unique(y), nearest_mode(x, means)  # (C,), (n,)
    rows = {"label": labels, "share": [], "spread": [], "shift": []}
    for k in labels:
        landed = x[(y == k) & (nearest == k)]  # c_k
        rows["share"].append(len(landed) / np.sum(y == k))
        enough = len(landed) > 1
        rows["spread"].append(np.sqrt(landed.var(axis=0, ddof=1).mean()) if enough else np.nan)
        rows["shift"].append(np.linalg.norm(landed.mean(axis=0) - means[k]) if enough else np.nan)
    return {name: np.asarray(values) for name, values in rows.items()}


def label_field_errors(f_learned, f_exact, gmm, labels, n, rng, path=None):
    """The field error of a conditional (or guided) field, per label.

    For each label k, the mean squared gap (``npflow.metrics.field_error``) between the two
    fields given k at n points (t, x_t) of component k's own path: t ~ U(0, 1), x_1 ~ N(m_k, s_k^2 I).

    Parameters
    ----------
    f_learned, f_exact : callable
        ``f_learned(k) -> f(t, x)``: the field given label k, e.g.
        ``lambda k: run.guided_velocity(k, w)`` and ``lambda k: exact_guided_velocity(gmm, 0.0, k, w)``.
    gmm : GaussianMixture
        The target; label k is its k-th component.
    labels : sequence of int
    n : int
        Points per label.
    rng : numpy.random.Generator
    path : AffinePath, optional
        The linear path with sigma_min 0 by default.

    Returns
    -------
    ndarray, shape (len(labels),)
    """
    path = LinearPath() if path is None else path
    return np.array([field_error(f_learned(k), f_exact(k), *points_on_path(_component(gmm, k).sample, path, n, rng))
                     for k in labels])
