"""The catalogue of usual mistakes: for each exercise, wrong code that students write, and a hint.

The grader runs each mistake on the case a student's code failed (spliced into the reference,
as the student's code is) and, when it gives the same outcome (the same arrays, or the same
exception), shows its hint. Order matters: the first match wins.

This file is nearly the answers, so it stays with the instructor.
"""
import textwrap
from dataclasses import dataclass

from .mistakes_discrete import DISCRETE

__all__ = ["Mistake", "CATALOGUE"]


@dataclass(frozen=True)
class Mistake:
    """Wrong code for an exercise's block (indented from column 0) and what to tell the student."""

    hint: str
    code: str


def _mistakes(*pairs):
    return tuple(Mistake(hint, textwrap.dedent(code).lstrip("\n")) for hint, code in pairs)


def _exact_field(var="alpha_t**2 * s2 + sigma_t**2 + path.blur**2", centres="alpha_t[:, :, None] * m",
                 posterior="softmax(component_log_densities(x, centres, var, log_w))"):
    """exact_velocity's block, with one of its parts changed: the variances, the centres, the posterior."""
    return textwrap.dedent(f"""
        var = {var}
        half_d_var = alpha_t * d_alpha_t * s2 + sigma_t * d_sigma_t
        centres = {centres}
        posterior = {posterior}
        u_given_k = np.reshape(d_alpha_t, (-1, 1, 1)) * m + (half_d_var / var)[:, :, None] * (x[:, None, :] - centres)
        return np.sum(posterior[:, :, None] * u_given_k, axis=1)
        """).lstrip("\n")


def _reverse_ode(span="1.0, 0.0", result="log_p_0(end[:, :d]) + end[:, d]", probes=", eps"):
    """log_likelihood's block, with one of its parts changed: the time span, the result, the probes."""
    return textwrap.dedent(f"""
        def augmented(t, state):
            v, div = divergence(f, t, state[:, :d]{probes})
            return np.concatenate([v, div[:, None]], axis=1)

        start = np.concatenate([x, np.zeros((n, 1))], axis=1)
        end = integrate(augmented, start, {span}, method=solver, steps=steps, rtol=rtol, atol=atol).x[-1]
        return {result}
        """).lstrip("\n")


