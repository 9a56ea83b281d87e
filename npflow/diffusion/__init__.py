"""Diffusion beside flow matching: the stochastic samplers (the SDE and DDPM's ancestral step) in npflow's time."""
