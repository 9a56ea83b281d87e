"""MeanFlow: the average velocity over an interval, which goes from noise to data in one step.

``average`` (the network, and its JVP), ``loss`` (the MeanFlow target and loss), ``jumps``
(sampling in k jumps) and ``exact`` (the exact average velocity of a Gaussian mixture).
"""
