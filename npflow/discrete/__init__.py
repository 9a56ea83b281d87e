"""Discrete flow matching: tokens that jump, from a source (all MASK, or uniform) to the data.

States are sequences of D tokens over a vocabulary of V data symbols 0 .. V-1; a masked source
adds the symbol MASK = V, so a token takes one of S = V + 1 values ("mask") or S = V ("uniform").
Time runs from the source at t = 0 to the data at t = 1.

``schedulers`` (kappa(t)), ``sources`` (x_0), ``paths`` (the mixture path's draw of x_t),
``posterior`` (the factorized model p_theta(x_1^i | x_t) and its cross-entropy), ``velocity``
(the probability velocity and the steps of the jump process), ``sampling`` (the sampler),
``exact`` (the exact posterior of a table, and the exact law of the sampler's output for D = 2)
and ``metrics`` (histograms, TV, KL and the floor of i.i.d. draws).

Campbell et al. (2022), "A Continuous Time Framework for Discrete Denoising Models"; Campbell et
al. (2024), "Generative Flows on Discrete State-Spaces"; Gat et al. (2024), "Discrete Flow
Matching"; Shaul et al. (2024), "Flow Matching with General Discrete Paths".
"""
