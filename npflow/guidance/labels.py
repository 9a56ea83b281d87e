"""Labels as a network sees them: a one-hot with a slot for "no label", and label dropout.

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

Label arrays are data, never differentiated: plain NumPy.
"""
import numpy as np

__all__ = ["NO_LABEL", "check_labels", "label_inputs", "drop_labels", "equal_shares"]

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


def equal_shares(classes, n):
    """n labels that share ``classes`` equally, in blocks.

    When the C classes do not divide n, the remainder r = n mod C goes one sample each to the
    first r classes::

        count_c = n // C + (1 if c < r else 0)        c = 0 .. C - 1, the position in ``classes``

    Parameters
    ----------
    classes : array_like of int, shape (C,)
    n : int
        At least C: fewer would leave a class without a sample.

    Returns
    -------
    ndarray of int, shape (n,)

    Examples
    --------
    >>> equal_shares([0, 1, 2], 7)
    array([0, 0, 0, 1, 1, 2, 2])
    """
    classes = np.asarray(classes)
    if n < len(classes):
        raise ValueError(f"{n} samples cannot give each of the {len(classes)} classes one: ask for at least "
                         f"{len(classes)}")
    shares = n // len(classes) + (np.arange(len(classes)) < n % len(classes))  # (C,) count_c
    return np.repeat(classes, shares)
