"""Models and objectives: the registry (``npflow.models.registry``) and its entries.

The registry's list is the imports below: each entry module registers what it defines when it
is imported. A new chapter adds one module and one name here, and changes no other file.
"""
from . import cfm, discrete, meanflow, networks, recipes
from .recipes import RECIPE_ALIASES
from .registry import (NETWORKS, OBJECTIVES, RECIPES, Network, Objective, network_of, objective_named, objective_of,
                       option_names, register, register_recipe)

__all__ = ["cfm", "discrete", "meanflow", "networks", "recipes", "RECIPE_ALIASES", "NETWORKS", "OBJECTIVES", "RECIPES", "Network",
           "Objective", "network_of", "objective_named", "objective_of", "option_names", "register", "register_recipe"]
