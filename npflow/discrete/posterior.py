"""The factorized posterior model p_theta(x_1^i | x_t), an MLP, and its cross-entropy loss.

The network reads the whole state x_t (one-hot, D * S numbers) and the time, and gives every
token its own distribution over the V data symbols::

    h_0 = [t, onehot(x_t^1), ..., onehot(x_t^D)]              (n, 1 + D S)   time first, as npflow.core.mlp
    logits = MLP(h_0), reshaped                                (n, D, V)
    p_theta(x_1^i = v | x_t) = softmax_v(logits[:, i, :])

The posterior of the whole sequence is the product over tokens, prod_i p_theta(x_1^i | x_t);
it cannot represent dependence between the tokens of x_1 given x_t, and it does not need to: the
sampler only ever uses each token's marginal (the probability velocity is per token).

Training minimises the cross-entropy of the data tokens under it, over (x_0, x_1, t) and the
mixture path's x_t::

    L(theta) = - mean over tokens of log p_theta(x_1^i | x_t)

whose minimiser is the exact posterior marginal P(x_1^i | x_t). ``masked_only`` averages over
the tokens still MASK in x_t: the others are their data already (the path never changes a
revealed token), so their term is only the easy task of copying the input.
"""
import autograd
import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import logsumexp

from ..core.mlp import init_mlp, layer_input, mlp

__all__ = ["features", "init_posterior", "posterior_logits", "posterior_probs", "cross_entropy",
           "cross_entropy_and_grad", "one_hot"]


def one_hot(x, S):
    """The one-hot code of integer tokens 0 .. S-1: shape ``x.shape + (S,)``, float64; entry [..., s] = 1 if x == s."""
    return np.eye(S)[np.asarray(x)]


def features(t, x_t, S):
    """The network's input ``[t, onehot(x_t^1), ..., onehot(x_t^D)]``, shape (n, 1 + D S).

    Parameters
    ----------
    t : float or ndarray of shape (n,)
    x_t : ndarray of int, shape (n, D)
    S : int
        Symbols per token.

    Examples
    --------
    >>> features(0.5, np.array([[0, 2]]), 3)
    array([[0.5, 1. , 0. , 0. , 0. , 0. , 1. ]])
    """
    n, D = np.shape(x_t)
    return layer_input(t, one_hot(x_t, S).reshape(n, D * S))


def init_posterior(D, V, S, hidden, rng):
    """Parameters of the posterior MLP, widths ``[1 + D S, *hidden, D V]`` (``npflow.core.mlp.init_mlp``).

    Parameters
    ----------
    D, V, S : int
        Tokens, data symbols, symbols per token of x_t.
    hidden : sequence of int
        Hidden widths, e.g. ``[256, 256]``.
    rng : numpy.random.Generator

    Returns
    -------
    params : list of (W, b)
    """
    return init_mlp([1 + D * S, *hidden, D * V], rng)


def posterior_logits(params, t, x_t, V, S, activation="relu"):
    """The logits of p_theta(x_1^i | x_t), shape (n, D, V).

    Parameters
    ----------
    params : list of (W, b)
    t : float or ndarray of shape (n,)
    x_t : ndarray of int, shape (n, D)
    V, S : int
    activation : str
        A key of ``npflow.core.mlp.ACTIVATIONS``.
    """
    n, D = np.shape(x_t)
    return anp.reshape(mlp(params, features(t, x_t, S), activation), (n, D, V))


def posterior_probs(params, t, x_t, V, S, activation="relu"):
    """p_theta(x_1^i = v | x_t) = softmax_v(logits), shape (n, D, V); rows sum to 1.

    Softmax as exp(logits - logsumexp(logits)): subtracting the largest logit first, so no exp overflows.
    """
    logits = posterior_logits(params, t, x_t, V, S, activation)
    return anp.exp(logits - logsumexp(logits, axis=-1, keepdims=True))


def cross_entropy(params, t, x_t, x_1, V, S, activation="relu", masked_only=False):
    """L = - mean over tokens of log p_theta(x_1^i | x_t), with log-softmax = logits - logsumexp(logits).

    Parameters
    ----------
    params : list of (W, b)
    t : ndarray, shape (n,)
    x_t, x_1 : ndarray of int, shape (n, D)
        The path's state and the data.
    V, S : int
    activation : str
    masked_only : bool
        Average over the tokens where x_t is MASK (= V) only (0 if there are none); needs S = V + 1.

    Returns
    -------
    float
    """
    if masked_only and S != V + 1:
        raise ValueError(f"masked_only needs a masked source, S = V + 1 = {V + 1} symbols, got S = {S}")
    logits = posterior_logits(params, t, x_t, V, S, activation)  # (n, D, V)
    log_p = logits - logsumexp(logits, axis=-1, keepdims=True)  # (n, D, V): log-softmax
    nll = -anp.sum(log_p * one_hot(x_1, V), axis=-1)  # (n, D): - log p_theta(x_1^i | x_t)
    weights = (np.asarray(x_t) == V) if masked_only else np.ones(np.shape(x_t))  # (n, D): the tokens averaged
    return anp.sum(nll * weights) / max(float(np.sum(weights)), 1.0)


#: (params, t, x_t, x_1, V, S, activation, masked_only) -> (loss, dloss/dparams), by reverse-mode autograd.
cross_entropy_and_grad = autograd.value_and_grad(cross_entropy)
