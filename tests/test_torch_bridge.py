import numpy as np
import pytest

from npflow.core.mlp import init_mlp, layer_input, mlp
from npflow.cli import main
from npflow.plumbing.io import load_run
from npflow.plumbing.torch_bridge import from_state_dict, import_state_dict, to_state_dict

SEED_KEYS = {"net.0.weight": (128, 3), "net.0.bias": (128,), "net.2.weight": (128, 128), "net.2.bias": (128,),
             "net.4.weight": (2, 128), "net.4.bias": (2,)}


def test_keys_and_shapes_are_the_tutorials(rng):
    state = to_state_dict(init_mlp([3, 128, 128, 2], rng))
    assert {key: value.shape for key, value in state.items()} == SEED_KEYS


def test_round_trip(rng):
    params = init_mlp([3, 16, 8, 2], rng)
    for (W, b), (W_back, b_back) in zip(params, from_state_dict(to_state_dict(params))):
        np.testing.assert_array_equal(W, W_back)
        np.testing.assert_array_equal(b, b_back)


@pytest.mark.parametrize("state, message", [
    ({"net.0.weight": np.zeros((4, 3))}, "not the layers of one MLP"),
    ({"net.0.weight": np.zeros((4, 3)), "net.0.bias": np.zeros(5)}, "do not form a linear layer"),
    ({"net.0.weight": np.zeros((4, 3)), "net.0.bias": np.zeros(4),
      "net.2.weight": np.zeros((2, 5)), "net.2.bias": np.zeros(2)}, "takes 5 inputs, but the layer before gives 4"),
    ({"layer.weight": np.zeros((4, 3)), "layer.bias": np.zeros(4)}, "expected net.0.weight"),
])
def test_bad_state_dicts(state, message):
    with pytest.raises(ValueError, match=message):
        from_state_dict(state)


def test_cli_export_then_import(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "model.npz"
    assert main(["train", "--steps", "5", "--quiet", "--out", str(run_dir)]) == 0
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    with np.load(out) as archive:
        assert {key: archive[key].shape for key in archive.files} == SEED_KEYS
    for (W, b), (W_back, b_back) in zip(load_run(run_dir).params, import_state_dict(out)):
        np.testing.assert_array_equal(W, W_back)
        np.testing.assert_array_equal(b, b_back)
    assert main(["export", str(run_dir), "--out", str(out)]) == 2  # no overwrite without --force


def test_the_tutorials_module_loads_it_and_agrees(rng):
    torch = pytest.importorskip("torch")  # runs only where torch happens to be installed

    class VectorField(torch.nn.Module):  # the tutorial's model
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(3, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                                           torch.nn.ReLU(), torch.nn.Linear(128, 2))

        def forward(self, t, x):
            return self.net(torch.cat([t.unsqueeze(-1).expand(x.size(0), 1), x], dim=1))

    params = init_mlp([3, 128, 128, 2], rng)
    model = VectorField().double()
    model.load_state_dict({key: torch.from_numpy(value) for key, value in to_state_dict(params).items()})
    t, x = rng.random(10), rng.standard_normal((10, 2))
    with torch.no_grad():
        theirs = model(torch.from_numpy(t), torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(mlp(params, layer_input(t, x)), theirs, rtol=1e-12, atol=1e-12)
