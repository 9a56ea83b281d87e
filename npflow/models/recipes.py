"""The named recipes: the settings each changes from ``TrainConfig``'s defaults (the tutorial's).

``fast`` reaches a better KL than the tutorial's recipe in less wall time (docs/performance.md);
``digits`` trains the residual network on the 8x8 digits. ``discrete`` and ``discrete_digits`` are
discrete flow matching's (``npflow.models.discrete``): the posterior of a grid's pairs of tokens,
and of the digits' 64 pixels over 17 values.

``discrete_digits`` regularises by early stopping and by averaging: 4,000 steps, warm-up then
cosine decay, end training before the test cross-entropy turns up (a prototype's rose after 3 to
5 minutes while its train cross-entropy kept falling: 1,438 training images are few for 1.4
million weights), and the run samples with the moving average of its weights (``ema`` 0.999),
which smooths the last steps' noise. It has no weight decay (npflow's Adam has none) and no
dropout (the posterior would then be trained on another network than the one that samples).
The loss on the masked tokens alone (``masked_only``) spends every gradient on the tokens the
sampler must fill in. The ``discrete`` recipe trains a grid's posterior, 2 x 256 units, with the
same moving average.
"""
from .registry import RECIPES, register_recipe

__all__ = ["RECIPE_ALIASES"]

register_recipe("tutorial", {})
register_recipe("fast", {"grad": "backprop", "dtype": "float32", "lr_schedule": "cosine", "ema": 0.999, "lr": 4e-3,
                         "batch_size": 256, "steps": 6000})
register_recipe("digits", {"dataset": "digits", "network": "resnet", "hidden": (256, 256), "activation": "silu",
                           "grad": "backprop", "dtype": "float32", "lr_schedule": "cosine", "ema": 0.999, "lr": 3e-3,
                           "batch_size": 256})

register_recipe("discrete", {"objective": "discrete", "dataset": "grid_eight_gaussians", "source": "mask",
                             "hidden": (256, 256), "batch_size": 512, "lr": 3e-3, "lr_schedule": "cosine", "ema": 0.999,
                             "grad": "backprop", "dtype": "float32", "steps": 12000})
register_recipe("discrete_digits", {"objective": "discrete", "dataset": "digits", "source": "mask", "hidden": (512, 512),
                                    "batch_size": 256, "lr": 1e-3, "lr_schedule": "cosine", "warmup": 300,
                                    "masked_only": True, "ema": 0.999, "grad": "backprop", "dtype": "float32",
                                    "steps": 4000})

#: Old names of recipes, each also a recipe of its own so that commands and scripts written with it keep
#: working: the tutorial's recipe was first called ``seed``.
RECIPE_ALIASES = {"seed": "tutorial"}
for _old, _new in RECIPE_ALIASES.items():
    register_recipe(_old, RECIPES[_new])
