"""The one reader of .npy, .npz and .csv files: it never runs a pickle, and it says what is wrong in one line."""
import pickle

import numpy as np
import pytest

from npflow.data.files import read_archive, read_array


class Exploit:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def objects(marker):
    payload = np.empty(1, dtype=object)
    payload[0] = Exploit(str(marker))
    return payload


def write(path, content):
    """Write bytes, text, an array (.npy, under any name) or a dict of arrays (.npz) to path."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        with open(path, "wb") as file:
            if isinstance(content, dict):
                np.savez(file, **content)
            else:
                np.save(file, content, allow_pickle=True)


def test_the_payload_runs_when_a_careless_loader_allows_pickles(tmp_path):
    marker = tmp_path / "pwned"
    write(tmp_path / "x.npy", objects(marker))
    np.load(tmp_path / "x.npy", allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("name, content", [
    ("x.npy", lambda marker: objects(marker)),  # an .npy of objects
    ("x.npy", lambda marker: pickle.dumps(Exploit(str(marker)))),  # a bare pickle under an .npy name
    ("x.npz", lambda marker: pickle.dumps(Exploit(str(marker)))),
    ("x.npz", lambda marker: {"x_0": np.zeros((2, 2)), "x_1": objects(marker)}),  # one member of objects
])
@pytest.mark.parametrize("read", [read_array, read_archive])
def test_a_pickle_is_refused_and_never_runs(tmp_path, name, content, read):
    marker = tmp_path / "pwned"
    write(tmp_path / name, content(marker))
    with pytest.raises(ValueError) as error:
        read(tmp_path / name, "test")
    assert not marker.exists()
    assert "\n" not in str(error.value) and "allow_pickle" not in str(error.value)


@pytest.mark.parametrize("name, content, message", [
    ("x.npy", None, "does not exist"),
    ("x.npy", b"", "is not a NumPy .npy or .npz file"),
    ("x.npy", "1,2\n3,4\n", r"is not a NumPy .npy or .npz file \(numbers as text go in a .csv file\)"),
    ("x.npy", np.array([[{"a": 1}]], dtype=object), "holds Python objects, which only unpickling could read"),
    ("x.npy", np.array(["a", "b"]), "must hold one numeric array, got dtype <U1"),
    ("x.npy", np.array([True]), "must hold one numeric array, got dtype bool"),
    ("x.npz", {"a": np.zeros(2)}, "is an .npz archive; expected one array"),
    ("x.csv", "", r"holds no numbers \(it is empty, or only comments\)"),
    ("x.csv", "# only a header\n", "holds no numbers"),
    ("x.csv", "1,2\n3\n", r"cannot be read as an array of numbers \(the number of columns changed from 2 to 1 at row 2\)$"),
    ("x.csv", "1;2\n", "cannot be read as an array of numbers"),
])
def test_read_array_refuses_with_one_line_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        write(path, content)
    with pytest.raises(ValueError, match=message) as error:
        read_array(path, "points")
    text = str(error.value)
    assert text.startswith(f"points file {str(path)!r}") and "\n" not in text
    assert "allow_pickle" not in text and "usecols" not in text  # numpy's advice, never ours


def test_a_truncated_array_or_archive_is_corrupt(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((100, 2)))
    np.savez_compressed(tmp_path / "x.npz", a=np.arange(1000.0))
    for name in ("x.npy", "x.npz"):
        whole = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(whole[:len(whole) // 2])
    with pytest.raises(ValueError, match="x.npy' is unreadable or corrupt"):
        read_array(tmp_path / "x.npy", "points")
    with pytest.raises(ValueError, match="x.npz' is unreadable or corrupt") as error:
        read_archive(tmp_path / "x.npz", "pairs")
    assert "\n" not in str(error.value)


def test_a_damaged_member_of_an_archive_is_named(tmp_path):
    """A garbled header inside a compressed member makes numpy's parser raise its own errors: still one line."""
    path = tmp_path / "x.npz"
    np.savez_compressed(path, a=np.arange(10_000.0))
    damaged = bytearray(path.read_bytes())
    damaged[200:260] = b"x" * 60
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=f"pairs file {str(path)!r}(: a cannot be read| is unreadable)") as error:
        read_archive(path, "pairs")
    assert "\n" not in str(error.value)


def test_what_is_read(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(6).reshape(3, 2))
    assert read_array(tmp_path / "x.npy", "points").dtype.kind == "i"  # integers are numbers
    (tmp_path / "x.csv").write_text("# x,y\n1,2\n\n3.5,-4e-3\n")  # a comment, a blank line
    np.testing.assert_array_equal(read_array(tmp_path / "x.csv", "points"), [[1.0, 2.0], [3.5, -4e-3]])
    (tmp_path / "one.csv").write_text("7\n8\n")
    assert read_array(tmp_path / "one.csv", "points").shape == (2, 1)  # a column, d = 1
    np.savez(tmp_path / "x.npz", x_0=np.zeros((2, 3)), x_1=np.ones((2, 3)))
    arrays = read_archive(tmp_path / "x.npz", "pairs")
    assert sorted(arrays) == ["x_0", "x_1"] and np.all(arrays["x_1"] == 1.0)
    with pytest.raises(ValueError, match=r"is not an .npz archive \(it holds one array\)"):
        read_archive(tmp_path / "x.csv", "pairs")
