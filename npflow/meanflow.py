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

**The network** is an MLP (``npflow.mlp.mlp``) on the input ``[s, e - s, x]``, shape (n, 2 + d),
with no time features. The length e - s rather than the end e: the flow-matching pairs, s = e,
then all have the same input 0 in that column, whatever s, and the network sees directly how
far it is asked to jump. (The paper's ablation found (t, t - r) a little better than (t, r); on
eight_gaussians the two gave the same one-step W2 to within the spread of seeds.)

**The JVP** is the chain rule run forward, by hand (``average_velocity_jvp``): alongside each
layer's value h it carries its derivative dh along the tangent, dz = dh @ W and
dh' = act'(z) * dz. Autograd's forward mode (``make_jvp``) cannot run through ``npflow.mlp``, whose
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
import autograd
import numpy as np
from autograd.tracer import getval

from .backprop import ACTIVATION_DERIVATIVES, squared_error_and_grad
from .mlp import ACTIVATIONS, layer_input, mlp
from .oracle import exact_velocity
from .plumbing.checks import check_points
from .solvers import Trajectory, integrate
from .train import mean_squared_error

__all__ = ["network_input", "meanflow_sizes", "average_velocity", "instantaneous_velocity", "average_velocity_jvp",
           "meanflow_target", "meanflow_loss", "meanflow_loss_and_grad", "meanflow_loss_and_grad_by_hand", "draw_times",
           "meanflow_objective", "meanflow_sample", "JUMPS", "sample_by_jumps", "exact_average_velocity"]


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

    The pairs with s = e are flow matching, so this is a learned velocity like ``npflow.mlp.velocity``'s,
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


def meanflow_target(params, x_s, s, e, v_s, activation="relu"):
    """The MeanFlow target (3): ``u_tgt = v_s + (e - s) * ((grad_x u_theta) v_s + d_s u_theta)``.

    Parameters
    ----------
    params : list of (W, b)
        Plain arrays (the target's gradient is stopped).
    x_s : ndarray, shape (n, d)
        Points on the conditional path at time s.
    s, e : ndarray, shape (n,)
        Start and end of each point's interval.
    v_s : ndarray, shape (n, d)
        The conditional velocity at x_s.
    activation : str

    Returns
    -------
    u_tgt : ndarray, shape (n, d)
    """
    # >>> exercise meanflow_target: du/ds along the path is the JVP with tangent (v_s, 1, 0) on (x, s, e); u_tgt = v_s + (e - s) du/ds
    _, du_ds = average_velocity_jvp(params, x_s, s, e, v_s, 1.0, 0.0, activation)  # (n, d): the total derivative (2)
    interval = np.reshape(e - s, (-1, 1))  # (n, 1): e - s for each point
    return v_s + interval * du_ds
    # <<< exercise


def meanflow_loss(params, x_s, s, e, v_s, activation="relu"):
    """The MeanFlow loss: ``L = mean((u_theta(x_s, s, e) - stop_gradient(u_tgt))^2)`` over points and coordinates.

    The target is computed from ``getval(params)``, the plain arrays under autograd's boxes, so
    autograd sees it as a constant: the gradient stops there.

    Parameters
    ----------
    params : list of (W, b)
    x_s : ndarray, shape (n, d)
    s, e : ndarray, shape (n,)
    v_s : ndarray, shape (n, d)
    activation : str

    Returns
    -------
    loss : float
    """
    u_tgt = meanflow_target(getval(params), x_s, s, e, v_s, activation)  # (n, d), a constant to autograd
    u = average_velocity(params, x_s, s, e, activation)  # (n, d)
    return mean_squared_error(u, u_tgt)


#: (params, x_s, s, e, v_s, activation) -> (loss, dloss/dparams), by reverse-mode autograd.
meanflow_loss_and_grad = autograd.value_and_grad(meanflow_loss)


