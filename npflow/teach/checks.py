"""How an exercise is checked: run its function on a case, compare with what it should give, say why not.

A ``Check`` (one per exercise, in ``npflow.teach.cases``) knows how to draw a case, a dict of
plain inputs, at a given ``Size`` (points n, dimension d, dtype, and a ``variant`` that picks a
path, an activation, a solver...), and how to ``call`` the exercise's function in a package on
it, giving named arrays. Whether a case passes is decided by comparing the package's outcome
with the expected one: the same arrays (shape, dtype, values to rounding), or the same
exception (e.g. ``TrainingDiverged`` on a non-finite loss).

A check's ``properties`` are oracles that need no expected values (finite differences, the
observed order of convergence, autograd's own Adam, the statistics of a random draw). They are
public: a student can read them, run them, and learn from them how to check code.
"""
import copy
import traceback
from dataclasses import dataclass

import numpy as np

__all__ = ["Size", "Check", "Outcome", "outcome", "compare", "describe_case", "describe_error", "Unfinished",
           "compare_arrays"]


@dataclass(frozen=True)
class Size:
    """The size of a case: n points in d dimensions, its dtype, and which variant of the exercise."""

    n: int
    d: int
    dtype: str = "float64"
    variant: int = 0

    def __str__(self):
        return f"n={self.n}, d={self.d}, {self.dtype}, variant {self.variant}"


@dataclass(frozen=True)
class Check:
    """The check of one exercise.

    Attributes
    ----------
    draw : callable
        ``draw(rng, size) -> case``, a dict of inputs (arrays, numbers, names).
    call : callable
        ``call(package, case) -> dict`` of named arrays: the exercise's function run in ``package``.
    variants : int
        How many variants ``draw`` knows (``size.variant`` is taken modulo it).
    public : tuple of Size
        The public cases, drawn from fixed seeds.
    properties : tuple of callable
        ``property(package)``, raising ``AssertionError`` with a message when the code is wrong.
    dtypes : tuple of str
        The dtypes the hidden cases try.
    """

    draw: object
    call: object
    variants: int = 1
    public: tuple = (Size(3, 2),)
    properties: tuple = ()
    dtypes: tuple = ("float64", "float32")


@dataclass
class Outcome:
    """What a call gave: its named arrays, or the exception it raised (then ``where`` says where)."""

    value: dict = None
    error: BaseException = None
    where: str = ""


class Unfinished(Exception):
    """A call reached an exercise that still raises NotImplementedError."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


def outcome(package, check, case, locate=None):
    """Run ``check.call(package, case)`` and catch what it raises (a stub's NotImplementedError as ``Unfinished``).

    ``locate(filename, line) -> str or None`` may name the place of an error in the student's files.
    """
    try:
        with np.errstate(all="ignore"):  # NaN and overflow show in the comparison, with a hint
            # on a copy of the case: code that writes into its inputs changes nothing for the next call
            values = check.call(package, copy.deepcopy(case))
            return Outcome({key: np.asarray(value) for key, value in values.items()})
    except NotImplementedError as error:
        text = str(error)
        if text.startswith("exercise ") and ":" in text:
            raise Unfinished(text[len("exercise "):text.index(":")]) from None
        return Outcome(error=error, where=describe_error(error, locate))
    except (Exception, SystemExit) as error:  # a student's bug: keep it, say where, and go on grading
        return Outcome(error=error, where=describe_error(error, locate))


def describe_error(error, locate=None):
    """``"ValueError: ... (at npflow/paths.py, line 83: your code)"``, from the innermost frame worth naming."""
    frames = traceback.extract_tb(error.__traceback__)
    place = ""
    for frame in reversed(frames):
        mine = locate(frame.filename, frame.lineno) if locate else None
        if mine:
            place = f" (at {mine}: your code)"
            break
    if not place and frames:
        place = f" (at {frames[-1].filename.split('/')[-1]}, line {frames[-1].lineno})"
    return f"{type(error).__name__}: {error}{place}"


def _tolerances(dtype):
    return (2e-4, 2e-4) if dtype == np.float32 else (1e-7, 1e-9)


def compare(expected, got):
    """Why ``got`` (an Outcome) is not ``expected``, in a few lines; None when it is.

    The messages name the output, say expected against got, and add what the difference looks
    like when it is a common one: transposed, the sign flipped, the wrong dtype, NaN.
    """
    if expected.error is not None:
        kind = type(expected.error).__name__
        if got.error is not None and type(got.error).__name__ == kind:
            return None
        said = got.where if got.error is not None else "it returned normally"
        return f"expected {kind} to be raised ({expected.error}); {said}"
    if got.error is not None:
        return got.where
    for key, want in expected.value.items():
        if key not in got.value:
            return f"{key}: missing from the result"
        problem = compare_arrays(key, want, got.value[key])
        if problem:
            return problem
    return None


def compare_arrays(key, want, have, rtol=None, atol=None):
    """Why the array ``have`` is not ``want`` (named ``key``), or None; tolerances by dtype unless given."""
    if have.shape != want.shape:
        hint = " (transposed?)" if have.shape == want.shape[::-1] and want.ndim == 2 else ""
        return f"{key}: expected shape {want.shape}, got {have.shape}{hint}"
    if want.dtype == np.float32 and have.dtype != np.float32:
        return (f"{key}: expected dtype float32 (like the inputs), got {have.dtype}: an array made without "
                f"dtype=, or a float64 constant array, changes it")
    if rtol is None:  # a float32 result from float32 inputs, where the reference's is float64, is fine to rounding
        rtol, atol = _tolerances(np.float32 if np.float32 in (want.dtype, have.dtype) else want.dtype)
    if want.dtype.kind in "fc":
        wrong = ~np.isclose(have, want, rtol=rtol, atol=atol, equal_nan=True)
    else:
        wrong = have != want
    if not wrong.any():
        return None
    lines = [f"{key}: expected {_show(want)}", f"{' ' * len(key)}  got      {_show(have)}"]
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    lines.append(f"{' ' * len(key)}  ({int(wrong.sum())} of {wrong.size} entries differ; the first at index {index})")
    if want.dtype.kind == "f" and np.isnan(have).any() and not np.isnan(want).any():
        lines.append("NaN in your result: a division by zero, or the square root of a negative number?")
    elif want.dtype.kind == "f" and np.allclose(have, -want, rtol=rtol, atol=atol) and np.abs(want).max() > atol:
        lines.append("yours is minus the expected: a sign?")
    return "\n".join(lines)


def _show(array):
    return np.array2string(np.asarray(array), precision=6, separator=", ", threshold=40).replace("\n", " ")


def describe_case(case):
    """The inputs of a case, one per line, arrays printed whole (the cases that fail first are small)."""
    lines = []
    for key, value in case.items():
        if isinstance(value, np.ndarray):
            lines.append(f"  {key} = {_show(value)}" + (f"  ({value.dtype})" if value.dtype.kind == "f" else ""))
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], (tuple, np.ndarray)):
            lines.append(f"  {key} = {_show_nested(value)}")
        else:
            lines.append(f"  {key} = {value!r}")
    return "\n".join(lines)


def _show_nested(value):
    if isinstance(value, np.ndarray):
        return _show(value)
    inner = ", ".join(_show_nested(item) for item in value)
    return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
