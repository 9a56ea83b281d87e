"""Arrays from files, read without running anyone's code: ``.npy``, ``.npz`` and ``.csv``.

Every file npflow reads goes through here: datasets and sources (``npflow.data.datasets``), point
files (``npflow logprob --points``), pairs (``npflow.core.couplings``), checkpoints and the weights
of the PyTorch bridge. One reader, so one set of rules:

- A NumPy file may hold pickled Python objects, and unpickling one runs whatever code it
  names. So numpy is always called with ``allow_pickle=False``, a file that is not in NumPy's
  own format is refused before numpy can take it for a pickle, and an array of objects is
  refused. (No message ever suggests loading with pickles, as numpy's own do.)
- A ``.csv`` file holds one row per line, numbers separated by commas; lines starting with
  ``#`` are comments.
- Anything unreadable is one ``ValueError`` line that names the file and says what is wrong.
"""
import os
import warnings

import numpy as np

__all__ = ["read_array", "read_archive"]

#: How a file in NumPy's formats begins: an .npy array, or a zip archive (an .npz; the second is an empty one).
NPY_MAGIC, NPZ_MAGIC = b"\x93NUMPY", (b"PK\x03\x04", b"PK\x05\x06")

#: What reading a damaged file can raise. numpy parses a file's header and its zip archive with
#: Python's own tools, so a garbled file can raise almost anything (OSError, ValueError,
#: EOFError, zipfile.BadZipFile, zlib.error, tokenize.TokenError, MemoryError, ...): each is
#: the file's fault, and becomes one line naming it.
READ_ERRORS = Exception


def read_array(path, what):
    """The one array of numbers in a ``.npy`` or ``.csv`` file.

    Parameters
    ----------
    path : str or path
    what : str
        What the file is for, to name it in a message (``"points"``: "points file 'x.npy' ...").

    Returns
    -------
    ndarray
        Of a numeric dtype (integer or floating), any shape; a ``.csv`` gives shape (n, d).

    Raises
    ------
    ValueError
        One line: the file is missing, unreadable, an archive, empty, or not numbers.
    """
    array = _load(path, what)
    if not isinstance(array, np.ndarray):
        array.close()
        raise ValueError(f"{_where(path, what)} is an .npz archive; expected one array, in a .npy or .csv file")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{_where(path, what)} must hold one numeric array, got dtype {array.dtype}")
    return array


def read_archive(path, what):
    """Every array of an ``.npz`` archive, as a dict from name to array.

    Raises
    ------
    ValueError
        One line: the file is missing, unreadable, not an archive, or one of its arrays holds
        Python objects or is damaged.
    """
    archive, where = _load(path, what), _where(path, what)
    if isinstance(archive, np.ndarray):
        raise ValueError(f"{where} is not an .npz archive (it holds one array)")
    with archive:
        arrays = {}
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except READ_ERRORS as error:
                raise ValueError(f"{where}: {name} cannot be read ({_reason(error)})") from None
    return arrays


def _where(path, what):
    """How a message names the file: ``points file 'x.npy'``."""
    return f"{what} file {os.fspath(path)!r}"


def _load(path, what):
    """An ndarray (.npy, .csv) or an open ``NpzFile`` (.npz), or a ValueError naming the file."""
    path, where = os.fspath(path), _where(path, what)
    if not os.path.exists(path):
        raise ValueError(f"{where} does not exist")
    if path.lower().endswith(".csv"):
        return _read_csv(path, where)
    try:
        with open(path, "rb") as file:
            magic = file.read(len(NPY_MAGIC))
        # Anything else numpy would try as a pickle: refuse it here, before numpy sees it.
        array = np.load(path, allow_pickle=False) if magic.startswith((NPY_MAGIC, *NPZ_MAGIC)) else None
    except READ_ERRORS as error:
        raise ValueError(f"{where} is unreadable or corrupt ({_reason(error)})") from None
    if array is None:
        raise ValueError(f"{where} is not a NumPy .npy or .npz file (numbers as text go in a .csv file)")
    return array


def _read_csv(path, where):
    """Numbers separated by commas, one row per line, as an array of shape (n, d).

    Blank lines (spaces included) and comments are skipped, and a byte-order mark (which
    spreadsheet programs write at the start of a UTF-8 file) is dropped.
    """
    try:
        with open(path, encoding="utf-8-sig") as file:
            lines = [line if line.strip() else "" for line in file]  # numpy skips an empty line, not one of spaces
        with warnings.catch_warnings():  # an empty file warns; the check below says it in one line
            warnings.simplefilter("ignore")
            array = np.loadtxt(lines, delimiter=",", ndmin=2, dtype=float)
    except READ_ERRORS as error:
        raise ValueError(f"{where} cannot be read as an array of numbers ({_reason(error)})") from None
    if array.size == 0:
        raise ValueError(f"{where} holds no numbers (it is empty, or only comments)")
    return array


def _reason(error):
    """numpy's reason in one line, without its advice.

    numpy suggests ``allow_pickle`` for an array of objects (the one thing never to do here) and
    ``usecols`` for rows of unequal length (an option npflow does not pass on).
    """
    text = (str(error) or type(error).__name__).splitlines()[0]
    if "pickle" in text:
        return "it holds Python objects, which only unpickling could read, and a pickle can run code"
    if not isinstance(error, (OSError, ValueError)):  # a less familiar error: say which it is
        text = f"{type(error).__name__}: {text}"
    return text.split("; use `usecols`")[0]
