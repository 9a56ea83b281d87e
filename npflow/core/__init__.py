"""The math of flow matching: pure functions on arrays, one concept a module, and nothing else.

No files, no command line, no signals and no progress bars live here: a student reads these
modules with the paper beside them. From the ground up: ``primitives`` (the building blocks
with their hand-written gradients), ``mlp`` and ``backprop`` (the network, and its chain rule
written out), ``optim`` (Adam), ``paths`` (x_t and u_t), ``views`` (velocity, noise, data and
score as one field), ``training`` (the CFM loss and one step), ``solvers`` and ``sampling`` (the
ODE, forward and back), ``likelihood`` (the reverse ODE's log p), ``gmm`` and ``oracle`` (the
exact field of a Gaussian mixture), ``couplings`` (pairing noise with data), ``metrics``, and
the two speed paths of the MLP's field, ``in_place`` and ``mlp_divergence``.
"""
