"""Every public function of a student copy, called on an exercise's hidden inputs: which of them give its answer?

Run by ``tests/test_copy_helpers.py`` in a fresh interpreter whose only npflow is the copy::

    python -I -S tests/copy_probe.py COPY LIBRARIES REQUEST.npz ANSWER.json

``REQUEST.npz`` (``npflow.teach.exchange``) maps each exercise to its cases and the reference's
outputs on each. For each case the exercise's own function is run once by its check, with a
recorder in its place, to learn the arguments it is called with (and those its returned field is
called with). Every public function of the copy, and every public method of its public classes,
is then called with those arguments: every ordered choice of as many as it takes (every
permutation while there are at most ``_MOST_ORDERS``, else the choices in the given order); a
returned field is called at the exercise's field's points. Not called: the exercise's own
function (its code outside the block is given), the course's machinery and the figure makers
(``_left_out``), and a function after ``_MOST_LATE`` calls that ran past ``_TIME_LIMIT`` (named
in ``late``). Calls that raise count for nothing.

An output of the answer that is one of the inputs, or a constant, is no answer. Each function whose
value holds some of the others (to grading's tolerance, ``compare_arrays``) is a finding: its
``keys`` against the ``answer``'s, and the ``arguments`` (their indices) of the call. The test fails
on a finding with every output of the answer.
"""
import copy as copying
import importlib
import inspect
import itertools
import json
import os
import resource
import signal
import sys
import time

_TIME_LIMIT = 1.0  # seconds a call may run
_MOST_ORDERS = 120  # the permutations tried for one number of arguments, at most
_MEMORY = 3 * 1024**3  # the probe's address space: a call that wants more raises MemoryError
SECONDS = {}  # function -> seconds its calls took, for the slowest to be named
LATE = {}  # function -> how many of its calls ran out of time
_MOST_LATE = 3  # after this many, a function is called no more


class _Late(Exception):
    """A call ran past its time."""


def _on_alarm(signum, frame):
    raise _Late()


def _left_out(name):
    """The course's machinery (it calls the package, computes nothing of its own, and stops processes) and the
    figure makers (they return figures, not values, and take most of a second a call)."""
    return name == "npflow.teach" or name.startswith(("npflow.teach.", "npflow.plumbing.plot"))


def _modules(package):
    """Every module of ``package`` that imports, but those ``_left_out``, and the names of those that do not."""
    root = os.path.dirname(package.__file__)
    found, broken = [], []
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for file in sorted(files):
            if not file.endswith(".py") or file == "__main__.py":
                continue
            parts = os.path.relpath(os.path.join(folder, file[:-3]), os.path.dirname(root)).split(os.sep)
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if _left_out(name):
                continue
            try:
                found.append(importlib.import_module(name))
            except Exception:  # a module that needs what the copy's interpreter lacks: nothing to call
                broken.append(name)
    return found, broken


def _public_functions(modules):
    """(qualified name, function) of every public function and public class method defined in ``modules``."""
    seen, functions = set(), []
    for module in modules:
        for name, value in sorted(vars(module).items()):
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value):
                members = [(name, value)]
            elif inspect.isclass(value):
                members = [(f"{name}.{key}", member.__func__ if isinstance(member, (staticmethod, classmethod))
                            else member) for key, member in sorted(vars(value).items())
                           if not key.startswith("_") and (inspect.isfunction(member)
                                                          or isinstance(member, (staticmethod, classmethod)))]
            else:
                continue
            for qualified, function in members:
                if id(function) not in seen:
                    seen.add(id(function))
                    functions.append((f"{module.__name__}.{qualified}", function))
    return functions


def _arities(function, offered):
    """How many positional arguments ``function`` may take, of ``offered``: a range (empty when none)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return range(0)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    most = offered if any(p.kind == p.VAR_POSITIONAL for p in parameters) else len(positional)
    return range(max(1, required), min(most, offered) + 1)


def _orders(n, k):
    """The ordered choices of ``k`` of ``n`` arguments to try (their indices): every permutation, or the in-order
    ones if there are too many."""
    count = 1
    for i in range(k):
        count *= n - i
    return itertools.permutations(range(n), k) if count <= _MOST_ORDERS else itertools.combinations(range(n), k)


def _arrays(value, np, depth=0):
    """The numeric arrays a returned value holds (nested in tuples, lists, dicts and objects' attributes), and the
    flattened concatenation of a sequence's (as an optimiser's parameters are compared)."""
    if depth > 4:
        return []
    if isinstance(value, (np.ndarray, np.generic, int, float)) and not isinstance(value, bool):
        array = np.asarray(value)
        return [array] if array.dtype.kind in "fiuc" else []
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif hasattr(value, "__dict__") and not callable(value) and not inspect.ismodule(value):
        items = list(vars(value).values())
    else:
        return []
    found = [array for item in items for array in _arrays(item, np, depth + 1)]
    if isinstance(value, (list, tuple)) and len(found) > 1:
        found.append(np.concatenate([array.ravel() for array in found]))
    return found


def _matches(expected, arrays, compare_arrays):
    """The keys of ``expected`` (name -> array) that one of ``arrays`` equals, to grading's tolerance."""
    return {key for key, want in expected.items()
            if any(have.shape == want.shape and compare_arrays(key, want, have) is None for have in arrays)}


