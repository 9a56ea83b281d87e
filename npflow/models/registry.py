"""The registry: every training objective, every network and every recipe, by name.

A run's recipe names an objective (what the network learns, ``TrainConfig.objective``) and a
network (``TrainConfig.network``). The loop (``npflow.runs.loop``), a run (``npflow.runs.run``)
and the command line never branch on those names: they look the entry up here and ask it.

An **objective** says the three things training and sampling need:

1. what it needs from the recipe: ``check(config)`` and its own options (``options``, a frozen
   dataclass whose fields, with their defaults, are the objective's settings);
2. how it draws a batch and computes its loss and gradient: ``batches(config)`` gives
   ``draw(n, rng) -> (x_0, x_1, t, *extra)``, and ``gradients(config)`` gives
   ``step(t, rng, *extra) -> (t, gradient)``, the times and the gradient that
   ``npflow.core.training.training_step`` takes;
3. how its trained parameters become a field for the samplers: ``output(config, params)``
   is the network's own output ``f(t, x)``, ``velocity(config, params)`` the field every ODE
   solver and stochastic sampler integrates.

An objective whose batch is not a point on an affine path, or whose samples are not points of
R^d, says so with the optional entries: its own ``train_step`` (the loop wraps it with the
learning-rate schedule and the naming of a divergence, as it wraps the affine step), its own
``sources`` and ``draw_source`` (the names ``TrainConfig.source`` then accepts), its own
``sample`` and the dimension ``dim`` of what it samples.

A **network** is the function the objective fits: its widths, its first weights, its field and
its gradient. A **recipe** is a named set of settings that differ from ``TrainConfig``'s defaults.

A new chapter adds its entries in a module of its own that calls ``register``, and names that
module in the registry's list (``npflow.models``); no other file changes.
"""
from dataclasses import dataclass, fields
from typing import Callable, Optional

__all__ = ["Objective", "Network", "OBJECTIVES", "NETWORKS", "RECIPES", "register", "register_recipe",
           "objective_named", "objective_of", "network_of", "option_names"]


@dataclass(frozen=True)
class Network:
    """A kind of network, as a registered entry.

    Attributes
    ----------
    name : str
    summary : str
        One line, for ``--help``.
    check : callable
        ``check(config)``: raise ``ValueError`` in one line for a recipe this network cannot take.
    sizes : callable
        ``sizes(dim, hidden, label_width) -> list of int``: the widths of its flat list of (W, b),
        for points of dimension d and a label's one-hot of ``label_width`` columns (0 for none).
    init : callable
        ``init(dim, hidden, rng, label_width) -> list of (W, b)``: the first weights.
    velocity : callable
        ``velocity(params, activation, labelled) -> f(t, x)``: its field; a ``labelled`` (conditional)
        network's at no label, K read from its weights.
    guided : callable
        ``guided(params, activation, label, w) -> f(t, x)``: a conditional network's guided field.
    gradient : callable
        ``gradient(grad, y, num_classes) -> g(params, t, x_t, target, activation) -> (loss, grads)``,
        ``grad`` "autograd" or "backprop", y a batch's labels or None.
    divergence : callable or None
        ``divergence(params, activation, labelled) -> g`` with ``g(t, x) -> (v, div v)`` where its
        field's divergence has a closed form for these weights, else None.
    """

    name: str
    summary: str
    check: Callable
    sizes: Callable
    init: Callable
    velocity: Callable
    guided: Callable
    gradient: Callable
    divergence: Optional[Callable] = None


