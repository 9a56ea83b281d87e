"""The teaching kit: hand out npflow with its key lines removed, and grade what comes back.

    python -m npflow.teach student OUT_DIR      # a copy of the package with the exercises blanked
    python -m npflow.teach grade [PACKAGE_DIR]  # grade a copy (or the installed npflow)

**The marker convention.** In the package source, an exercise is a block of lines between

    # >>> exercise NAME: HINT
    ...the reference solution...
    # <<< exercise

The student copy replaces each such block, markers included, with one line at the marker's
indentation, ``raise NotImplementedError("exercise NAME: HINT")``. Everything else is copied
as it is, so the package imports and every part that does not need an exercise runs.

**The grader** loads the package under test from its directory, runs one check per exercise
and prints a table. The checks use oracles of their own (the formula written again, autograd's
Adam, Simpson's rule, finite differences), never the reference code, and their messages say
what went wrong: a wrong shape ("expected shape (8, 2), got (2, 8)"), or where the values first
differ. It exits with 0 only if every exercise passes.
"""
import importlib.util
import os
import re
import shutil
import sys
import traceback

import numpy as np

__all__ = ["EXERCISES", "strip_exercises", "write_student_copy", "load_package", "grade", "main"]

# An exercise name is lower case (so the NAME in the docstring above is not one).
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)# >>> exercise (?P<name>[a-z0-9_]+): (?P<hint>.*?)\n"
                    r".*?^[ \t]*# <<< exercise\n", re.MULTILINE | re.DOTALL)


def strip_exercises(source):
    """Replace every exercise block of a module's source by a ``NotImplementedError`` stub.

    Returns
    -------
    text : str
    names : list of str
        The exercises found, in order.
    """
    names = []

    def stub(match):
        names.append(match["name"])
        message = f"exercise {match['name']}: {match['hint']}"
        return f"{match['indent']}raise NotImplementedError({message!r})\n"

    return _BLOCK.sub(stub, source), names