def meanflow_loss_and_grad_by_hand(params, x_s, s, e, v_s, activation="relu"):
    """The MeanFlow loss and its gradient with no autograd: a drop-in for ``meanflow_loss_and_grad``.

    Both halves are the chain rule by hand. The target comes first, by the forward chain rule
    (``meanflow_target``); to the gradient it is a constant, so what is left is a squared error
    against a fixed target, whose backward pass is the CFM loss's on the input ``[s, e - s, x_s]``
    (``npflow.backprop.squared_error_and_grad``). ``npflow train --objective meanflow --grad backprop``
    trains with it.

    Parameters and returns as for ``meanflow_loss_and_grad``.
    """
    u_tgt = meanflow_target(params, x_s, s, e, v_s, activation)  # (n, d)
    return squared_error_and_grad(params, network_input(x_s, s, e), u_tgt, activation)


def draw_times(n, rng, share_equal=0.5):
    """Draw n intervals (s, e): two uniform times in order, then e = s for a share of them.

    ``s, e = sorted(U(0, 1), U(0, 1))``; then exactly ``round(share_equal * n)`` pairs, at random
    places, get e = s (flow matching). The times are uniform, not the paper's logit-normal (which
    draws the middle more often): sorted, s falls most often near 0 and e near 1, where a
    one-step jump starts and lands.

    The share: the paper's best on ImageNet was 75 % (all pairs with s = e, plain flow matching,
    gave no usable one-step model). On eight_gaussians (128-128 ReLU, 3,000 Adam steps of batch
    256, weights averaged with decay 0.999) half and half did better for one step: W2 to fresh
    data 0.53 against 0.56 (mean of 5 seeds, lower for each), for 0.33 against 0.31 after
    8 steps. A two-dimensional field is learned quickly, so more of each batch can go to the
    intervals.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator
    share_equal : float
        In [0, 1].

    Returns
    -------
    s, e : ndarray, shape (n,)
        0 <= s <= e <= 1.

    Examples
    --------
    >>> s, e = draw_times(8, np.random.default_rng(0), share_equal=0.5)
    >>> int(np.sum(s == e)), bool(np.all(s <= e))
    (4, True)
    """
    if not 0.0 <= share_equal <= 1.0:
        raise ValueError(f"share_equal must be in [0, 1], got {share_equal!r}")
    s, e = np.sort(rng.random((2, n)), axis=0)  # (n,) each, s <= e
    equal = rng.permutation(n) < round(share_equal * n)  # (n,): exactly that many True, at random places
    return s, np.where(equal, s, e)


def meanflow_objective(grad="autograd", dtype="float64", share_equal=0.5):
    """What MeanFlow changes in a training step of ``npflow.train``: the times, and the loss.

    ``npflow.train.training_step`` samples the path at the times it is given and then calls
    ``gradient(params, t, x_t, u_t, activation)``. A MeanFlow step gives it the starts s, so that
    (x_t, u_t) are (x_s, v_s), and a gradient of the MeanFlow loss with the ends e bound in. The
    rest of the step (the path, the checks for NaN, the optimizer) is flow matching's.

    Parameters
    ----------
    grad : str
        ``"autograd"`` (``meanflow_loss_and_grad``) or ``"backprop"`` (``meanflow_loss_and_grad_by_hand``).
    dtype : str
        The dtype of the times, as of the batches.
    share_equal : float
        The share of pairs with s = e, as for ``draw_times``.

    Returns
    -------
    callable
        ``objective(t, rng) -> (s, gradient)``. The batch's own times t (from ``npflow.train.draw_batch``)
        give only their count n: (s, e) are drawn from ``rng`` by ``draw_times``, after the batch.
    """
    loss_and_grad = meanflow_loss_and_grad_by_hand if grad == "backprop" else meanflow_loss_and_grad

    def objective(t, rng):
        s, e = (times.astype(dtype) for times in draw_times(len(t), rng, share_equal))  # (n,) each

        def gradient(params, s, x_s, v_s, activation):  # training_step's order (params, t, x_t, u_t, activation)
            return loss_and_grad(params, x_s, s, e, v_s, activation)

        return s, gradient

    return objective


#: The sampler's name where a solver is named (``Trajectory.method``, ``npflow sample --solver``).
JUMPS = "meanflow"


