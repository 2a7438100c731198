import sys
from pathlib import Path

import numpy as np
import pytest

# The helpers module sits beside the tests; make it importable whatever the
# working directory pytest was started from.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
