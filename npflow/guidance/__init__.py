"""Conditioning and classifier-free guidance: a field told which class to draw.

``labels`` (a label as a one-hot, and label dropout), ``conditional`` (the conditional field,
its loss, and guidance), ``exact`` (the exact conditional and guided fields of a Gaussian
mixture) and ``measures`` (where guided samples land, class by class).
"""
