"""``npflow export``: a run's weights in the PyTorch tutorial's ``state_dict`` layout (``npflow.plumbing.torch_bridge``)."""
import sys

from ..models import network_of
from ..models.networks import MLP
from ..plumbing.labels import conditional_export_note
from ..plumbing.torch_bridge import export_state_dict
from .checks import check_out, read_run
from .options import add_out, add_run_dir, command

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow export`` and its options."""
    parser = command(commands, _export)
    add_run_dir(parser)
    add_out(parser, "FILE.npz", "where to write the weights")


def _export(args):
    """Save a run's weights in the PyTorch tutorial's state_dict layout.

    Write the weights the run samples with (its moving average, if it keeps one) as an .npz with
    the keys of the tutorial's VectorField.state_dict(): net.0.weight (fan_out, fan_in),
    net.0.bias, net.2.weight, ... See npflow/plumbing/torch_bridge.py for the lines that load it
    in PyTorch.
    """
    run = read_run(args.run_dir, args)
    if network_of(run.config) is not MLP:  # the layout is the tutorial's network's: the registry's MLP
        raise ValueError(f"npflow export writes the tutorial's MLP layout, and this run's network is "
                         f"{run.config.network!r} (its weights are in the run's checkpoint.npz)")
    check_out(args, (".npz",))
    export_state_dict(run.field_params, args.out, force=args.force)
    print(f"weights of {args.run_dir} written to {args.out} in the tutorial's state_dict layout")
    if run.config.num_classes:
        print(f"npflow export: note: {conditional_export_note(run)}", file=sys.stderr)
    predict = run.objective.predict(run.config)
    if predict != "velocity":  # the tutorial's sampler would take the output for a velocity
        print(f"note: this network predicts the {predict}, not the velocity; npflow.core.views converts it")
