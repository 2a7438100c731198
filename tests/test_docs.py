"""The user guide's code examples run, in order, as a user would run them."""

import importlib.util
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _python_blocks(path):
    """The ``.. code-block:: python`` blocks of an reST file, dedented."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            indent = len(lines[i]) - len(lines[i].lstrip())
            i += 1
            body = []
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
            ):
                body.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(body)))
        else:
            i += 1
    return blocks


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs/ is not part of this install")
def test_user_guide_examples_run():
    blocks = _python_blocks(DOCS / "user_guide.rst")
    assert len(blocks) >= 4
    namespace = {}
    for block in blocks:
        # torch is optional: its examples run where it is installed (CI).
        if "import torch" in block and importlib.util.find_spec("torch") is None:
            continue
        exec(compile(block, "user_guide.rst", "exec"), namespace)
    # What the examples claim, checked on their own results.
    assert namespace["search"].best_estimator_.named_steps["leace"].rank_ == 1
    assert namespace["predictions"].shape == (len(namespace["X"]),)
