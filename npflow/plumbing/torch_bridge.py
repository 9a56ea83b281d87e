"""A bridge to the tutorial's PyTorch model, with no PyTorch needed on this side.

The tutorial's ``VectorField`` holds ``nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)``, so
its ``state_dict()`` has the keys ``net.0.weight``, ``net.0.bias``, ``net.2.weight``, ... (the
ReLUs at 1, 3, ... have no parameters). ``nn.Linear`` stores ``weight`` as (fan_out, fan_in),
the transpose of npflow's ``W``. These functions translate between the two, through a plain
``.npz`` file that either side can read.

To load an exported file into the tutorial's model, in PyTorch::

    import numpy as np, torch
    state = {key: torch.from_numpy(value).float() for key, value in np.load("model.npz").items()}
    model = VectorField()            # the tutorial's class (hidden 128, 128)
    model.load_state_dict(state)
"""
import numpy as np

from ..data.files import read_archive
from .outputs import atomic_file, check_output_path

__all__ = ["to_state_dict", "from_state_dict", "export_state_dict", "import_state_dict"]


def to_state_dict(params, prefix="net"):
    """npflow's ``[(W, b), ...]`` as the tutorial's state dict: ``{"net.0.weight": W.T, "net.0.bias": b, ...}``.

    Linear layers sit at even indices of the ``nn.Sequential``, with an activation between them.
    """
    state = {}
    for i, (W, b) in enumerate(params):
        state[f"{prefix}.{2 * i}.weight"] = np.ascontiguousarray(W.T)  # (fan_out, fan_in), as nn.Linear keeps it
        state[f"{prefix}.{2 * i}.bias"] = b
    return state


def from_state_dict(state, prefix="net"):
    """The inverse of ``to_state_dict``; raises ``ValueError`` for keys or shapes that do not chain."""
    expected_layers = len(state) // 2
    params = []
    for i in range(expected_layers):
        weight_key, bias_key = f"{prefix}.{2 * i}.weight", f"{prefix}.{2 * i}.bias"
        if weight_key not in state or bias_key not in state:
            raise ValueError(f"state dict has keys {sorted(state)}; expected {weight_key} and {bias_key}")
        weight, bias = np.asarray(state[weight_key], dtype=float), np.asarray(state[bias_key], dtype=float)
        if weight.ndim != 2 or bias.shape != (weight.shape[0],):
            raise ValueError(f"{weight_key} {weight.shape} and {bias_key} {bias.shape} do not form a linear layer")
        if params and params[-1][0].shape[1] != weight.shape[1]:
            raise ValueError(f"{weight_key} takes {weight.shape[1]} inputs, but the layer before gives "
                             f"{params[-1][0].shape[1]}")
        params.append((weight.T.copy(), bias))
    if 2 * len(params) != len(state) or not params:
        raise ValueError(f"state dict has keys {sorted(state)}, which are not the layers of one MLP")
    return params


def export_state_dict(params, path, force=False):
    """Write the parameters as an ``.npz`` in the tutorial's ``state_dict`` layout, atomically."""
    check_output_path(path, force)
    with atomic_file(path) as tmp, open(tmp, "wb") as file:
        np.savez(file, **to_state_dict(params))


def import_state_dict(path):
    """Read an ``.npz`` written by ``export_state_dict`` (or from PyTorch), without pickles."""
    return from_state_dict(read_archive(path, "state dict"))
