"""The exact divergence of an MLP of two hidden layers, in one matrix product: the likelihood's fast path.

``npflow.core.likelihood.divergence`` takes div v from autograd: a forward pass and one reverse pass
per coordinate, three passes through the network's big matrix product in 2-D. For the network
of two hidden layers (the tutorial's, ``hidden=(128, 128)``)::

    z_1 = [t, x] @ W_1 + b_1,   z_2 = a(z_1) @ W_2 + b_2,   v = a(z_2) @ W_3 + b_3

the chain rule gives, at one point, with D_l = a'(z_l) (a row of slopes) and W_x the rows of W_1
that meet x (every row but time's)::

    d v_i / d x_j = sum_{m,k} W_x[j, m] D_1[m] W_2[m, k] D_2[k] W_3[k, i]

and the divergence sets i = j and sums over j. Only W_x and W_3 carry j, so that sum can be
done once, on the weights, before any point is seen::

    div v = sum_k D_2[k] (D_1 @ B)[k],      B = W_2 * (W_x.T @ W_3.T)    (elementwise *)

one product of shape (n, w_1) @ (w_1, w_2) in place of d reverse passes. The z_l come from
``npflow.core.backprop.forward``, which keeps them for the chain rule, and the slopes a' from
``npflow.core.backprop.ACTIVATION_DERIVATIVES``.

Measured gain: the exact log-likelihood of 2,000 points under the tutorial's trained run (RK4
100 steps, one BLAS thread, best of 3) took 1.63 s in float64 against 2.80 s by autograd's
passes (42 % less time), and 0.74 s in float32, ``npflow logprob``'s default (74 % less;
flow_matching's ``compute_likelihood`` took 1.17 s on the same weights, in float32). That is
with glibc keeping freed memory for reuse, as the ``npflow`` command and the benchmark set it
(``npflow.plumbing.memory``). In a Python process that has not asked for it, every new array of
2,000 x 128 floats costs page faults, which take the float64 gain away (3.10 against 3.03 s).

The network may be evaluated in float32 (``--dtype``): the point x arrives in the ODE's float64
state and is cast to the weights' dtype; v and div go back into that state, so the integral of
the divergence is summed in float64. What limits the likelihood's precision is then RK4's step,
not float32. On the tutorial's trained run (2,000 points, three draws), RK4 with 100 steps is
off the 2,000-step answer by a median of 1.6e-3 nats a point (at most 1.5e-2) in either dtype,
while float32's log p differs from float64's by a median of 8e-8 nats and at most 1.2e-3. The
largest gaps are single points whose path passes a relu's kink, where the divergence jumps (by
0.37 in the worst case): an RK4 stage 5e-8 away lands on the other side of it in float32. The
mean log p, an NLL, moved by under 6e-7 (one point 1.2e-3 off moves a mean of 2,000 by 6e-7).
A smooth activation makes RK4 far more accurate, and then float32 is the larger error: with silu
or tanh (the same recipe otherwise), RK4's error was at most 2.2e-7 and 4.6e-7 nats a point, and
float32's gap at most 1e-6 (median 7e-8 and 1.4e-7).
"""
import numpy as np

from .backprop import ACTIVATION_DERIVATIVES, forward
from .mlp import layer_input

__all__ = ["mlp_divergence"]


def mlp_divergence(params, activation="relu"):
    """``f(t, x) -> (v, div v)`` of the MLP ``params`` of two hidden layers, by the closed form above.

    Parameters
    ----------
    params : list of three (W, b)
        The network of ``npflow.core.mlp``: W_1 of shape (1 + d, w_1), W_2 (w_1, w_2), W_3 (w_2, d).
    activation : str
        A key of ``npflow.core.mlp.ACTIVATIONS``.

    Returns
    -------
    f : callable
        ``f(t, x)`` for x of shape (n, d): v of shape (n, d) and div v of shape (n,), in the
        weights' dtype.
    """
    (W_1, _), (W_2, _), (W_3, _) = params
    slope = ACTIVATION_DERIVATIVES[activation]  # a'(z)
    B = W_2 * (W_1[1:].T @ W_3.T)  # (w_1, w_2): B_mk = W_2[m, k] sum_j W_x[j, m] W_3[k, j]

    def f(t, x):
        x = x.astype(W_1.dtype, copy=False)  # the network's arithmetic is its weights'
        v, ((_, z_1), (_, z_2), _) = forward(params, layer_input(t, x), activation)  # v (n, d); z_l (n, w_l)
        div = np.sum(slope(z_2) * (slope(z_1) @ B), axis=1)  # (n,) sum_k D_2[k] (D_1 @ B)[k]
        return v, div

    return f
