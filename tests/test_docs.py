"""The user guide's and the README's code examples run as a user would run them."""

import contextlib
import importlib.util
import io
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


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


def _markdown_python_blocks(path):
    """The fenced ``python`` blocks of a Markdown file."""
    blocks, body = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if body is None and line.strip() == "```python":
            body = []
        elif body is not None and line.strip() == "```":
            blocks.append("\n".join(body))
            body = None
        elif body is not None:
            body.append(line)
    return blocks


@pytest.mark.skipif(
    not README.is_file(), reason="README.md is not part of this install"
)
def test_readme_usage_example_prints_what_it_says():
    # The first block is a whole program (the usage example); the later ones
    # are fragments about tensors, names the reader supplies.
    usage = _markdown_python_blocks(README)[0]
    assert usage.startswith("import ")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(usage, "README.md", "exec"), {})
    before, after = (float(v) for v in printed.getvalue().split())
    # Its comment: "0.30 before; below 1e-12 after".
    assert round(before, 2) == 0.30
    assert after < 1e-12
