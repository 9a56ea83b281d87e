"""The course: nine assignments, one a chapter of the method, and the exercises of each.

This is what a handout says (the goal, the equations, the points); the checks are in
``npflow.teach.checks``. Every exercise is a marked block of the package's source
(``npflow.teach.markers``); ``function`` names the function it sits in, whose signature and
docstring the handout shows. ``depends`` names the exercises its checks run, directly or not (the
test ``test_the_exercises_an_exercise_calls_are_its_depends`` finds them): in a student copy, and
in grading, its checks run the student's own where those are blanked too, and wait until they are
done; when it fails and one of those fails as well, the check says to fix that one first
(``grading.blame_dependency``).
"""
from dataclasses import dataclass

__all__ = ["Exercise", "Assignment", "ASSIGNMENTS", "EXERCISES", "CHAPTER", "exercises_of", "with_depends"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: a marked block of ``npflow/<module>.py`` inside ``function``, worth ``points``.

    ``module`` is the file's path under ``npflow/``, without ``.py``: ``"core/paths"``.
    """

    name: str
    module: str
    function: str
    points: int
    task: str
    depends: tuple = ()


@dataclass(frozen=True)
class Assignment:
    """One chapter's assignment: its number, title, goal, equations and exercises."""

    number: int
    title: str
    goal: str
    equations: str
    exercises: tuple

    @property
    def points(self):
        return sum(exercise.points for exercise in self.exercises)


ASSIGNMENTS = (
    Assignment(1, "The path and what the CFM loss learns", """\
A flow-matching model learns a velocity field v(t, x) that carries noise (t = 0) to data
(t = 1). It is trained on one conditional path at a time: a noise point x_0 and a data point
x_1 joined by a curve x_t, whose time derivative u_t is the regression target of the CFM loss.
You write the path, its velocity written through x_t, and the field the loss is minimised by:
the exact marginal field of a Gaussian-mixture target, which the rest of the course tests
against.""", """\
x_t = alpha_t x_1 + sigma_t x_0              linear: alpha_t = t, sigma_t = 1 - (1 - sigma_min) t
u_t = d_alpha_t x_1 + d_sigma_t x_0          vp: alpha_t = sin(pi t / 2), sigma_t = cos(pi t / 2)
x_0 = (x_t - alpha_t x_1) / sigma_t          icfm: x_t + b z, a blur b that does not move with t
L(theta) = mean (v_theta(t, x_t) - u_t)^2    its minimiser: u_t(x) = E[u_t | x_t = x]
x_t | k ~ N(alpha_t m_k, var_k I),   var_k = alpha_t^2 s_k^2 + sigma_t^2 (+ b^2)
P(k | x) = softmax_k(log w_k + log N(x; alpha_t m_k, var_k I))
E[u_t | x, k] = d_alpha_t m_k + (d var_k / (2 var_k)) (x - alpha_t m_k)
u_t(x) = sum_k P(k | x) E[u_t | x, k]""", (
        Exercise("path", "core/paths", "AffinePath.sample", 2,
                 "x_t and u_t of a batch on any affine path, one time per row."),
        Exercise("velocity_from_x_t", "core/paths", "AffinePath.velocity_from_x_t", 1,
                 "the target velocity from x_t and x_1 alone (the form to average over x_1).", ("path",)),
        Exercise("exact_velocity", "core/oracle", "exact_velocity", 4,
                 "the body of the inner field f(t, x): the exact marginal field of a Gaussian mixture, in the four "
                 "steps of the module docstring (alpha_t, sigma_t, d_alpha_t, d_sigma_t of shape (n, 1), m (K, d), "
                 "s2 (K,) and log_w (K,) are given, and gmm.py has component_log_densities and softmax)."),
    )),
    Assignment(2, "The network, its optimiser and one training step", """\
The field v_theta(t, x) is a multilayer perceptron on [t, x]; its gradient comes from autograd
(or from the chain rule written out in npflow/backprop.py), and Adam turns gradients into steps.
You write the forward pass, Adam's update, and the training step that puts the path, the loss,
the gradient and the optimiser together.""", """\
h_0 = input,  h_l = act(h_{l-1} @ W_l + b_l) for l < L,  output = h_{L-1} @ W_L + b_L
m_k = beta1 m_{k-1} + (1 - beta1) g          v_k = beta2 v_{k-1} + (1 - beta2) g^2
m_hat = m_k / (1 - beta1^k)                  v_hat = v_k / (1 - beta2^k)
theta_k = theta_{k-1} - lr m_hat / (sqrt(v_hat) + eps)
one step: (x_t, u_t) = path.sample(x_0, x_1, t, z); (L, g) = gradient(theta, t, x_t, u_t); theta <- step(theta, g)""", (
        Exercise("mlp_forward", "core/mlp", "mlp", 2,
                 "the MLP's forward pass for any depth and any activation."),
        Exercise("adam_step", "core/optim", "Adam.step", 3,
                 "one Adam step on all the parameters, with its bias corrections."),
        Exercise("training_step", "core/training", "training_step", 2,
                 "one step of flow matching, refusing a non-finite loss or gradient."),
    )),
    Assignment(3, "Solvers and sampling", """\
Generation solves the ODE dx/dt = v(t, x) from noise at t = 0 to data at t = 1. You write three
fixed-step methods and the sampler. The tutorial this project started from got the sampler
wrong: it starts from noise at t = 1 and integrates -v back to t = 0, asking the field about
mirrored times (npflow keeps it as sampling.tutorial_generate, so you can compare).""", """\
Euler:     x_next = x + h f(t, x)                                order 1
midpoint:  x_next = x + h f(t + h/2, x + h/2 f(t, x))            order 2
RK4:       k1 = f(t, x), k2 = f(t + h/2, x + h/2 k1), k3 = f(t + h/2, x + h/2 k2), k4 = f(t + h, x + h k3)
           x_next = x + h/6 (k1 + 2 k2 + 2 k3 + k4)              order 4
sampling:  x(0) = x_0 ~ N(0, I),  dx/dt = v(t, x) from t = 0 to 1""", (
        Exercise("euler_step", "core/solvers", "euler_step", 1, "one Euler step."),
        Exercise("midpoint_step", "core/solvers", "midpoint_step", 1, "one explicit midpoint step."),
        Exercise("rk4_step", "core/solvers", "rk4_stages", 2, "the slopes k2, k3, k4 of one RK4 step, k1 = f(t, x) given."),
        Exercise("generate", "core/sampling", "generate", 1, "the sampler, in npflow's time direction.",
                 ("euler_step", "midpoint_step", "rk4_step")),
    )),
    Assignment(4, "Likelihood and the divergence", """\
A flow is invertible, so it has a likelihood: run it backward from the data to the noise and
add up how much it spreads volume, the divergence of v, on the way. You write the exact
divergence with reverse-mode autograd, Hutchinson's estimator of it, and the reverse ODE that
turns it into log p_1(x).""", """\
div v = sum_j dv_j / dx_j                    (the trace of the Jacobian J = dv/dx)
div v ~ mean over probes eps of eps^T J eps, E[eps eps^T] = I
d/dt log p_t(x(t)) = -div v(t, x(t))
d/dt [x, l] = [v, div v] from [x_1, 0] at t = 1 to t = 0:   log p_1(x_1) = log p_0(x(0)) + l(0)""", (
        Exercise("divergence", "core/likelihood", "divergence", 2,
                 "the exact divergence, one vjp per coordinate (vjp, v, n and d are given)."),
        Exercise("hutchinson", "core/likelihood", "divergence", 1,
                 "Hutchinson's estimate of the divergence from the fixed probes (vjp is given)."),
        Exercise("log_likelihood", "core/likelihood", "log_likelihood", 2,
                 "log p_1(x) by the augmented reverse ODE (n, d and the probes eps, None for the exact "
                 "divergence, are given).", ("divergence", "hutchinson", "euler_step", "midpoint_step", "rk4_step")),
    )),
    Assignment(5, "Couplings, optimal transport and reflow", """\
Which noise point is paired with which data point decides how straight the learned flow is.
You write the cost matrix of a batch, the Sinkhorn iteration of entropic optimal transport, and
the pairs of reflow: noise carried through a trained flow, to train a straighter one on.""", """\
C_ij = |x_0[i] - x_1[j]|^2 = |x_0[i]|^2 + |x_1[j]|^2 - 2 x_0[i] . x_1[j]
P = diag(u) K diag(v),  K_ij = exp((f_i + g_j - C_ij) / eps)
u = (1/n) / (K v),   v = (1/m) / (K^T u)      (rows sum to 1/n, then columns to 1/m)
reflow: x_0 ~ p_0,  x_1 = x_0 + integral from 0 to 1 of v(t, x(t)) dt""", (
        Exercise("squared_distances", "core/couplings", "squared_distances", 1,
                 "the (n, m) matrix of squared distances with one matrix product."),
        Exercise("sinkhorn_update", "core/couplings", "_fit_potentials", 2,
                 "one Sinkhorn iteration on the scalings u and v, with K, n and m given."),
        Exercise("reflow_pair", "runs/reflow", "reflow_pairs", 1, "the pairs a trained flow makes.",
                 ("generate", "midpoint_step")),
    )),
    Assignment(6, "Diffusion beside flow matching", """\
On a Gaussian path the velocity, the noise prediction, the data prediction and the score are
one field seen four ways; diffusion models sample with the score. You write the conversion
from velocity to score, the Euler-Maruyama step of the SDE with the flow's marginals, and the
ancestral step of DDPM and DDIM.""", """\
x = alpha_t x1_hat + sigma_t x0_hat,   v = d_alpha_t x1_hat + d_sigma_t x0_hat,   score = -x0_hat / sigma_t
dx = [v + g^2 / 2 score] dt + g dW  (same marginals p_t as dx = v dt, for any g)
Euler-Maruyama: x_next = x + h [v + g^2 / 2 score](t, x) + g sqrt(h) z
ancestral: x_t = alpha_t x1_hat + sigma_t (sqrt(1 - c^2) x0_hat + c z),
           c = eta sqrt(1 - r^2),  r = (alpha_s sigma_t) / (sigma_s alpha_t)""", (
        Exercise("velocity_to_score", "core/views", "velocity_to_score", 2, "the score from the velocity."),
        Exercise("euler_maruyama_step", "diffusion/stochastic", "euler_maruyama_step", 2,
                 "one Euler-Maruyama step of the SDE, v = f(t, x) given.", ("velocity_to_score",)),
        Exercise("ancestral_step", "diffusion/stochastic", "ancestral_step", 2,
                 "one ancestral step, DDIM (eta = 0) to DDPM (eta = 1); alpha_s, sigma_s, alpha_t and "
                 "sigma_t are given."),
    )),
    Assignment(7, "Guidance", """\
A conditional field v(t, x, y) learns the data of label y; trained with some labels dropped it
also learns the unconditional field, and classifier-free guidance extrapolates from one to the
other. You write the label dropout of training and the guided field of sampling.""", """\
training: y <- NO_LABEL with probability p_uncond, independently per point
v_w = (1 + w) v(t, x, y) - w v(t, x, no label)      w = 0 conditional, w = -1 unconditional""", (
        Exercise("label_dropout", "guidance/labels", "drop_labels", 1, "label dropout from one uniform draw per label."),
        Exercise("guided_velocity", "guidance/conditional", "guided_velocity", 1, "the guided field v_w."),
    )),
    Assignment(8, "One step: MeanFlow", """\
An average velocity u(s, t, x) jumps from time s to time t in one step. The MeanFlow identity
gives its training target from the network itself, through a derivative along the path that a
forward-mode chain rule (a Jacobian-vector product) computes. You write that target.""", """\
x_t = x_s + (t - s) u(s, t, x_s),   u(t, t, x) = v(t, x)
u_tgt = v_s + (t - s) du/ds,   du/ds = d_s u + (grad_x u) v_s   (the JVP with tangent (1, 0, v_s) on (s, t, x))""", (
        Exercise("meanflow_target", "meanflow/loss", "meanflow_target", 2, "the MeanFlow target by one JVP.",
                 ("mlp_forward",)),
    )),
    Assignment(9, "Discrete flow matching", """\
Tokens do not move: they jump. A sequence of D tokens over V symbols starts at a source (every
token MASK, or uniform noise) and each token jumps once, to its data value, at a random time.
The mixture path draws the state at time t; a model of the posterior p(x_1^i | x_t) gives the
probability velocity, the rates of the jumps; and a step of the jump process turns rates into
probabilities to draw the next tokens from. You write the path's draw, the velocity and the
Euler step, which must stay a probability however large the step.""", """\
x_t^i = x_1^i with probability kappa(t), else x_0^i     one uniform U per token: x_0^i where U < 1 - kappa(t)
u_t(y | x_t) = kappa'(t) / (1 - kappa(t)) [p(x_1^i = y | x_t) - delta(y, x_t^i)]    (p padded with 0 at MASK)
rows: sum_y u_t(y | x_t) = 0,   u_t(y | x_t) >= 0 for y != x_t^i
Euler: P(x_{t+h}^i = y) = delta(y, x_t^i) + h u_t(y | x_t), clipped at 0 and renormalised""", (
        Exercise("sample_path", "discrete/paths", "sample_path", 1,
                 "the mixture path's draw: one uniform per token, x_0 where U < 1 - kappa(t), else x_1."),
        Exercise("probability_velocity", "discrete/velocity", "probability_velocity", 2,
                 "the probability velocity of every token, over the S symbols (jump_rate, padded and one_hot are "
                 "given)."),
        Exercise("euler_probabilities", "discrete/velocity", "euler_probabilities", 2,
                 "the Euler step's probabilities, kept a probability for any h."),
    )),
)

#: Every exercise by name, in course order.
EXERCISES = {exercise.name: exercise for assignment in ASSIGNMENTS for exercise in assignment.exercises}

#: The assignment number of each exercise.
CHAPTER = {exercise.name: assignment.number for assignment in ASSIGNMENTS for exercise in assignment.exercises}


def exercises_of(numbers=None):
    """The exercise names of the assignments ``numbers`` (all when None or empty), in course order.

    Raises
    ------
    ValueError
        For a number that is not an assignment.
    """
    known = [assignment.number for assignment in ASSIGNMENTS]
    for number in numbers or ():
        if number not in known:
            raise ValueError(f"assignment must be one of {', '.join(map(str, known))}, got {number!r}")
    return [name for name in EXERCISES if not numbers or CHAPTER[name] in numbers]


def with_depends(names, among):
    """``names`` and the exercises they call (their ``depends``) that are ``among`` the given ones, in course order:
    what a graded copy takes from the student, so that each exercise runs the student's own code for those."""
    wanted = set(names) | {other for name in names for other in EXERCISES[name].depends if other in among}
    return [name for name in EXERCISES if name in wanted]
