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

Label arrays are data, never differentiated: plain NumPy. What autograd traces (the network and
the loss) uses ``autograd.numpy``, without in-place updates or index assignment.
"""
import autograd
import autograd.numpy as anp
import numpy as np

from .gmm import GaussianMixture
from .mlp import layer_input, layer_sizes, mlp
from .oracle import exact_velocity
from .train import mean_squared_error

__all__ = ["NO_LABEL", "check_labels", "label_inputs", "conditional_sizes", "conditional_velocity", "drop_labels",
           "conditional_cfm_loss", "conditional_loss_and_grad", "guided_velocity", "exact_conditional_velocity",
           "exact_guided_velocity"]

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


def exact_conditional_velocity(gmm, sigma_min=0.0):
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
    fields = [exact_velocity(GaussianMixture(gmm.means[k:k + 1], gmm.stds[k:k + 1]), sigma_min) for k in range(K)]
    fields.append(exact_velocity(gmm, sigma_min))  # slot K: no label

    def f(t, x, y):
        one_hot = label_inputs(y, K, x.dtype)  # (n, K + 1): [y = k]
        present = np.flatnonzero(one_hot.any(axis=0))  # only the fields some point asks for are evaluated
        return sum(one_hot[:, k, None] * fields[k](t, x) for k in present)  # (n, d)

    return f


def exact_guided_velocity(gmm, sigma_min=0.0, label=NO_LABEL, guidance=0.0):
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

    Returns
    -------
    f : callable
        ``f(t, x) -> (n, d)``.
    """
    return guided_velocity(exact_conditional_velocity(gmm, sigma_min), label, guidance)
