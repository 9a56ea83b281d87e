"""How a custom autograd primitive works, and why one node per layer pays.

``autograd.grad(f)`` runs ``f`` on *boxes*, wrappers around its arrays. Every NumPy function
applied to a box adds a *node* to a graph: the function, its arguments and its output. The
backward pass walks that graph from the output back to the inputs, and at each node it calls
the function's vector-Jacobian product (VJP), which maps g = dL/d(output) to dL/d(input).
``autograd.numpy`` has a VJP for every NumPy function. A function of our own becomes one node
in the same way, once it is declared a primitive and given its VJPs::

    @primitive
    def f(x, y): ...                        # runs on plain arrays: nothing inside is traced
    defvjp(f, lambda ans, x, y: lambda g: ...,   # dL/dx, from g = dL/d(ans)
              lambda ans, x, y: lambda g: ...)   # dL/dy

Autograd already derives every VJP by itself, so why write one? Each node costs some
microseconds of Python bookkeeping on top of its arithmetic, and at the tutorial's size
(batch 128, width 128) that bookkeeping is as large as the arithmetic. The costliest nodes are
the ones a reader does not see. When the gradient is taken with respect to ``params``, a list
of ``(W, b)`` pairs, every ``W, b = layer`` is two nodes that index a traced container. The VJP
of such a node builds zeros for the whole container and puts its one gradient in place, and the
backward pass then adds those containers together. ``affine`` takes the pair whole and returns
its gradient as a pair. So each layer ``act(h @ W + b)`` costs two nodes, ``affine`` and the
activation, in place of five (two takes, the product, the sum and the activation).

Each primitive stays because it saves at least 10 % of a command (``npflow train``, ``sample``
or ``logprob``). We measured this side by side, with and without the primitive: the two
variants alternated in one process, and we took medians of CPU time on a busy 2-core machine.
The gain of each is in its docstring, and ``tests/test_primitives.py`` checks each against
autograd's own derivation of the plain expression and against finite differences. Two ideas
were measured and dropped for paying less than that:

- adding the bias in place inside ``affine``, which saved nothing in training and 6 to 9 % of
  sampling (float64 to float32);
- folding a scalar t into the first bias, which saved 4 % of sampling.

Sampling got its speed back elsewhere: a run's field applies the bias and the activation in
place where nothing is traced, and carries relu's bias into the next layer
(``npflow.core.in_place``, 22 % of ``npflow sample`` in float32).
"""
import autograd.numpy as anp
import numpy as np
from autograd.builtins import tuple as traced_tuple
from autograd.extend import Box, defvjp, primitive

__all__ = ["affine", "relu", "mean_squared_error"]


def affine(h, layer):
    """One layer before its activation, ``h @ W + b`` for ``layer = (W, b)``, as one autograd node.

    Its VJPs, for an upstream gradient g = dL/d(h @ W + b) of shape (n, fan_out)::

        dL/dh = g @ W.T        (n, fan_in)
        dL/dW = h.T @ g        (fan_in, fan_out)
        dL/db = sum_i g_i      (fan_out,)

    Measured gain: a training step of the default recipe takes 21 % less time than with
    ``W, b = layer; h @ W + b`` traced by autograd, at the tutorial's size (a ratio of 1.26 in
    CPU time, 40 rounds). The gain is 4 % for ``logprob`` and nothing for ``sample``, where
    nothing is traced.

    Parameters
    ----------
    h : ndarray, shape (n, fan_in)
    layer : pair (W, b)
        ``W`` of shape (fan_in, fan_out), ``b`` of shape (fan_out,).

    Returns
    -------
    ndarray, shape (n, fan_out)
    """
    if not isinstance(layer, Box) and any(isinstance(p, Box) for p in layer):
        # A pair built by hand from traced arrays, e.g. [(W, b)] inside a function differentiated
        # with respect to W. The primitive would see a plain tuple and treat it as a constant,
        # and the gradient would be lost, so here autograd traces the expression instead.
        W, b = layer
        return h @ W + b
    return _affine(h, layer)


@primitive
def _affine(h, layer):
    """The primitive behind ``affine``: one autograd node, with the VJPs below."""
    W, b = layer
    return h @ W + b


# The pair of gradients is an autograd tuple, which autograd can trace again for second derivatives.
defvjp(_affine,
       lambda out, h, layer: lambda g: g @ layer[0].T,
       lambda out, h, layer: lambda g: traced_tuple((h.T @ g, anp.sum(g, axis=0))))


@primitive
def relu(z):
    """max(z, 0), as one node whose VJP passes the gradient where the output is positive: g * (out > 0).

    Measured gain: autograd's own VJP of ``anp.maximum(z, 0.0)`` takes five passes over the
    array, to share g between the two arguments where they are equal. Against it, this node saves
    23 % of ``logprob`` (a ratio of 1.30, exact divergence of 1,000 points, RK4 100 steps, 10
    rounds). It saves 9 to 10 % of a training step. The traced expression ``z * (z > 0)`` is
    as fast in ``logprob`` and 6 % slower in training.
    """
    return np.maximum(z, 0.0)


defvjp(relu, lambda out, z: lambda g: g * (out > 0))


@primitive
def mean_squared_error(v_t, u_t):
    """``mean((v_t - u_t)^2)`` over every entry, as one autograd node.

    Its VJPs, for an upstream gradient g (a scalar) and N = v_t.size entries::

        dL/dv_t = g * 2 (v_t - u_t) / N        dL/du_t = -dL/dv_t

    Traced from plain NumPy it would be several nodes (subtract, square, mean). There is a
    catch, too: autograd's VJP of ``anp.mean`` divides by a NumPy int64 count, which makes the
    gradient float64 for float32 inputs, and then the whole backward pass of a float32 run
    runs in float64. (``anp.sum(...) / v_t.size``, with a Python int, would keep the dtype.)

    Measured gain: against that float32-safe plain expression, this node saves 11 % of a
    float32 training step (``npflow train --dtype float32``) and 7 % of a float64 one (medians
    of CPU time, 25 rounds of 300 steps).

    Parameters
    ----------
    v_t, u_t : ndarray, shape (n, d)

    Returns
    -------
    float
    """
    return np.mean(np.square(v_t - u_t))


defvjp(mean_squared_error,
       lambda L, v_t, u_t: lambda g: g * (2.0 / v_t.size) * (v_t - u_t),
       lambda L, v_t, u_t: lambda g: g * (-2.0 / v_t.size) * (v_t - u_t))
