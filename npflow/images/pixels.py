"""Digits as points of R^64: the units a flow works in, and the likelihood in bits per pixel.

**Units.** A flow models a continuous density, but pixels are discrete: fit to the 17 values
alone, a density can pile up on them and its likelihood grow without bound. So each pixel v gets uniform noise u ~ U(0, 1) (it is
*dequantized*: v + u fills the bin [v, v + 1)), and the result is mapped affinely onto
[-1, 1), the scale of the N(0, I) noise at t = 0::

    x = (v + u) / 17 * 2 - 1,        u ~ U(0, 1) per pixel                      (to_model)
    v = clip(floor((x + 1) / 2 * 17), 0, 16)                                      (to_pixels)

``to_pixels`` undoes ``to_model`` exactly (whatever u was), and takes any point of R^64,
such as a sample, back to the dataset's own pixels.

**Bits per dimension.** For a model density p(x) on R^D (D = 64), the continuous pixels
w = v + u have the density p_w(w) = p(x) (2 / 17)^D (change of variables of the affine map,
whose Jacobian is 2/17 per pixel). The probability the model gives a discrete image v is its
mass over the bin, P(v) = integral over [0, 1)^D of p_w(v + u) du, and by Jensen's inequality
log P(v) >= E_u[log p_w(v + u)] (Theis, van den Oord and Bethge, 2016, "A note on the
evaluation of generative models", Sec. 3.1). So, in bits per pixel::

    bits/dim = -(log p(x) + D log(2 / 17)) / (D log 2),    x = to_model(v, rng)

has its expectation over u above -log2 P(v) / D, the discrete model's negative
log-likelihood per pixel: an upper bound on it, equal when p is constant within every bin.
One draw of u per image, averaged over many images, estimates it without bias. A model that
spreads each pixel evenly over its 17 levels scores log2 17 = 4.09 bits/dim.
"""
import numpy as np

__all__ = ["SIDE", "DIM", "LEVELS", "CLASSES", "to_model", "to_pixels", "bits_per_dim"]

#: Images are SIDE x SIDE pixels, DIM numbers in all, each pixel one of LEVELS values 0..16, of CLASSES digits.
SIDE, LEVELS, CLASSES = 8, 17, 10
DIM = SIDE * SIDE


def to_model(pixels, rng):
    """Dequantize and scale pixels to model units: ``x = (v + u) / 17 * 2 - 1``, u ~ U(0, 1).

    Parameters
    ----------
    pixels : ndarray, shape (n, 64)
        Pixels v, integers 0..16.
    rng : numpy.random.Generator
        Draws the dequantization noise u, one number per pixel.

    Returns
    -------
    x : ndarray, shape (n, 64)
        Points in [-1, 1).
    """
    u = rng.random(np.shape(pixels))  # (n, 64), U(0, 1)
    return (pixels + u) / LEVELS * 2 - 1


def to_pixels(x):
    """Model units back to pixels: ``v = clip(floor((x + 1) / 2 * 17), 0, 16)``.

    The floor finds the bin [v, v + 1) that ``to_model`` spread pixel v over, so
    ``to_pixels(to_model(v, rng)) == v``; points outside [-1, 1) are clipped to 0 or 16.

    Parameters
    ----------
    x : ndarray, shape (n, 64)

    Returns
    -------
    pixels : ndarray, shape (n, 64)
        float64 with integer values 0..16.

    Examples
    --------
    >>> to_pixels(np.array([[-1.0, -0.99, 0.0, 0.999, 3.0, -7.0]]))
    array([[ 0.,  0.,  8., 16., 16.,  0.]])
    """
    return np.clip(np.floor((x + 1) / 2 * LEVELS), 0, LEVELS - 1)


def bits_per_dim(log_p, dim=DIM):
    """Bits per pixel of the discrete images, from the model's log-density in model units.

    ``bits/dim = -(log p(x) + D log(2 / 17)) / (D log 2)``: the log-density of the continuous
    pixels v + u (the change of variables of ``to_model``), in bits, per pixel. Its mean over
    images is an upper bound on the discrete negative log-likelihood (see the module docstring).

    Parameters
    ----------
    log_p : ndarray, shape (n,)
        log p(x) in nats, x = to_model(v, rng) for images v.
    dim : int
        D, the number of pixels of an image.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> # the uniform density on [-1, 1)^D, log p = -D log 2, is 17 equally likely levels per pixel
    >>> bits_per_dim(np.array([-64 * np.log(2.0)]))
    array([4.08746284])
    """
    log_p_pixels = np.asarray(log_p) + dim * np.log(2 / LEVELS)  # log p_w(v + u), w = v + u
    return -log_p_pixels / (dim * np.log(2))