def write_student_copy(out_dir, force=False):
    """Write ``OUT_DIR/npflow``: this package with every exercise blanked. Returns the exercise names."""
    from .plumbing.io import atomic_directory

    source_dir = os.path.dirname(os.path.abspath(__file__))
    found = []
    with atomic_directory(out_dir, force, marker=os.path.join("npflow", "__init__.py")) as tmp:
        target = os.path.join(tmp, "npflow")
        shutil.copytree(source_dir, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in sorted(os.listdir(target)):
            if name.endswith(".py"):
                path = os.path.join(target, name)
                with open(path) as file:
                    text, names = strip_exercises(file.read())
                with open(path, "w") as file:
                    file.write(text)
                found += names
    return found


def load_package(directory):
    """Import the ``npflow`` package found in ``directory`` under the name ``npflow_under_test``."""
    init = os.path.join(directory, "npflow", "__init__.py")
    if not os.path.isfile(init):
        raise ValueError(f"{directory!r} holds no npflow package (no npflow/__init__.py)")
    for name in [name for name in sys.modules if name.split(".")[0] == "npflow_under_test"]:
        del sys.modules[name]  # forget an earlier package under test and its submodules
    spec = importlib.util.spec_from_file_location("npflow_under_test", init,
                                                  submodule_search_locations=[os.path.dirname(init)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the package's relative imports find it here
    spec.loader.exec_module(module)
    return module


# --- checks: each raises AssertionError with a message for the student, or returns ---------------

def _module(pkg, name):
    """A submodule of the package under test (``pkg.mlp`` is the function that ``__init__`` exports)."""
    return importlib.import_module(f"{pkg.__name__}.{name}")


def _compare(what, got, expected, rtol=1e-9, atol=1e-12):
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        hint = " (transposed?)" if got.shape == expected.shape[::-1] else ""
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {got.shape}{hint}")
    wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if wrong.any():
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise AssertionError(f"{what}: first differs at index {index}: expected {expected[index]:.6g}, "
                             f"got {got[index]:.6g} ({int(wrong.sum())} of {wrong.size} entries differ)")


def _problem(seed=0, n=8):
    """A generator and a small batch (x_0, x_1, t) for the checks, the data spread wider than the noise."""
    rng = np.random.default_rng(seed)
    x_1, t, x_0 = rng.standard_normal((n, 2)) * 3, rng.random(n), rng.standard_normal((n, 2))
    return rng, x_0, x_1, t


def check_path(pkg):
    _, x_0, x_1, t = _problem()
    paths = _module(pkg, "paths")
    x_t, u_t = paths.LinearPath(0.1).sample(x_0, x_1, t)
    _compare("x_t", x_t, t[:, None] * x_1 + (1 - 0.9 * t[:, None]) * x_0)
    _compare("u_t", u_t, x_1 - 0.9 * x_0)
    z = np.ones_like(x_0)  # icfm's blur is added after the exercise's lines: they must let it through
    x_t, u_t = paths.ICFMPath(0.5).sample(x_0, x_1, t, z)
    _compare("icfm x_t (with its blur 0.5 z)", x_t, t[:, None] * x_1 + (1 - t[:, None]) * x_0 + 0.5)
    _compare("icfm u_t", u_t, x_1 - x_0)


def check_mlp_forward(pkg):
    rng, *_ = _problem()
    params = [(rng.standard_normal((3, 5)), rng.standard_normal(5)),
              (rng.standard_normal((5, 2)), rng.standard_normal(2))]
    inputs = rng.standard_normal((8, 3))
    hidden = np.maximum(inputs @ params[0][0] + params[0][1], 0)  # relu on the hidden layer only
    _compare("mlp output", _module(pkg, "mlp").mlp(params, inputs, "relu"), hidden @ params[1][0] + params[1][1])


def check_adam_step(pkg):
    from autograd.misc.optimizers import adam

    rng, *_ = _problem()
    params = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(5)]
    opt, ours = _module(pkg, "optim").Adam(lr=0.01), params
    for g in grads:
        ours = opt.step(ours, g)
    expected = adam(lambda x, i: grads[i], params, num_iters=5, step_size=0.01)
    for i, (got, want) in enumerate(zip(ours, expected)):
        _compare(f"params[{i}] after 5 Adam steps", got, want)


def check_rk4_step(pkg):
    def cubic(t, x):  # f depends on t alone: RK4 is then Simpson's rule, exact for a cubic
        return np.full_like(x, 4 * t**3 - 3 * t**2 + 1)

    got = _module(pkg, "solvers").rk4_step(cubic, 0.5, np.zeros((1, 1)), 1.5)
    exact = 2.0**4 - 2.0**3 + 2 - (0.5**4 - 0.5**3 + 0.5)  # t^4 - t^3 + t from 0.5 to 2
    _compare("one RK4 step of dx/dt = 4t^3 - 3t^2 + 1 from t = 0.5 to 2", got, [[exact]])
    errors = [abs(_module(pkg, "solvers").integrate(lambda t, x: -x, np.ones((1, 1)), 0, 1, "rk4", steps=n).x[-1, 0, 0]
                  - np.exp(-1.0)) for n in (8, 16)]
    order = np.log2(errors[0] / errors[1])
    if abs(order - 4) > 0.2:
        raise AssertionError(f"halving h should divide the error by 2^4; the observed order is {order:.2f}")


def check_training_step(pkg):
    from .backprop import numerical_gradient

    rng, x_0, x_1, t = _problem()
    params = [(rng.standard_normal((3, 4)), rng.standard_normal(4)),
              (rng.standard_normal((4, 2)), rng.standard_normal(2))]
    path = _module(pkg, "paths").LinearPath(0.0)
    x_t, u_t = t[:, None] * x_1 + (1 - t[:, None]) * x_0, x_1 - x_0

    def loss(p):
        hidden = np.maximum(np.column_stack([t, x_t]) @ p[0][0] + p[0][1], 0)
        return float(np.mean((hidden @ p[1][0] + p[1][1] - u_t) ** 2))

    new, got_loss = _module(pkg, "train").training_step(params, _module(pkg, "optim").SGD(lr=0.1), path, x_0, x_1, t)
    _compare("the loss", got_loss, loss(params))
    gradient = numerical_gradient(loss, params)
    for i, ((W, b), (W_0, b_0), (g_W, g_b)) in enumerate(zip(new, params, gradient)):
        _compare(f"W{i} after one SGD step", W, W_0 - 0.1 * g_W, rtol=1e-5, atol=1e-7)
        _compare(f"b{i} after one SGD step", b, b_0 - 0.1 * g_b, rtol=1e-5, atol=1e-7)


def check_divergence(pkg):
    A = np.array([[1.0, 2.0], [-3.0, 0.5]])
    _, _, x, _ = _problem()  # the x_1 of the batch, spread wider than x_0
    _, div = _module(pkg, "likelihood").divergence(lambda t, y: y @ A.T, 0.0, x)
    _compare("div of x -> A x (the trace of A at every point)", div, np.full(len(x), np.trace(A)))

    def field(t, y):
        import autograd.numpy as anp

        return anp.stack([anp.sin(y[:, 0] * y[:, 1]), y[:, 0] ** 2 + anp.exp(-y[:, 1])], axis=1)

    h = 1e-6
    expected = sum((field(0, x + h * e)[:, i] - field(0, x - h * e)[:, i]) / (2 * h)
                   for i, e in enumerate(np.eye(2)))
    _, div = _module(pkg, "likelihood").divergence(field, 0.0, x)
    _compare("div of a non-linear field (against finite differences)", div, expected, rtol=1e-6, atol=1e-6)


def _mixture_and_points():
    from .gmm import GaussianMixture

    rng = np.random.default_rng(3)
    return GaussianMixture([[2.0, 0.0], [-1.0, 1.5]], std=[0.5, 0.8], weights=[0.3, 0.7]), rng.standard_normal((8, 2))


def check_velocity_to_score(pkg):
    gmm, x = _mixture_and_points()
    oracle, paths, views = _module(pkg, "oracle"), _module(pkg, "paths"), _module(pkg, "views")
    for path in (paths.LinearPath(0.1), paths.VPPath()):
        for t in (0.2, 0.7):
            v = oracle.exact_velocity(gmm, path=path)(t, x)
            expected = oracle.marginal_at(gmm, t, path=path).score(x)  # the closed-form score of p_t
            _compare(f"score at t = {t} on {type(path).__name__}", views.velocity_to_score(v, x, t, path), expected)


def check_euler_maruyama_step(pkg):
    gmm, x = _mixture_and_points()
    oracle, paths, stochastic = _module(pkg, "oracle"), _module(pkg, "paths"), _module(pkg, "stochastic")
    path, t, h, g = paths.VPPath(), 0.3, 0.05, 0.8
    f = oracle.exact_velocity(gmm, path=path)
    z = np.random.default_rng(4).standard_normal(x.shape)
    score = oracle.marginal_at(gmm, t, path=path).score(x)  # the closed-form score, not the student's conversion
    expected = x + h * (f(t, x) + g**2 / 2 * score) + g * np.sqrt(h) * z
    _compare("one Euler-Maruyama step", stochastic.euler_maruyama_step(f, path, g, t, x, h, z), expected)


def check_label_dropout(pkg):
    guidance = _module(pkg, "guidance")
    y, p = np.tile(np.arange(4), 5000), 0.25  # 20,000 labels
    got = guidance.drop_labels(y, p, np.random.default_rng(0))
    if np.shape(got) != y.shape:
        raise AssertionError(f"drop_labels: expected shape {y.shape}, got {np.shape(got)}")
    dropped = got == guidance.NO_LABEL
    if np.any(got[~dropped] != y[~dropped]):
        raise AssertionError("a label that is not dropped must stay as it was")
    if abs(dropped.mean() - p) > 5 * np.sqrt(p * (1 - p) / y.size):  # binomial, 5 standard deviations
        raise AssertionError(f"with p_uncond = {p} about {p:.0%} of the labels should be dropped, "
                             f"got {dropped.mean():.1%}")
    if np.array_equal(got, guidance.drop_labels(y, p, np.random.default_rng(1))):
        raise AssertionError("two seeds dropped the same labels: the draws must come from rng")


def check_guided_velocity(pkg):
    guidance = _module(pkg, "guidance")
    _, _, x, t = _problem()
    y = np.arange(8) % 3

    def f_cond(t, x, y):  # (y + 2) x + t for label y, 0.5 x + t without one
        return np.where(y == guidance.NO_LABEL, 0.5, y + 2.0)[:, None] * x + np.reshape(t, (-1, 1))

    conditional, unconditional = (y[:, None] + 2.0) * x + t[:, None], 0.5 * x + t[:, None]
    _compare("v_w with w = 2", guidance.guided_velocity(f_cond, y, 2.0)(t, x), 3 * conditional - 2 * unconditional)
    _compare("v_w with w = -1 (the unconditional field)", guidance.guided_velocity(f_cond, y, -1.0)(t, x),
             unconditional)


def check_meanflow_target(pkg):
    """Its oracle: the network on [s, e - s, x] written again in NumPy (tanh, so that it is smooth),
    and the total derivative along the tangent (v_s, 1, 0) by central differences.
    """
    rng = np.random.default_rng(0)
    x_0, x_1, s = rng.standard_normal((8, 2)), 3 * rng.standard_normal((8, 2)), rng.random(8)
    e = s + (1 - s) * rng.random(8)  # an end after each start
    e[:2] = s[:2]  # two flow-matching pairs, where the target is v_s itself
    params = [(rng.standard_normal((4, 6)), rng.standard_normal(6)),
              (rng.standard_normal((6, 2)), rng.standard_normal(2))]
    x_s, v_s = s[:, None] * x_1 + (1 - s[:, None]) * x_0, x_1 - x_0

    def u(x, start):  # u_theta(x, start, e), e fixed
        hidden = np.tanh(np.column_stack([start, e - start, x]) @ params[0][0] + params[0][1])
        return hidden @ params[1][0] + params[1][1]

    h = 1e-6
    du_ds = (u(x_s + h * v_s, s + h) - u(x_s - h * v_s, s - h)) / (2 * h)  # along (v_s, 1, 0)
    got = _module(pkg, "meanflow").meanflow_target(params, x_s, s, e, v_s, "tanh")
    _compare("u_tgt = v_s + (e - s) du/ds", got, v_s + (e - s)[:, None] * du_ds, rtol=1e-6, atol=1e-7)


#: The exercises, by the names the markers use, with their checks.
EXERCISES = {
    "path": check_path,
    "mlp_forward": check_mlp_forward,
    "adam_step": check_adam_step,
    "rk4_step": check_rk4_step,
    "training_step": check_training_step,
    "divergence": check_divergence,
    "velocity_to_score": check_velocity_to_score,
    "euler_maruyama_step": check_euler_maruyama_step,
    "label_dropout": check_label_dropout,
    "guided_velocity": check_guided_velocity,
    "meanflow_target": check_meanflow_target,
}


def grade(package=None, stream=sys.stdout):
    """Run every check against ``package`` (a module; the installed npflow by default) and print a table.

    Returns
    -------
    dict of str to str or None
        The failure message of each exercise, or None where it passed.
    """
    if package is None:
        import npflow as package
    results = {}
    for name, check in EXERCISES.items():
        try:
            check(package)
            results[name] = None
        except NotImplementedError as error:
            results[name] = f"not implemented yet ({error})"
        except AssertionError as error:
            results[name] = str(error)
        except Exception as error:  # a student's bug: say where, briefly, and go on grading
            place = traceback.extract_tb(error.__traceback__)[-1]
            where = f"{os.path.basename(place.filename)}:{place.lineno}"
            results[name] = f"{type(error).__name__}: {error} (at {where})"
    width = max(map(len, EXERCISES))
    for name, failure in results.items():
        print(f"{name:<{width}}  {'pass' if failure is None else 'FAIL  ' + failure}", file=stream)
    passed = sum(failure is None for failure in results.values())
    print(f"score: {passed}/{len(results)}", file=stream)
    return results


def main(argv=None):
    from .plumbing.cli import OneLineErrorParser

    parser = OneLineErrorParser(prog="python -m npflow.teach",
                                description="Hand out npflow with its exercises blanked, and grade the result.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    student = commands.add_parser("student", help="write a student copy of the package")
    student.add_argument("out_dir", metavar="OUT_DIR", help="folder to create; the copy goes in OUT_DIR/npflow")
    student.add_argument("--force", action="store_true", help="replace OUT_DIR if it holds an earlier copy")
    grader = commands.add_parser("grade", help="grade a copy (or the installed npflow)")
    grader.add_argument("package_dir", nargs="?", metavar="PACKAGE_DIR", help="folder holding npflow/ [installed]")
    args = parser.parse_args(argv)
    try:
        if args.command == "student":
            names = write_student_copy(args.out_dir, force=args.force)
            print(f"student copy written to {os.path.join(args.out_dir, 'npflow')} with {len(names)} exercises: "
                  f"{', '.join(names)}\ngrade it with: python -m npflow.teach grade {args.out_dir}")
            return 0
        package = None if args.package_dir is None else load_package(args.package_dir)
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"npflow.teach: error: {error}", file=sys.stderr)
        return 2
    return 0 if all(failure is None for failure in grade(package).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
