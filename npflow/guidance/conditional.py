"""The conditional field and classifier-free guidance: a field told which class to draw.

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

**A conditional run** (``npflow train --conditional``; ``npflow.models.cfm``) draws each batch
as an unconditional run does, to the bit, with the labels of its x_1 beside it, drops labels
(``npflow.guidance.labels``), and couples the batch within each label, "no label" being one
more (``pair_within_labels``: OT must not pair class k's data with the noise that suits class
j). A table of pairs (``coupling="pairs"``, reflow) has no labels, so it cannot train a
conditional run. A trained network gives its guided field by ``learned_guided_velocity``.

Label arrays are data, never differentiated: plain NumPy. What autograd traces (the network and
the loss) uses ``autograd.numpy``, without in-place updates or index assignment.
"""
import autograd
import autograd.numpy as anp
import numpy as np

from ..core.mlp import layer_input, layer_sizes, mlp
from ..core.primitives import mean_squared_error
from .labels import NO_LABEL, check_labels, label_inputs

__all__ = ["conditional_sizes", "conditional_velocity", "conditional_cfm_loss", "conditional_loss_and_grad",
           "guided_velocity", "classes_of", "learned_guided_velocity", "pair_within_labels"]


def conditional_sizes(dim, hidden, num_classes):
    """Widths of every layer of the conditional network: ``[1 + dim + num_classes + 1, *hidden, dim]``.

    The unconditional network's (``npflow.core.mlp.layer_sizes``) with K + 1 more inputs for the one-hot.
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
        A key of ``npflow.core.mlp.ACTIVATIONS``.

    Returns
    -------
    v : ndarray, shape (n, d)
        The velocity of each point given its label.

    Examples
    --------
    >>> from npflow.core.mlp import init_mlp
    >>> params = init_mlp(conditional_sizes(2, [8], 3), np.random.default_rng(0))
    >>> conditional_velocity(params, 0.5, np.zeros((2, 2)), np.array([0, NO_LABEL]), 3).shape
    (2, 2)
    """
    inputs = anp.concatenate([layer_input(t, x), label_inputs(y, num_classes, x.dtype)], axis=1)  # (n, 1 + d + K + 1)
    return mlp(params, inputs, activation)


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
        A coupling from ``npflow.core.couplings.coupling_for``, ``pair(x_0, x_1, rng) -> (x_0, x_1)``.
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


# --- what guidance does, measured ----------------------------------------------------------------