def _record(package, exercise, check, case, module):
    """The (args, kwargs, inner) of the first call of the exercise's function when its check runs on ``case``;
    ``inner`` holds the arguments of the calls of the field it returns, when it returns one."""
    where = module(package, exercise.module)
    owner, name = where, exercise.function
    if "." in name:
        class_name, name = name.split(".")
        owner = getattr(where, class_name)
    original, calls = vars(owner)[name], []

    def recorder(*args, **kwargs):
        calls.append((copying.deepcopy(args), copying.deepcopy(kwargs), []))
        result = original(*args, **kwargs)
        if not callable(result):
            return result
        inner = calls[-1][2]

        def field(*a, **k):
            inner.append(copying.deepcopy((a, k)))
            return result(*a, **k)

        return field

    setattr(owner, name, recorder)
    try:
        check.call(package, copying.deepcopy(case))
    except Exception:  # the blank raises: the arguments are what was wanted
        pass
    finally:
        setattr(owner, name, original)
    return calls[0] if calls else None


def _value(function, args, inner):
    """``function(*args)``, and, when that is a field and the exercise's was one, the field at the same point."""
    signal.setitimer(signal.ITIMER_REAL, _TIME_LIMIT)
    try:
        value = function(*copying.deepcopy(args))
        if callable(value) and inner:
            value = [value(*copying.deepcopy(a), **copying.deepcopy(k)) for a, k in inner]
        return value
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _probe(package, functions, exercise, check, case, expected, tools):
    """{function: (keys matched, args)} for the calls of ``functions`` on the arguments of ``case``."""
    np, compare_arrays, module = tools
    recorded = _record(package, exercise, check, case, module)
    if recorded is None:
        return {}
    args, kwargs, inner = recorded
    offered = [*args, *kwargs.values()]
    inputs = [array for value in offered for array in _arrays(value, np)] + [
        array for a, k in inner for value in [*a, *k.values()] for array in _arrays(value, np)]
    constant = {key for key, want in expected.items() if want.size > 1 and np.all(want == want.flat[0])}
    answer = {key: want for key, want in expected.items()  # an input, or a constant array, is no answer
              if key not in constant and not _matches({key: want}, inputs, compare_arrays)}
    own = f"{package.__name__}.{exercise.module.replace('/', '.')}.{exercise.function}"  # the blank itself
    found = {}
    for qualified, function in functions:
        if qualified == own or LATE.get(qualified, 0) >= _MOST_LATE:
            continue
        started = time.monotonic()
        for k in _arities(function, len(offered)):
            for chosen in _orders(len(offered), k):
                signal.signal(signal.SIGALRM, _on_alarm)
                try:
                    with np.errstate(all="ignore"):
                        value = _value(function, [offered[i] for i in chosen], inner)
                except _Late:
                    LATE[qualified] = LATE.get(qualified, 0) + 1
                    continue
                except (Exception, SystemExit):
                    continue
                keys = _matches(answer, _arrays(value, np), compare_arrays)
                if keys and len(keys) > len(found.get(qualified, ((),))[0]):
                    found[qualified] = (sorted(keys), list(chosen))
        SECONDS[qualified] = SECONDS.get(qualified, 0.0) + time.monotonic() - started
    return {name: (keys, order, sorted(answer)) for name, (keys, order) in found.items()}


def main(argv):
    copy_dir, libraries, request_path, answer_path = argv
    sys.path[:0] = [copy_dir, *libraries.split(os.pathsep)]
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))
    import numpy as np
    import npflow

    if not os.path.abspath(npflow.__file__).startswith(os.path.abspath(copy_dir)):
        raise SystemExit(f"npflow is {npflow.__file__}, not the copy's")
    from npflow.teach import exchange
    from npflow.teach.cases import CHECKS
    from npflow.teach.checks import compare_arrays
    from npflow.teach.course import EXERCISES
    from npflow.teach.packages import module

    request = exchange.load(request_path)
    modules, broken = _modules(npflow)
    functions = _public_functions(modules)
    os.chdir(os.path.dirname(os.path.abspath(answer_path)))  # what a function writes lands in the test's folder
    printed = os.open("printed.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)  # what the calls print, kept aside
    os.dup2(printed, 1)
    os.dup2(printed, 2)
    findings = []
    for name, table in request.items():
        for index, (case, expected) in enumerate(zip(table["cases"], table["expected"])):
            found = _probe(npflow, functions, EXERCISES[name], CHECKS[name], case, expected,
                           (np, compare_arrays, module))
            findings += [{"exercise": name, "case": index, "function": function, "keys": keys, "answer": answer,
                          "arguments": order} for function, (keys, order, answer) in found.items()]
    with open(answer_path, "w") as file:
        slowest = sorted(SECONDS.items(), key=lambda item: -item[1])[:10]
        late = sorted(name for name, count in LATE.items() if count >= _MOST_LATE)
        json.dump({"functions": len(functions), "broken": broken, "findings": findings, "slowest": slowest,
                   "late": late}, file, indent=1)
    os._exit(0)  # the calls may have closed streams or left threads: nothing of this interpreter is worth a clean exit


if __name__ == "__main__":
    main(sys.argv[1:])
