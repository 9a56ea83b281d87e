"""The named recipes: the settings each changes from ``TrainConfig``'s defaults (the tutorial's).

``fast`` reaches a better KL than the tutorial's recipe in less wall time (docs/performance.md);
``digits`` trains the residual network on the 8x8 digits.
"""
from .registry import RECIPES, register_recipe

__all__ = ["RECIPE_ALIASES"]

register_recipe("tutorial", {})
register_recipe("fast", {"grad": "backprop", "dtype": "float32", "lr_schedule": "cosine", "ema": 0.999, "lr": 4e-3,
                         "batch_size": 256, "steps": 6000})
register_recipe("digits", {"dataset": "digits", "network": "resnet", "hidden": (256, 256), "activation": "silu",
                           "grad": "backprop", "dtype": "float32", "lr_schedule": "cosine", "ema": 0.999, "lr": 3e-3,
                           "batch_size": 256})

#: Old names of recipes, each also a recipe of its own so that commands and scripts written with it keep
#: working: the tutorial's recipe was first called ``seed``.
RECIPE_ALIASES = {"seed": "tutorial"}
for _old, _new in RECIPE_ALIASES.items():
    register_recipe(_old, RECIPES[_new])