def meanflow_sample(u, x_0, steps=1):
    """Jump from noise to data in ``steps`` equal steps: ``x_{i+1} = x_i + (t_{i+1} - t_i) u(x_i, t_i, t_{i+1})``.

    Parameters
    ----------
    u : callable
        An average velocity ``u(x, s, e)``, x of shape (n, d), s and e floats; e.g.
        ``lambda x, s, e: average_velocity(params, x, s, e)`` or ``exact_average_velocity(gmm)``.
    x_0 : ndarray, shape (n, d)
        Noise at t = 0.
    steps : int
        k >= 1; one step is x_1 = x_0 + u(x_0, 0, 1).

    Returns
    -------
    Trajectory
        ``.t`` the grid t_i = i / k, shape (k + 1,); ``.x`` shape (k + 1, n, d); ``.nfe`` = k.

    Examples
    --------
    >>> def u(x, s, e):   # the exact average velocity of dx/dt = -x: x (exp(-(e - s)) - 1) / (e - s)
    ...     return x * np.expm1(-(e - s)) / (e - s)
    >>> traj = meanflow_sample(u, np.ones((1, 1)), steps=3)
    >>> traj.t.tolist(), traj.nfe, bool(np.isclose(traj.x[-1, 0, 0], np.exp(-1.0)))
    ([0.0, 0.3333333333333333, 0.6666666666666666, 1.0], 3, True)
    """
    if not (isinstance(steps, (int, np.integer)) and steps > 0):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    x_0 = check_points(x_0, "x_0")
    times = np.linspace(0.0, 1.0, steps + 1).tolist()  # Python floats, so float32 points stay float32
    points = [x_0]
    for s, e in zip(times[:-1], times[1:]):
        points.append(points[-1] + (e - s) * u(points[-1], s, e))
    return Trajectory(t=np.array(times), x=np.stack(points), nfe=steps, method=JUMPS)


def sample_by_jumps(u, x_0, solver=None, steps=100):
    """``meanflow_sample(u, x_0, steps)``, for a caller that names a solver: ``npflow.Run.sample``, the CLI.

    A MeanFlow run samples one way, by its jumps; ``solver`` must be ``"meanflow"`` or None.
    An ODE solver is refused rather than run on ``instantaneous_velocity``: that would sample
    another model than the one the run's figures (``npflow evaluate``) describe.

    Raises
    ------
    ValueError
        For any other solver, one line naming it.
    """
    if solver not in (None, JUMPS):
        raise ValueError(f"a MeanFlow run samples only by K jumps of its average velocity (solver {JUMPS} or none, "
                         f"K steps), not by an ODE solver; got solver {solver!r}")
    return meanflow_sample(u, x_0, steps)


def exact_average_velocity(gmm, sigma_min=0.0, rtol=1e-10, atol=1e-10):
    """The exact average velocity of the linear path towards a Gaussian mixture, by (4).

    ``u(x, s, e) = (psi_{s->e}(x) - x) / (e - s)``, with psi the flow of ``exact_velocity(gmm,
    sigma_min)``, and ``u(x, s, s) = v(x, s)``; solved as (4) by DOP853 at tight tolerances.

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1.
    sigma_min : float
        The path's width at t = 1, in [0, 1).
    rtol, atol : float
        Tolerances of the solve.

    Returns
    -------
    u : callable
        ``u(x, s, e)`` with x of shape (n, d) and s, e floats or arrays of shape (n,); returns
        shape (n, d).

    Examples
    --------
    >>> from npflow.gmm import GaussianMixture
    >>> u = exact_average_velocity(GaussianMixture([[4.0, 0.0]], std=1.0))
    >>> u(np.zeros((1, 2)), 0.0, 1.0).round(6)   # N(0, I) to N((4, 0), I): a shift, so u = (4, 0)
    array([[4., 0.]])
    """
    v = exact_velocity(gmm, sigma_min)

    def u(x, s, e):
        s, e = np.broadcast_to(s, len(x)), np.broadcast_to(e, len(x))  # (n,) each
        interval = np.reshape(e - s, (-1, 1))  # (n, 1)

        def dw_dlam(lam, w):  # (4): w is the average velocity so far, lam the share of the interval done
            return v(s + lam * interval[:, 0], x + interval * w)

        return integrate(dw_dlam, np.zeros_like(x), 0.0, 1.0, "DOP853", rtol=rtol, atol=atol).x[-1]

    return u
