"""MeanFlow: learn the average velocity over an interval, and go from noise to data in one step.

Geng, Deng, Bai, Kolter and He (2025), "Mean Flows for One-step Generative Modeling".

A flow carries each point along dx/dt = v(x, t) from noise at t = 0 to data at t = 1, and a
sampler follows it in many small steps because v is an *instantaneous* velocity. MeanFlow
learns instead the **average velocity** over an interval [s, e] (s the start, e the end),
along the trajectory that passes through x_s at time s::

    u(x_s, s, e) = (x_e - x_s) / (e - s) = 1 / (e - s) * integral_s^e v(x_tau, tau) dtau

so that one jump of any length is exact, and a zero-length interval gives the field itself::

    x_e = x_s + (e - s) u(x_s, s, e),        u(x, s, s) = v(x, s).

**The MeanFlow identity.** Write the definition as (e - s) u(x_s, s, e) = integral_s^e v dtau and
differentiate both sides with respect to the start s, with the end e fixed and x_s moving along
its trajectory (dx_s/ds = v(x_s, s)). The left side gives -u + (e - s) d/ds u by the product
rule; on the right only the lower limit moves, which gives -v(x_s, s). Hence::

    u(x_s, s, e) = v(x_s, s) + (e - s) d/ds u(x_s, s, e)                                 (1)

where d/ds is the total derivative along the trajectory, by the chain rule::

    d/ds u(x_s, s, e) = (grad_x u) v(x_s, s) + d_s u + 0 * d_e u                          (2)

the Jacobian-vector product (JVP) of u with the tangent (v, 1, 0) on its inputs (x, s, e).
A check by hand, in one dimension with v(x, t) = a t: x_e - x_s = a (e^2 - s^2) / 2, so
u = a (e + s) / 2, d/ds u = a / 2, and v + (e - s) d/ds u = a s + a (e - s) / 2 = a (e + s) / 2.

**Training.** Only u_theta is learned. (1) holds for the true u; so regress u_theta onto its
right side, evaluated with the network itself and its gradient stopped (a constant to autograd)::

    u_tgt = v_s + (e - s) * ((grad_x u_theta) v_s + d_s u_theta)      at (x_s, s, e)        (3)
    L(theta) = mean || u_theta(x_s, s, e) - stop_gradient(u_tgt) ||^2

Here (x_s, v_s) is a point on the *conditional* path and its velocity, as in flow matching:
``x_s, v_s = path.sample(x_0=x_0, x_1=x_1, t=s)``, i.e. x_s = alpha_s x_1 + sigma_s x_0 and
v_s = d_alpha_s x_1 + d_sigma_s x_0. The target is affine in v_s, so its mean given x_s is (1)'s
right side with the marginal field v in place of v_s: the regression has the same fixed point,
u_theta = u, as it would have with the marginal field, which no one knows. Where s = e the
target is v_s and the loss is the CFM loss; that share of the pairs teaches u(x, s, s) = v(x, s),
from which the longer intervals are built.

**Sampling** with k steps on the grid t_i = i / k: x_{i+1} = x_i + (t_{i+1} - t_i) u(x_i, t_i, t_{i+1}).
With the exact u every k is exact; one step is x_1 = x_0 + u(x_0, 0, 1).

**The paper's symbols.** The paper runs time the other way: data at 0, noise at 1, with
z_t = (1 - t) x + t eps. Its u(z_t, r, t) with r < t averages over [r, t] and a jump goes from
the noisier time t down to r. With tau_paper = 1 - tau_npflow:

    ===================================  ===================================
    paper (data at 0, noise at 1)        npflow (noise at 0, data at 1)
    ===================================  ===================================
    x (data), eps (noise)                x_1, x_0
    t, where a jump starts               s = 1 - t
    r, where it lands                    e = 1 - r
    z_t                                  x_s
    v(z_t, t) = dz/dt                    -v(x_s, s)   (time reversed, so the sign flips)
    u(z_t, r, t)                         -u(x_s, s, e)
    d/dt                                 -d/ds
    u = v - (t - r) du/dt                u = v + (e - s) du/ds, which is (1)
    tangent (v, 0, 1) on (z, r, t)       (v, 1, 0) on (x, s, e)
    z_0 = z_1 - u(z_1, 0, 1)             x_1 = x_0 + u(x_0, 0, 1)
    ===================================  ===================================

(Substitute the right column into the paper's identity: -u = -v - (e - s)(-d/ds)(-u), which is (1).)

**The network** is an MLP (``npflow.core.mlp.mlp``) on the input ``[s, e - s, x]``, shape (n, 2 + d),
with no time features. The length e - s rather than the end e: the flow-matching pairs, s = e,
then all have the same input 0 in that column, whatever s, and the network sees directly how
far it is asked to jump. (The paper's ablation found (t, t - r) a little better than (t, r); on
eight_gaussians the two gave the same one-step W2 to within the spread of seeds.)

**The JVP** is the chain rule run forward, by hand (``average_velocity_jvp``): alongside each
layer's value h it carries its derivative dh along the tangent, dz = dh @ W and
dh' = act'(z) * dz. Autograd's forward mode (``make_jvp``) cannot run through ``npflow.core.mlp``, whose
layers are primitives with hand-written reverse-mode rules only; ``tests/test_meanflow.py``
checks this one against ``make_jvp`` on the same network written in plain autograd.numpy.

**In a run** (``npflow train --objective meanflow``, ``TrainConfig(objective="meanflow")``) each
step draws a batch as flow matching does, then the intervals (s, e) by ``draw_times``, and takes
``npflow.train.training_step`` with the path sampled at s and this loss (``meanflow_objective``),
by autograd or by hand (``--grad backprop``). Every path, coupling and source goes with it: (1)
holds for the flow of any field, and the target has the right mean for the marginal field of
any of them. Such a run samples only by its jumps (``npflow sample RUN --steps K``; an ODE
solver is refused), and has no likelihood: the reverse ODE gives the density of an ODE's
samples, and the density of a jump's would need the log-determinant of the jump's Jacobian at
the jump's inverse. Where a field v(t, x) is asked for (the field error, the field plot) it is
``instantaneous_velocity``, u(x, t, t).

**The exact answer.** For a Gaussian-mixture target the exact field v is known
(``npflow.exact_velocity``), and so is u, by solving the flow tightly. ``exact_average_velocity``
integrates the running average w(lam) = (x_{s + lam (e - s)} - x_s) / (e - s) for lam from 0 to 1::

    dw/dlam = v(x_s + (e - s) w, s + lam (e - s)),    w(0) = 0,    u(x_s, s, e) = w(1)      (4)

which is the flow from s to e in the time lam, divided by e - s. Written this way it needs no
division, so it holds for e = s too (dw/dlam = v(x_s, s), so w(1) = v(x_s, s)), and every point
can have its own interval, all solved together.
"""
from ..core.backprop import ACTIVATION_DERIVATIVES
from ..core.mlp import ACTIVATIONS, layer_input, mlp

