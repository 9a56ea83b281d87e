import matplotlib
import numpy as np
import pytest

from npflow.plumbing.threads import use_threads

matplotlib.use("Agg")  # figures are drawn headless in tests
use_threads()  # the tests' matrices are small: one BLAS thread unless NPFLOW_THREADS says otherwise


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