CATALOGUE = {
    "path": _mistakes(
        ("sigma_min (and the vp schedule) forgotten: use the path's own alpha_t, sigma_t, d_alpha_t, d_sigma_t "
         "(self.alpha(t), ...), not t and 1 - t", """
            t = np.reshape(t, (-1, 1))
            x_t = t * x_1 + (1 - t) * x_0
            u_t = x_1 - x_0
            """),
        ("the time convention reversed: t = 0 is noise and t = 1 is data, so alpha_t (0 at t = 0) weighs the data "
         "x_1 and sigma_t the noise x_0", """
            t = np.reshape(t, (-1, 1))
            x_t = self.alpha(t) * x_0 + self.sigma(t) * x_1
            u_t = self.d_alpha(t) * x_0 + self.d_sigma(t) * x_1
            """),
        ("t has shape (n,): reshape it to (n, 1), so that each row (point) gets its own time", """
            x_t = self.alpha(t) * x_1 + self.sigma(t) * x_0
            u_t = self.d_alpha(t) * x_1 + self.d_sigma(t) * x_0
            """),
        ("do not return inside the block: the lines after it add icfm's blur b z to x_t", """
            t = np.reshape(t, (-1, 1))
            return self.alpha(t) * x_1 + self.sigma(t) * x_0, self.d_alpha(t) * x_1 + self.d_sigma(t) * x_0
            """),
    ),
    "velocity_from_x_t": _mistakes(
        ("sigma_min (and the vp schedule) forgotten: (x_1 - x_t) / (1 - t) holds for the straight line only; "
         "write it with the path's alpha_t, sigma_t and their derivatives", """
            return (x_1 - x_t) / (1 - t)
            """),
        ("x_0 = (x_t - alpha_t x_1) / sigma_t: the division by sigma_t is missing", """
            return self.d_alpha(t) * x_1 + self.d_sigma(t) * (x_t - self.alpha(t) * x_1)
            """),
        ("a sign: x_0 = (x_t - alpha_t x_1) / sigma_t, not (alpha_t x_1 - x_t) / sigma_t", """
            return self.d_alpha(t) * x_1 + self.d_sigma(t) * (self.alpha(t) * x_1 - x_t) / self.sigma(t)
            """),
    ),
    "exact_velocity": _mistakes(
        ("icfm's blur b adds b^2 to every component's variance: var_k = alpha_t^2 s_k^2 + sigma_t^2 + b^2",
         _exact_field(var="alpha_t**2 * s2 + sigma_t**2")),
        ("the posterior P(k | x) depends on x: the softmax of log w_k + log N(x; alpha_t m_k, var_k I) "
         "(component_log_densities), not the prior weights w_k",
         _exact_field(posterior="np.exp(log_w) * np.ones((len(x), 1))")),
        ("at time t component k sits at alpha_t m_k (at t = 0, the noise, every component is at 0), not at m_k",
         _exact_field(centres="m")),
    ),
    "mlp_forward": _mistakes(
        ("no activation on the last layer: the output is a velocity, any real number", """
            act = ACTIVATIONS[activation]
            h = inputs
            for layer in params:
                h = act(affine(h, layer))
            return h
            """),
        ("the activation is the argument activation (ACTIVATIONS[activation]: relu, silu or tanh), not relu always", """
            *hidden_layers, (W_L, b_L) = params
            h = inputs
            for W, b in hidden_layers:
                h = np.maximum(h @ W + b, 0)
            return h @ W_L + b_L
            """),
        ("the hidden layers need their activation: without it the network is a single linear map", """
            h = inputs
            for W, b in params:
                h = h @ W + b
            return h
            """),
        ("W has shape (fan_in, fan_out): a layer computes h @ W + b, not h @ W.T", """
            act = ACTIVATIONS[activation]
            *hidden_layers, (W_L, b_L) = params
            h = inputs
            for W, b in hidden_layers:
                h = act(h @ W.T + b)
            return h @ W_L.T + b_L
            """),
    ),
    "adam_step": _mistakes(
        ("the bias correction is left out: m_hat = m / (1 - beta1^k) and v_hat = v / (1 - beta2^k), k from 1", """
            self.m = self.beta1 * self.m + (1 - self.beta1) * g
            self.v = self.beta2 * self.v + (1 - self.beta2) * g**2
            theta = theta - self.lr * self.m / (np.sqrt(self.v) + self.eps)
            """),
        ("eps goes after the square root: sqrt(v_hat) + eps, as in the paper and torch.optim.Adam", """
            self.m = self.beta1 * self.m + (1 - self.beta1) * g
            self.v = self.beta2 * self.v + (1 - self.beta2) * g**2
            m_hat, v_hat = self.m / (1 - self.beta1**k), self.v / (1 - self.beta2**k)
            theta = theta - self.lr * m_hat / np.sqrt(v_hat + self.eps)
            """),
        ("v averages the squared gradient, g**2, not g: it is the second moment", """
            self.m = self.beta1 * self.m + (1 - self.beta1) * g
            self.v = self.beta2 * self.v + (1 - self.beta2) * g
            m_hat, v_hat = self.m / (1 - self.beta1**k), self.v / (1 - self.beta2**k)
            theta = theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
            """),
    ),
    "training_step": _mistakes(
        ("a NaN or infinite loss or gradient must raise TrainingDiverged before the update, so that it never "
         "reaches the parameters", """
            x_t, u_t = path.sample(x_0, x_1, t, z)
            loss, grads = gradient(params, t, x_t, u_t, activation)
            return optimizer.step(params, grads), float(loss)
            """),
        ("pass z on to path.sample: a path with a blur (icfm) needs it", """
            x_t, u_t = path.sample(x_0, x_1, t)
            loss, grads = gradient(params, t, x_t, u_t, activation)
            if not (np.isfinite(loss) and np.isfinite(tree_flatten(grads)).all()):
                raise TrainingDiverged(f"the loss is {loss}")
            return optimizer.step(params, grads), float(loss)
            """),
        ("the order is (x_0, x_1, t): noise, data, time", """
            x_t, u_t = path.sample(x_1, x_0, t, z)
            loss, grads = gradient(params, t, x_t, u_t, activation)
            if not (np.isfinite(loss) and np.isfinite(tree_flatten(grads)).all()):
                raise TrainingDiverged(f"the loss is {loss}")
            return optimizer.step(params, grads), float(loss)
            """),
    ),
    "euler_step": _mistakes(
        ("Euler takes the slope at the start of the step, f(t, x)", "return x + h * f(t + h, x)\n"),
        ("the slope is multiplied by the step h", "return x + f(t, x)\n"),
    ),
    "midpoint_step": _mistakes(
        ("that is Euler's step: the midpoint method takes its slope at the midpoint of the step",
         "return x + h * f(t, x)\n"),
        ("the slope at the midpoint is taken at the midpoint's time, t + h/2",
         "return x + h * f(t, x + h / 2 * f(t, x))\n"),
        ("the midpoint is half a step along f(t, x): x + h/2 f(t, x)",
         "return x + h * f(t + h / 2, x + h * f(t, x))\n"),
    ),
    "rk4_step": _mistakes(
        ("each midpoint slope starts from the last one: k3 from x + h/2 k2", """
            k2 = f(t + h / 2, x + h / 2 * k1)
            k3 = f(t + h / 2, x + h / 2 * k1)
            k4 = f(t + h, x + h * k3)
            return k1, k2, k3, k4
            """),
        ("k4 is the slope at the end of the step, at time t + h", """
            k2 = f(t + h / 2, x + h / 2 * k1)
            k3 = f(t + h / 2, x + h / 2 * k2)
            k4 = f(t + h / 2, x + h * k3)
            return k1, k2, k3, k4
            """),
        ("the midpoint is half a step along k1: x + h/2 k1", """
            k2 = f(t + h / 2, x + h * k1)
            k3 = f(t + h / 2, x + h * k2)
            k4 = f(t + h, x + h * k3)
            return k1, k2, k3, k4
            """),
    ),
    "generate": _mistakes(
        ("the tutorial's sampler: time runs from t = 0 (noise) to t = 1 (data); integrating -v from t = 1 down to 0 "
         "asks the field about mirrored times", """
            return integrate(lambda t, x: -f(t, x), x_0, 1.0, 0.0, method=method, steps=steps, rtol=rtol, atol=atol,
                             callback=callback)
            """),
        ("from t = 1 to t = 0 is encode, data to noise: generation starts from the noise at t = 0", """
            return integrate(f, x_0, 1.0, 0.0, method=method, steps=steps, rtol=rtol, atol=atol, callback=callback)
            """),
        ("pass method, steps, rtol, atol and callback on to integrate", "return integrate(f, x_0, 0.0, 1.0)\n"),
    ),
    "divergence": _mistakes(
        ("the divergence is the trace of the Jacobian: its diagonal entries dv_j/dx_j only, not every entry", """
            div = np.sum(vjp(np.ones((n, d))), axis=1)
            """),
        ("the divergence's sign: div v = + sum_j dv_j/dx_j (the minus belongs to d/dt log p)", """
            div = -sum(vjp(np.broadcast_to(np.eye(d)[j], (n, d)))[:, j] for j in range(d))
            """),
        ("take the j-th entry of vjp(e_j), dv_j/dx_j: the diagonal of the Jacobian", """
            div = sum(vjp(np.broadcast_to(np.eye(d)[j], (n, d)))[:, 0] for j in range(d))
            """),
    ),
    "hutchinson": _mistakes(
        ("the estimate is the mean over the K probes, not their sum", """
            div = np.sum([np.sum(vjp(eps) * eps, axis=1) for eps in probes], axis=0)
            """),
        ("eps^T J eps needs the Jacobian: vjp(eps) is eps^T J (eps^T eps alone knows nothing of v)", """
            div = np.mean([np.sum(eps * eps, axis=1) for eps in probes], axis=0)
            """),
        ("sum over the coordinates of each point (axis 1): one number per point, shape (n,)", """
            div = np.mean([np.sum(vjp(eps) * eps, axis=0) for eps in probes], axis=0)
            """),
    ),
    "log_likelihood": _mistakes(
        ("the divergence's sign: l(0), the integral of div v from t = 1 down to 0, is already minus the integral "
         "from 0 to 1, so log p_1(x) = log p_0(x(0)) + l(0)", _reverse_ode(result="log_p_0(end[:, :d]) - end[:, d]")),
        ("solve backward, from t = 1 (where x is data) to t = 0 (the noise it came from)",
         _reverse_ode(span="0.0, 1.0")),
        ("log p_0 is taken at x(0), the noise the data point came from, not at x",
         _reverse_ode(result="log_p_0(x) + end[:, d]")),
        ("pass the probes eps on to divergence: with method='hutchinson' the divergence is estimated with them",
         _reverse_ode(probes="")),
    ),
    "squared_distances": _mistakes(
        ("C has one row per point of x_0 and one column per point of x_1: shape (n, m)", """
            return np.sum(x_1 ** 2, axis=1)[:, None] + np.sum(x_0 ** 2, axis=1)[None, :] - 2 * x_1 @ x_0.T
            """),
        ("the cost is the squared distance: no square root", """
            return np.sqrt(np.maximum(np.sum(x_0 ** 2, axis=1)[:, None] + np.sum(x_1 ** 2, axis=1)[None, :]
                                      - 2 * x_0 @ x_1.T, 0))
            """),
        ("|a - b|^2 = |a|^2 + |b|^2 - 2 a . b: the 2 of the cross term", """
            return np.sum(x_0 ** 2, axis=1)[:, None] + np.sum(x_1 ** 2, axis=1)[None, :] - x_0 @ x_1.T
            """),
    ),
    "sinkhorn_update": _mistakes(
        ("u_before must be the u of the last iteration (before this update): the stopping test compares the two", """
            u = (1 / n) / (K @ v)
            u_before = u
            v = (1 / m) / (K.T @ u)
            """),
        ("rows sum to 1/n (n points x_0, the length of f) and columns to 1/m", """
            u_before, u = u, (1 / m) / (K @ v)
            v = (1 / n) / (K.T @ u)
            """),
        ("v scales the columns, so it needs the column sums K^T u (K.T @ u)", """
            u_before, u = u, (1 / n) / (K @ v)
            v = (1 / m) / (K @ u)
            """),
    ),
    "reflow_pair": _mistakes(
        ("x_1 is the end of the trajectory, .x[-1] (t = 1); .x[0] is x_0 itself", """
            x_0 = run.config.source_distribution.sample(n, rng)
            x_1 = generate(run.velocity, x_0, solver, steps=steps, rtol=rtol, atol=atol).x[0]
            """),
        ("pass solver, steps, rtol and atol on to generate: the pairs must be the flow's, not a loose solver's", """
            x_0 = run.config.source_distribution.sample(n, rng)
            x_1 = generate(run.velocity, x_0).x[-1]
            """),
    ),
    "velocity_to_score": _mistakes(
        ("the score's sign: score = -x0_hat / sigma_t, pointing from the noise back towards the data", """
            x0_hat = (alpha_t * v - d_alpha_t * x_t) / (alpha_t * d_sigma_t - sigma_t * d_alpha_t)
            return x0_hat / sigma_t
            """),
        ("score = -x0_hat / sigma_t, one division: x0_hat is the noise of unit variance", """
            x0_hat = (alpha_t * v - d_alpha_t * x_t) / (alpha_t * d_sigma_t - sigma_t * d_alpha_t)
            return -x0_hat / sigma_t**2
            """),
        ("solve for x0_hat (the noise), not x1_hat (the data)", """
            x1_hat = (d_sigma_t * x_t - sigma_t * v) / (alpha_t * d_sigma_t - sigma_t * d_alpha_t)
            return -x1_hat / sigma_t
            """),
    ),
    "euler_maruyama_step": _mistakes(
        ("the noise of a step of length h has standard deviation g sqrt(h) (Brownian increments), not g h", """
            return x + h * (v + g**2 / 2 * velocity_to_score(v, x, t, path)) + g * h * z
            """),
        ("the drift is v + g^2 / 2 * score: without the score term the noise spreads the points and nothing "
         "gathers them back", """
            return x + h * v + g * math.sqrt(h) * z
            """),
        ("the score term is + g^2 / 2 * score, as the Fokker-Planck equation asks", """
            return x + h * (v + g * velocity_to_score(v, x, t, path)) + g * math.sqrt(h) * z
            """),
        ("a sign: the drift is v + g^2 / 2 * score, up the density", """
            return x + h * (v - g**2 / 2 * velocity_to_score(v, x, t, path)) + g * math.sqrt(h) * z
            """),
    ),
    "ancestral_step": _mistakes(
        ("c = eta sqrt(1 - r^2): eta = 0 (DDIM) draws no fresh noise", """
            r = (alpha_s * sigma_t) / (sigma_s * alpha_t)
            c = math.sqrt(1.0 - r**2)
            return alpha_t * x1_hat + sigma_t * (math.sqrt(1.0 - c**2) * x0_hat + c * z)
            """),
        ("the kept noise is scaled by sqrt(1 - c^2), so that sqrt(1 - c^2) x0_hat + c z keeps unit variance", """
            r = (alpha_s * sigma_t) / (sigma_s * alpha_t)
            c = eta * math.sqrt(1.0 - r**2)
            return alpha_t * x1_hat + sigma_t * (x0_hat + c * z)
            """),
        ("r = (alpha_s sigma_t) / (sigma_s alpha_t), in [0, 1] for s < t (and 0 at s = 0, where alpha_s = 0)", """
            r = (sigma_s * alpha_t) / (alpha_s * sigma_t)
            c = eta * math.sqrt(1.0 - r**2)
            return alpha_t * x1_hat + sigma_t * (math.sqrt(1.0 - c**2) * x0_hat + c * z)
            """),
    ),
    "label_dropout": _mistakes(
        ("a label is dropped where u < p_uncond, so that about p_uncond of them are (not 1 - p_uncond)", """
            return np.where(rng.random(y.shape) > p_uncond, NO_LABEL, y)
            """),
        ("leave y as it was: return a new array (np.where) instead of writing NO_LABEL into y", """
            y[rng.random(y.shape) < p_uncond] = NO_LABEL
            return y
            """),
        ("one uniform draw per label, not one for the whole batch", """
            return np.full_like(y, NO_LABEL) if rng.random() < p_uncond else y.copy()
            """),
    ),
    "guided_velocity": _mistakes(
        ("v_w = (1 + w) v(t, x, y) - w v(t, x, no label): the conditional field has the weight 1 + w", """
            return (1 + w) * f_cond(t, x, np.full_like(labels, NO_LABEL)) - w * f_cond(t, x, labels)
            """),
        ("that is the guidance_scale convention of other libraries (their scale is 1 + w): in npflow w = 0 is the "
         "conditional field, v_w = (1 + w) v_cond - w v_uncond", """
            return w * f_cond(t, x, labels) + (1 - w) * f_cond(t, x, np.full_like(labels, NO_LABEL))
            """),
        ("'no label' is NO_LABEL for every point (np.full_like(labels, NO_LABEL)), not the label 0", """
            return (1 + w) * f_cond(t, x, labels) - w * f_cond(t, x, np.zeros_like(labels))
            """),
    ),
    "meanflow_target": _mistakes(
        ("npflow's time runs from noise (0) to data (1): u_tgt = v_s + (t - s) du/ds; the paper's minus sign "
         "belongs to its reversed time", """
            _, du_ds = average_velocity_jvp(params, s, t, x_s, 1.0, 0.0, v_s, activation)
            return v_s - np.reshape(t - s, (-1, 1)) * du_ds
            """),
        ("s moves along the path too: the tangent on (s, t, x) is (1, 0, v_s)", """
            _, du_ds = average_velocity_jvp(params, s, t, x_s, 0.0, 0.0, v_s, activation)
            return v_s + np.reshape(t - s, (-1, 1)) * du_ds
            """),
        ("t is fixed: the tangent's dt is 0", """
            _, du_ds = average_velocity_jvp(params, s, t, x_s, 1.0, 1.0, v_s, activation)
            return v_s + np.reshape(t - s, (-1, 1)) * du_ds
            """),
    ),
    **{name: _mistakes(*pairs) for name, pairs in DISCRETE.items()},
}
