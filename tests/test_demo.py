"""Tests of the quick-start demo, ``python -m leace_sklearn``."""

import re
import subprocess
import sys

import pytest

from leace_sklearn._demo import main

# A subsample keeps each run to a few seconds; 3000 rows still hold every
# race group in every CV fold.
ROWS = "3000"

# "  probe balanced accuracy (in-sample)   before 0.863  after 0.500  chance 0.500"
_ROW = re.compile(
    r"^\s*(?P<label>\S.*?)\s+before (?P<before>\S+)\s+after (?P<after>\S+)"
    r"(?:\s+(?P<ref_name>chance|majority) (?P<ref>\S+))?\s*$"
)


def parse_table(report):
    """Map each before/after line's label to its numbers."""
    table = {}
    for line in report.splitlines():
        match = _ROW.match(line)
        if match:
            row = {"before": float(match["before"]), "after": float(match["after"])}
            if match["ref_name"]:
                row[match["ref_name"]] = float(match["ref"])
            table[match["label"]] = row
    return table


def check_report(report, concept, n_classes):
    assert f'erasing "{concept}"' in report
    assert re.search(rf"^rows\s+{ROWS}$", report, flags=re.MULTILINE)
    assert f"{concept}: {n_classes} classes" in report
    rank = int(re.search(r"^rank\s+(\d+)", report, flags=re.MULTILINE)[1])
    assert rank == n_classes - 1
    assert "10.24432/C5XW20" in report and "CC BY 4.0" in report

    table = parse_table(report)
    assert set(table) == {
        "probe balanced accuracy (5-fold CV)",
        "probe balanced accuracy (in-sample)",
        "income accuracy (5-fold CV)",
        "relative RMS displacement",
        "max |change of feature mean|",
    }
    chance = 1.0 / n_classes
    for label in (
        "probe balanced accuracy (5-fold CV)",
        "probe balanced accuracy (in-sample)",
    ):
        assert table[label]["chance"] == pytest.approx(chance, abs=1e-3)
        assert table[label]["before"] > chance + 0.1
    in_sample = table["probe balanced accuracy (in-sample)"]
    assert abs(in_sample["after"] - chance) <= 0.02
    assert abs(table["probe balanced accuracy (5-fold CV)"]["after"] - chance) < 0.05

    income = table["income accuracy (5-fold CV)"]
    # Erasure may cost income accuracy, but must not wreck the features.
    assert income["after"] > income["majority"] > 0.5
    moved = table["relative RMS displacement"]
    assert moved["before"] == 0 and 0 < moved["after"] < 1
    assert table["max |change of feature mean|"]["after"] < 1e-8
    return table


def test_module_runs_as_script():
    result = subprocess.run(
        [sys.executable, "-m", "leace_sklearn", "--max-rows", ROWS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert re.search(r"^\s*probe balanced accuracy .*before .*after ", report, re.M)
    table = check_report(report, "sex", 2)
    # Sex is strongly encoded in the other columns (e.g. relationship=Husband).
    assert table["probe balanced accuracy (in-sample)"]["before"] > 0.75


# Makes pandas unimportable, as where it is not installed. (Setting
# sys.modules["pandas"] = None would not do: scikit-learn takes any entry
# there for the module itself.)
_WITHOUT_PANDAS = """
import sys

class BlockPandas:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, BlockPandas())
from leace_sklearn._demo import main
status = main(["--max-rows", "1000"])
assert "pandas" not in sys.modules
sys.exit(status)
"""


def test_runs_without_pandas():
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PANDAS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "probe balanced accuracy (in-sample)" in result.stdout


def test_race_in_process(capsys):
    assert main(["--concept", "race", "--max-rows", ROWS]) == 0
    check_report(capsys.readouterr().out, "race", 5)


@pytest.mark.parametrize(
    "argv",
    [
        ["--concept", "nonsense"],
        ["--max-rows", "0"],
        ["--max-rows", "999"],
        ["--max-rows", "many"],
        ["--seed", "x"],
        ["--unknown"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(argv)
    assert exc_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_bad_concept_from_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "leace_sklearn", "--concept", "nonsense"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_seed_changes_subsample(capsys):
    main(["--max-rows", "1000", "--seed", "1"])
    first = capsys.readouterr().out
    main(["--max-rows", "1000", "--seed", "2"])
    second = capsys.readouterr().out
    counts = [re.search(r"^concept\s+(.*)$", out, re.M)[1] for out in (first, second)]
    assert counts[0] != counts[1]
