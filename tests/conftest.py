import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # figures are drawn headless in tests


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