__all__ = ["network_input", "meanflow_sizes", "average_velocity", "instantaneous_velocity", "average_velocity_jvp"]


def network_input(x, s, e):
    """The network's input ``[s, e - s, x]``, shape (n, 2 + d): start, length, position.

    The map is linear in (x, s, e), so the same function also carries a tangent (dx, ds, de)
    to the tangent of the input, ``[ds, de - ds, dx]``.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    s, e : float or ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> network_input(np.array([[7.0, 8.0]]), 0.25, 1.0)
    array([[0.25, 0.75, 7.  , 8.  ]])
    """
    return layer_input(s, layer_input(e - s, x))  # each layer_input puts one column in front of x


def meanflow_sizes(dim, hidden):
    """Widths of every layer of the average-velocity network: ``[2 + dim, *hidden, dim]``.

    >>> meanflow_sizes(2, (128, 128))
    [4, 128, 128, 2]
    """
    return [2 + dim, *hidden, dim]


def average_velocity(params, x, s, e, activation="relu"):
    """The learned average velocity u_theta(x, s, e) = MLP([s, e - s, x]).

    Parameters
    ----------
    params : list of (W, b)
        Layer sizes ``meanflow_sizes(d, hidden)``.
    x : ndarray, shape (n, d)
        Positions at the start time s.
    s, e : float or ndarray of shape (n,)
        Start and end of the interval, 0 (noise) <= s <= e <= 1 (data).
    activation : str

    Returns
    -------
    u : ndarray, shape (n, d)
    """
    return mlp(params, network_input(x, s, e), activation)


def instantaneous_velocity(params, t, x, activation="relu"):
    """The field the network learns where s = e: ``v_theta(t, x) = u_theta(x, t, t)``.

    The pairs with s = e are flow matching, so this is a learned velocity like ``npflow.core.mlp.velocity``'s,
    in the same signature (params, t, x): the field error, ``npflow plot --kind field`` and the
    field-error log of ``npflow train`` measure it. A MeanFlow run samples by its jumps, not by
    this field's ODE (see ``sample_by_jumps``).

    Parameters
    ----------
    params : list of (W, b)
        Layer sizes ``meanflow_sizes(d, hidden)``.
    t : float or ndarray of shape (n,)
    x : ndarray, shape (n, d)
    activation : str

    Returns
    -------
    v : ndarray, shape (n, d)
    """
    return average_velocity(params, x, t, t, activation)


def average_velocity_jvp(params, x, s, e, dx, ds, de, activation="relu"):
    """u_theta at (x, s, e) and its derivative along the tangent (dx, ds, de): forward-mode chain rule.

    For the network h_0 = [s, e - s, x], z_l = h_{l-1} @ W_l + b_l, h_l = act(z_l), u = z_L::

        dh_0 = [ds, de - ds, dx]
        dz_l = dh_{l-1} @ W_l          (the bias does not move)
        dh_l = act'(z_l) * dz_l
        du   = dz_L

    Plain NumPy on plain parameters: for the target, whose gradient is stopped.

    Parameters
    ----------
    params : list of (W, b)
    x : ndarray, shape (n, d)
    s, e : float or ndarray of shape (n,)
    dx : ndarray, shape (n, d)
    ds, de : float or ndarray of shape (n,)
    activation : str

    Returns
    -------
    u : ndarray, shape (n, d)
    du : ndarray, shape (n, d)
        (grad_x u) dx + (d_s u) ds + (d_e u) de.
    """
    act, act_prime = ACTIVATIONS[activation], ACTIVATION_DERIVATIVES[activation]
    h, dh = network_input(x, s, e), network_input(dx, ds, de)  # (n, 2 + d) each; the input map is linear
    *hidden_layers, (W_L, b_L) = params
    for W, b in hidden_layers:
        z, dz = h @ W + b, dh @ W  # (n, fan_out) each
        h, dh = act(z), act_prime(z) * dz
    return h @ W_L + b_L, dh @ W_L


