"""Values in and out of a student's process: nested plain data in an ``.npz`` file, never a pickle.

A case (``npflow.teach.checks``) is a dict of arrays, numbers, strings, None, and lists or
tuples of those (a network's parameters). ``save`` writes such a value as the arrays it holds,
each under a key of its own, and one JSON text that says how they nest; ``load`` reads it back
with ``allow_pickle=False``, so that a file the student's code wrote can hold nothing but data.
"""
import json

import numpy as np

__all__ = ["save", "load", "encode_outcome", "decode_outcome"]

_LAYOUT = "layout"


def _pack(value, arrays):
    """The JSON layout of ``value``; its arrays are appended to ``arrays``."""
    if isinstance(value, (np.ndarray, np.generic)):
        arrays.append(np.asarray(value))
        return {"array": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
    if isinstance(value, dict):
        return {"dict": [[key, _pack(item, arrays)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [_pack(item, arrays) for item in value]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"plain": value}
    raise TypeError(f"cannot send a {type(value).__name__} to or from a student's process")


def _unpack(layout, arrays):
    if "array" in layout:
        array = arrays[f"a{layout['array']}"]
        return array[()] if layout["scalar"] else array
    if "dict" in layout:
        return {key: _unpack(item, arrays) for key, item in layout["dict"]}
    if "tuple" in layout:
        return tuple(_unpack(item, arrays) for item in layout["tuple"])
    if "list" in layout:
        return [_unpack(item, arrays) for item in layout["list"]]
    return layout["plain"]


def save(path, value):
    """Write ``value`` (plain nested data and arrays) to ``path`` as an ``.npz`` file."""
    arrays = []
    layout = json.dumps(_pack(value, arrays))
    np.savez(path, **{f"a{i}": array for i, array in enumerate(arrays)}, **{_LAYOUT: np.array(layout)})


def load(path):
    """Read a value written by ``save``; object arrays (pickles) are refused.

    Raises
    ------
    ValueError, OSError, KeyError
        For a file that is not what ``save`` writes.
    """
    with np.load(path, allow_pickle=False) as arrays:
        return _unpack(json.loads(str(arrays[_LAYOUT])), arrays)


def encode_outcome(outcome):
    """An ``Outcome`` as plain data: its named arrays, or the exception's type name, message and place."""
    if outcome.error is not None:
        return {"raises": type(outcome.error).__name__, "message": str(outcome.error), "where": outcome.where}
    return {"values": {key: np.asarray(value) for key, value in outcome.value.items()}}


def decode_outcome(data, outcome_type):
    """An ``outcome_type`` (``Outcome``) from ``encode_outcome``'s data: an exception comes back as one of its name."""
    if "raises" in data:
        error = type(str(data["raises"]), (Exception,), {})(str(data["message"]))
        return outcome_type(error=error, where=str(data["where"]))
    return outcome_type({str(key): np.asarray(value) for key, value in data["values"].items()})