@dataclass(frozen=True)
class Objective:
    """A training objective, as a registered entry (the three things the module docstring names).

    Attributes
    ----------
    name : str
    summary : str
        One line, for ``--help``.
    options : type
        A frozen dataclass: the objective's own settings, with their defaults. Each field's
        ``metadata`` gives its ``--flag`` on the command line: ``help``, and ``metavar``,
        ``choices``, ``flag`` (a switch) or ``number`` (``probability``, ``positive``,
        ``non_negative`` or ``finite``, the default) as it takes them.
    check : callable
        ``check(config)``: raise ``ValueError`` in one line for a recipe it cannot train.
    sizes : callable
        ``sizes(config) -> list of int``: the widths of the network's flat list of (W, b).
    init : callable
        ``init(config, rng) -> list of (W, b)``: the first weights, drawn from ``rng``.
    batches : callable
        ``batches(config) -> draw``, ``draw(n, rng) -> (x_0, x_1, t, *extra)`` in ``config.dtype``.
    gradients : callable
        ``gradients(config) -> step``, ``step(t, rng, *extra) -> (t, gradient)``: the times the
        path is sampled at and ``gradient(params, t, x_t, target, activation) -> (loss, grads)``.
    output : callable
        ``output(config, params) -> f(t, x)``: what the network gives at (t, x), shape (n, d).
    velocity : callable
        ``velocity(config, params) -> f(t, x)``: the field the samplers integrate.
    predict : callable
        ``predict(config) -> str``: what the network regresses on, a key of
        ``npflow.core.views.PREDICTIONS`` (``training_step``'s ``predict``).
    labelled : callable
        ``labelled(config) -> bool``: whether the run learns the dataset's classes (its labels).
    guided : callable or None
        ``guided(config, params, label, w) -> f(t, x)``: the guided field of a conditional run.
    average : callable or None
        ``average(config, params) -> u(s, t, x)``: the average velocity of an objective that learns one.
    sample : callable or None
        ``sample(run, x_0, solver, steps, rng) -> Trajectory``: an objective's own sampler, which
        may use the run's parameters and the generator ``rng`` (MeanFlow's jumps of the run's
        average velocity); None for one whose velocity the ODE solvers and SDE samplers take.
    divergence : callable or None
        ``divergence(config, params) -> g or None``, ``g(t, x) -> (v, div v)``: the velocity and its
        exact divergence in one pass, where a closed form exists for these weights.
    solver : str
        The sampler a run of it uses when none is named.
    likelihood : bool
        Whether its runs have a likelihood by the reverse ODE.
    train_step : callable or None
        ``train_step(config) -> step``, ``step(params, optimizer, rng) -> (params, loss)``: one
        whole training step (draw, loss, gradient, optimizer step) of an objective whose batch is
        not a point on an affine path; None for the step of ``batches`` and ``gradients``.
    sources : tuple of str
        The names of the objective's own sources, which ``TrainConfig.source`` accepts beside
        ``"gaussian"``, a dataset or a file (e.g. a masked source of tokens).
    draw_source : callable or None
        ``draw_source(config, n, rng) -> x_0``: n draws of the objective's own source
        ``config.source``, one of ``sources``.
    dim : callable or None
        ``dim(config, params) -> d``: the dimension of a sample, where it is not the width of the
        network's output layer.
    """

    name: str
    summary: str
    options: type
    check: Callable
    sizes: Callable
    init: Callable
    batches: Callable
    gradients: Callable
    output: Callable
    velocity: Callable
    predict: Callable
    labelled: Callable
    guided: Optional[Callable] = None
    average: Optional[Callable] = None
    sample: Optional[Callable] = None
    divergence: Optional[Callable] = None
    solver: str = "rk4"
    likelihood: bool = True
    train_step: Optional[Callable] = None
    sources: tuple = ()
    draw_source: Optional[Callable] = None
    dim: Optional[Callable] = None


#: name -> Objective; filled by the entry modules that ``npflow.models`` lists.
OBJECTIVES = {}
#: name -> Network.
NETWORKS = {}
#: name -> the settings a recipe changes from ``TrainConfig``'s defaults.
RECIPES = {}


def register(entry):
    """Add an ``Objective`` or a ``Network`` to its registry under its name; return it.

    Raises
    ------
    ValueError
        If the name is taken: an entry never replaces another.
    """
    table = OBJECTIVES if isinstance(entry, Objective) else NETWORKS
    if entry.name in table:
        raise ValueError(f"{type(entry).__name__.lower()} {entry.name!r} is registered already")
    table[entry.name] = entry
    return entry


def register_recipe(name, settings):
    """Add a named recipe: the settings (``TrainConfig`` fields) it changes from the defaults."""
    if name in RECIPES:
        raise ValueError(f"recipe {name!r} is registered already")
    RECIPES[name] = dict(settings)


def _look_up(table, kind, name):
    if name not in table:
        raise ValueError(f"{kind} must be one of {', '.join(table)}, got {name!r}")
    return table[name]


def objective_named(name):
    """The registered ``Objective`` of that name; ValueError in one line for an unknown name."""
    return _look_up(OBJECTIVES, "objective", name)


def objective_of(config):
    """The registered ``Objective`` a recipe names."""
    return objective_named(config.objective)


def network_of(config):
    """The registered ``Network`` a recipe names; ValueError in one line for an unknown name."""
    return _look_up(NETWORKS, "network", config.network)


def option_names(objective):
    """The names of an objective's own options, in their order."""
    return tuple(option.name for option in fields(objective.options))
