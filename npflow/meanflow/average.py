"""MeanFlow: learn the average velocity over an interval, and go from noise to data in one step.

Geng, Deng, Bai, Kolter and He (2025), "Mean Flows for One-step Generative Modeling".

A flow carries each point along dx/dt = v(t, x) from noise at t = 0 to data at t = 1, and a
sampler follows it in many small steps because v is an *instantaneous* velocity. MeanFlow
learns instead the **average velocity** over an interval [s, t] (s the start, t the end,
s <= t), along the trajectory that passes through x_s at time s::

    u(s, t, x_s) = (x_t - x_s) / (t - s) = 1 / (t - s) * integral_s^t v(tau, x_tau) dtau

so that one jump of any length is exact, and an empty interval gives the field itself::

    x_t = x_s + (t - s) u(s, t, x_s),        u(t, t, x) = v(t, x).

**The MeanFlow identity.** Write the definition as (t - s) u(s, t, x_s) = integral_s^t v dtau and
differentiate both sides with respect to the start s, with the end t fixed and x_s moving along
its trajectory (dx_s/ds = v(s, x_s)). The left side gives -u + (t - s) d/ds u by the product
rule; on the right only the lower limit moves, which gives -v(s, x_s). Hence::

    u(s, t, x_s) = v(s, x_s) + (t - s) d/ds u(s, t, x_s)                                 (1)

where d/ds is the total derivative along the trajectory, by the chain rule::

    d/ds u(s, t, x_s) = d_s u + 0 * d_t u + (grad_x u) v(s, x_s)                          (2)

the Jacobian-vector product (JVP) of u with the tangent (1, 0, v) on its inputs (s, t, x).
A check by hand, in one dimension with v(t, x) = a t: x_t - x_s = a (t^2 - s^2) / 2, so
u = a (t + s) / 2, d/ds u = a / 2, and v + (t - s) d/ds u = a s + a (t - s) / 2 = a (t + s) / 2.

**Training.** Only u_theta is learned. (1) holds for the true u; so regress u_theta onto its
right side, evaluated with the network itself and its gradient stopped (a constant to autograd)::

    u_tgt = v_s + (t - s) * (d_s u_theta + (grad_x u_theta) v_s)      at (s, t, x_s)        (3)
    L(theta) = mean || u_theta(s, t, x_s) - stop_gradient(u_tgt) ||^2

Here (x_s, v_s) is a point on the *conditional* path and its velocity, as in flow matching:
``x_s, v_s = path.sample(x_0=x_0, x_1=x_1, t=s)``, i.e. x_s = alpha_s x_1 + sigma_s x_0 and
v_s = d_alpha_s x_1 + d_sigma_s x_0. The target is affine in v_s, so its mean given x_s is (1)'s
right side with the marginal field v in place of v_s: the regression has the same fixed point,
u_theta = u, as it would have with the marginal field, which no one knows. Where s = t the
target is v_s and the loss is the CFM loss; that share of the pairs teaches u(t, t, x) = v(t, x),
from which the longer intervals are built.

**Sampling** with k steps on the grid t_i = i / k: x_{i+1} = x_i + (t_{i+1} - t_i) u(t_i, t_{i+1}, x_i).
With the exact u every k is exact; one step is x_1 = x_0 + u(0, 1, x_0).

**The paper's symbols.** The paper runs time the other way: data at 0, noise at 1, with
z_t = (1 - t) x + t eps. Its u(z_t, r, t) with r < t averages over [r, t] and a jump goes from
the noisier time t down to r. With tau_paper = 1 - tau_npflow, the paper's t (written t_paper
in the right column) and r become npflow's s and t:

    ===================================  ===================================
    paper (data at 0, noise at 1)        npflow (noise at 0, data at 1)
    ===================================  ===================================
    x (data), eps (noise)                x_1, x_0
    t, where a jump starts               s = 1 - t_paper
    r, where it lands                    t = 1 - r
    z_t                                  x_s
    v(z_t, t) = dz/dt                    -v(s, x_s)   (time reversed, so the sign flips)
    u(z_t, r, t)                         -u(s, t, x_s)
    d/dt                                 -d/ds
    t - r                                t - s
    u = v - (t - r) du/dt                u = v + (t - s) du/ds, which is (1)
    tangent (v, 0, 1) on (z, r, t)       (1, 0, v) on (s, t, x)
    z_0 = z_1 - u(z_1, 0, 1)             x_1 = x_0 + u(0, 1, x_0)
    ===================================  ===================================

(Substitute the right column into the paper's identity: -u = -v - (t - s)(-d/ds)(-u), which is (1).)

**The network** is an MLP (``npflow.core.mlp.mlp``) on the input ``[s, t - s, x]``, shape (n, 2 + d),
with no time features. The length t - s rather than the end t: the flow-matching pairs, s = t,
then all have the same input 0 in that column, whatever s, and the network sees directly how
far it is asked to jump. (The paper's ablation found its (t, t - r) a little better than (t, r);
on eight_gaussians the two gave the same one-step W2 to within the spread of seeds.)

**The JVP** is the chain rule run forward, by hand (``average_velocity_jvp``): alongside each
layer's value h it carries its derivative dh along the tangent, dz = dh @ W and
dh' = act'(z) * dz. Autograd's forward mode (``make_jvp``) cannot run through ``npflow.core.mlp``, whose
layers are primitives with hand-written reverse-mode rules only; ``tests/test_meanflow.py``
checks this one against ``make_jvp`` on the same network written in plain autograd.numpy.

**In a run** (``npflow train --objective meanflow``, ``TrainConfig(objective="meanflow")``) each
step draws a batch as flow matching does, then the intervals (s, t) by ``draw_times``, and takes
``npflow.core.training.training_step`` with the path sampled at s and this loss (``meanflow_objective``),
by autograd or by hand (``--grad backprop``). Every path, coupling and source goes with it: (1)
holds for the flow of any field, and the target has the right mean for the marginal field of
any of them. Such a run samples only by its jumps (``npflow sample RUN --steps K``; an ODE
solver is refused), and has no likelihood: the reverse ODE gives the density of an ODE's
samples, and the density of a jump's would need the log-determinant of the jump's Jacobian at
the jump's inverse. Where a field v(t, x) is asked for (the field error, the field plot) it is
``instantaneous_velocity``, u(t, t, x).

**The exact answer.** For a Gaussian-mixture target the exact field v is known
(``npflow.exact_velocity``), and so is u, by solving the flow tightly. ``exact_average_velocity``
integrates the running average w(lam) = (x_{s + lam (t - s)} - x_s) / (t - s) for lam from 0 to 1::

    dw/dlam = v(s + lam (t - s), x_s + (t - s) w),    w(0) = 0,    u(s, t, x_s) = w(1)      (4)

which is the flow from s to t in the time lam, divided by t - s. Written this way it needs no
division, so it holds for t = s too (dw/dlam = v(s, x_s), so w(1) = v(s, x_s)), and every point
can have its own interval, all solved together.
"""
from ..core.backprop import ACTIVATION_DERIVATIVES
from ..core.mlp import ACTIVATIONS, layer_input, mlp

