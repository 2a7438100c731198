import os
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI draws the same examples on every run, so that a submission's result does
# not depend on the luck of the draw; locally each run explores new ones (and
# hypothesis's database replays any failure it found).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The helpers module sits beside the tests; make it importable whatever the
# working directory pytest was started from.
sys.path.insert(0, str(Path(__file__).parent))


# scikit-learn 1.6's test utilities refuse to import when array-api-compat
# (one of our dependencies) is installed unless SciPy's array API mode is on;
# later versions do not need this.
if tuple(int(p) for p in version("scikit-learn").split(".")[:2]) < (1, 7):
    os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
