"""The usual mistakes of chapter 9 (discrete flow matching), as (hint, code) pairs: ``mistakes.CATALOGUE`` holds them.

They live in a module of their own so that ``mistakes`` stays short. Like it, this file is nearly
the answers, so it stays with the instructor.
"""

__all__ = ["DISCRETE"]

#: For each exercise of chapter 9: (hint, wrong code of its block), first match first.
DISCRETE = {
    "sample_path": (
        ("a token shows x_1 with probability kappa(t), so it keeps x_0 where U < 1 - kappa(t): U < kappa(t) is the "
         "wrong way round", """
            kappa = scheduler.kappa(np.asarray(t, dtype=float)).reshape(-1, 1)
            U = rng.random(np.shape(x_1))
            return np.where(U < kappa, x_0, x_1).astype(np.int64)
            """),
        ("the probability is kappa(t) (scheduler.kappa), not t: the two agree only for the linear scheduler", """
            U = rng.random(np.shape(x_1))
            return np.where(U < 1.0 - np.reshape(t, (-1, 1)), x_0, x_1).astype(np.int64)
            """),
        ("one uniform per token, of shape (n, D), not one per sequence: the tokens are revealed independently", """
            kappa = scheduler.kappa(np.asarray(t, dtype=float)).reshape(-1, 1)
            U = rng.random((len(x_1), 1))
            return np.where(U < 1.0 - kappa, x_0, x_1).astype(np.int64)
            """),
        ("t has shape (n,): reshape kappa(t) to (n, 1), so that each sequence (a row) gets its own", """
            kappa = scheduler.kappa(np.asarray(t, dtype=float))
            U = rng.random(np.shape(x_1))
            return np.where(U < 1.0 - kappa, x_0, x_1).astype(np.int64)
            """),
    ),
    "probability_velocity": (
        ("u = c (p - delta(y, x_t^i)): without the - delta term the rows do not sum to zero", """
            return jump_rate(t, scheduler) * padded(p_1, S)
            """),
        ("a sign: u = c (p - delta), so that the rates of jumping to y != x_t^i are >= 0", """
            return jump_rate(t, scheduler) * (one_hot(x_t, S) - padded(p_1, S))
            """),
        ("the rate is kappa'(t) / (1 - kappa(t)) (jump_rate), not 1 / (1 - t): they agree only for kappa = t", """
            c = 1.0 / (1.0 - np.reshape(t, (-1, 1, 1)))
            return c * (padded(p_1, S) - one_hot(x_t, S))
            """),
        ("p_1 has V symbols and u has S: pad p_1 with zeros at MASK (padded(p_1, S)) before subtracting the one-hot",
         """
            return jump_rate(t, scheduler) * (p_1 - one_hot(x_t, p_1.shape[-1]))
            """),
        ("t has shape (n,): the rate must have the shape (n, 1, 1) (jump_rate), one per sequence, to broadcast over "
         "its tokens and symbols", """
            c = scheduler.d_kappa(t) / (1.0 - scheduler.kappa(t))
            return c * (padded(p_1, S) - one_hot(x_t, S))
            """),
    ),
    "euler_probabilities": (
        ("delta + h u goes below zero where h times the rate of leaving exceeds 1: clip it at 0, then renormalise "
         "each row", """
            return one_hot(x_t, S) + h * u
            """),
        ("after clipping, divide each row by its sum, so that it sums to one again", """
            return np.clip(one_hot(x_t, S) + h * u, 0.0, None)
            """),
        ("clip the sum delta + h u, not h u: on the diagonal h u = -h lambda is negative by design, and 1 - h lambda "
         "is the probability to stay", """
            p = one_hot(x_t, S) + np.clip(h * u, 0.0, None)
            return p / np.sum(p, axis=-1, keepdims=True)
            """),
        ("divide each token's row by its own sum (axis=-1, keepdims=True), not by the sum of the whole array", """
            p = np.clip(one_hot(x_t, S) + h * u, 0.0, None)
            return p / np.sum(p)
            """),
        ("the step starts where the token is: delta(y, x_t^i) + h u; h u alone says only where it may jump", """
            p = np.clip(h * u, 0.0, None)
            return p / np.sum(p, axis=-1, keepdims=True)
            """),
    ),
}