__all__ = ["network_input", "meanflow_sizes", "average_velocity", "instantaneous_velocity", "average_velocity_jvp"]


def network_input(s, t, x):
    """The network's input ``[s, t - s, x]``, shape (n, 2 + d): start, length, position.

    The map is linear in (s, t, x), so the same function also carries a tangent (ds, dt, dx)
    to the tangent of the input, ``[ds, dt - ds, dx]``.

    Parameters
    ----------
    s, t : float or ndarray of shape (n,)
    x : ndarray, shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> network_input(0.25, 1.0, np.array([[7.0, 8.0]]))
    array([[0.25, 0.75, 7.  , 8.  ]])
    """
    return layer_input(s, layer_input(t - s, x))  # each layer_input puts one column in front of x


def meanflow_sizes(dim, hidden):
    """Widths of every layer of the average-velocity network: ``[2 + dim, *hidden, dim]``.

    >>> meanflow_sizes(2, (128, 128))
    [4, 128, 128, 2]
    """
    return [2 + dim, *hidden, dim]


def average_velocity(params, s, t, x, activation="relu"):
    """The learned average velocity u_theta(s, t, x) = MLP([s, t - s, x]).

    Parameters
    ----------
    params : list of (W, b)
        Layer sizes ``meanflow_sizes(d, hidden)``.
    s, t : float or ndarray of shape (n,)
        Start and end of the interval, 0 (noise) <= s <= t <= 1 (data).
    x : ndarray, shape (n, d)
        Positions at the start time s.
    activation : str

    Returns
    -------
    u : ndarray, shape (n, d)
    """
    return mlp(params, network_input(s, t, x), activation)


def instantaneous_velocity(params, t, x, activation="relu"):
    """The field the network learns where s = t: ``v_theta(t, x) = u_theta(t, t, x)``.

    The pairs with s = t are flow matching, so this is a learned velocity like ``npflow.core.mlp.velocity``'s,
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
    return average_velocity(params, t, t, x, activation)


def average_velocity_jvp(params, s, t, x, ds, dt, dx, activation="relu"):
    """u_theta at (s, t, x) and its derivative along the tangent (ds, dt, dx): forward-mode chain rule.

    For the network h_0 = [s, t - s, x], z_l = h_{l-1} @ W_l + b_l, h_l = act(z_l), u = z_L::

        dh_0 = [ds, dt - ds, dx]
        dz_l = dh_{l-1} @ W_l          (the bias does not move)
        dh_l = act'(z_l) * dz_l
        du   = dz_L

    Plain NumPy on plain parameters: for the target, whose gradient is stopped.

    Parameters
    ----------
    params : list of (W, b)
    s, t : float or ndarray of shape (n,)
    x : ndarray, shape (n, d)
    ds, dt : float or ndarray of shape (n,)
    dx : ndarray, shape (n, d)
    activation : str

    Returns
    -------
    u : ndarray, shape (n, d)
    du : ndarray, shape (n, d)
        (d_s u) ds + (d_t u) dt + (grad_x u) dx.
    """
    act, act_prime = ACTIVATIONS[activation], ACTIVATION_DERIVATIVES[activation]
    h, dh = network_input(s, t, x), network_input(ds, dt, dx)  # (n, 2 + d) each; the input map is linear
    *hidden_layers, (W_L, b_L) = params
    for W, b in hidden_layers:
        z, dz = h @ W + b, dh @ W  # (n, fan_out) each
        h, dh = act(z), act_prime(z) * dz
    return h @ W_L + b_L, dh @ W_L
