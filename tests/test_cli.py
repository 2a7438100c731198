"""Tests of the command-line tool, ``leace-erase`` / ``python -m leace_sklearn``."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
import skops.io as sio
from _helpers import one_hot, weighted_cov
from sklearn.utils.fixes import parse_version

from leace_sklearn import load_adult
from leace_sklearn.cli import main
from leace_sklearn.cli._tables import _exact_floats

N_ROWS = 1500
COPIED = ["id", "income"]
CONCEPT = "sex"

# "  probe balanced accuracy (5-fold CV)   before 0.823  after 0.559  chance 0.500"
_ROW = re.compile(
    r"^\s*(?P<label>\S.*?)\s+before (?P<before>\S+)\s+after (?P<after>\S+)"
    r"(?:\s+(?P<ref_name>chance|majority) (?P<ref>\S+))?\s*$"
)


def parse_rows(report):
    """Map each before/after line's label to its numbers, per report section."""
    sections, table = [], {}
    for line in report.splitlines():
        match = _ROW.match(line)
        if match:
            row = {"before": float(match["before"]), "after": float(match["after"])}
            if match["ref_name"]:
                row[match["ref_name"]] = float(match["ref"])
            table[match["label"]] = row
        elif line.startswith("LEACE") and table:
            sections.append(table)
            table = {}
    return sections + [table]


def run_cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "leace_sklearn", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


@pytest.fixture(scope="module")
def frame():
    """A slice of Adult without missing values, with an integer id column."""
    data = load_adult(subset="train", as_frame=True).frame.dropna()
    data = data.iloc[:N_ROWS].reset_index(drop=True)
    data.insert(0, "id", np.arange(100, 100 + N_ROWS))
    return data


@pytest.fixture(scope="module")
def files(frame, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    frame.to_csv(folder / "adult.csv", index=False)
    frame.to_parquet(folder / "adult.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def erased(files):
    """One run of the tool as a subprocess: the process and its output table."""
    result = run_cli(
        "adult.csv",
        "--concept",
        CONCEPT,
        "--exclude",
        *COPIED,
        "-o",
        "out.csv",
        "--save-model",
        "eraser.skops",
        cwd=files,
    )
    assert result.returncode == 0, result.stderr
    # Read back exactly as written, as the tool reads (pandas 2 parses CSV
    # floats to within an ulp by default).
    return result, pd.read_csv(files / "out.csv", **_exact_floats())


def features_of(table):
    return table.drop(columns=[c for c in COPIED + [CONCEPT] if c in table])


def assert_group_means_equal(table, concept):
    """The defining property: every column has the same mean in each group."""
    X = features_of(table).to_numpy(dtype=np.float64)
    Z = one_hot(np.asarray(concept))
    cov = weighted_cov(X, Z)
    scale = X.std(axis=0)[:, None] * Z.std(axis=0)[None, :]
    assert np.max(np.abs(cov) / np.where(scale > 0, scale, 1.0)) < 1e-9


# -- the main run, as a subprocess -------------------------------------------


def test_output_table(frame, erased):
    _, out = erased
    assert out.shape[0] == N_ROWS
    assert CONCEPT not in out.columns
    # Copied columns keep their place and values.
    pd.testing.assert_series_equal(out["id"], frame["id"])
    assert (out["income"] == frame["income"].astype(str)).all()
    assert not any(c.startswith("sex") for c in out.columns)
    # Numeric features keep their name; a categorical one becomes a column
    # per level seen in at least 10 rows (--min-frequency's default), plus
    # one for the rarer levels together, in the input's column order.
    expected = ["id"]
    for name in features_of(frame).columns:
        if name in load_adult().numeric_features:
            expected.append(name)
            continue
        counts = frame[name].value_counts()
        expected += [f"{name}_{level}" for level in sorted(counts[counts >= 10].index)]
        if (counts[counts > 0] < 10).any():
            expected.append(f"{name}_infrequent_sklearn")
    assert list(out.columns) == expected + ["income"]


def test_output_has_no_cross_covariance(frame, erased):
    _, out = erased
    assert_group_means_equal(out, frame[CONCEPT])
    # ... which the input did not have.
    before = pd.get_dummies(features_of(frame), dtype=float)
    with pytest.raises(AssertionError):
        assert_group_means_equal(before, frame[CONCEPT])


def test_report(erased):
    result, _ = erased
    report = result.stdout
    assert 'erasing "sex" from adult.csv' in report
    assert re.search(rf"^rows\s+{N_ROWS}$", report, flags=re.M)
    (rows,) = parse_rows(report)
    probe = rows["probe balanced accuracy (5-fold CV)"]
    assert probe["chance"] == 0.5
    assert probe["before"] > 0.75
    assert probe["after"] < probe["before"] - 0.15
    correlation = rows["max |correlation| feature vs concept"]
    assert correlation["before"] > 0.3 and correlation["after"] == 0
    gap = rows["largest gap of group means (feature stds)"]
    assert gap["before"] > 0.5 and gap["after"] == 0
    moved = re.search(r"relative RMS displacement\s+(\S+)", report)
    assert 0 < float(moved[1]) < 1
    assert "wrote out.csv: 1500 rows" in report
    assert result.stderr == ""


def test_saved_pipeline_transforms_like_the_tool(frame, erased, files):
    _, out = erased
    path = files / "eraser.skops"
    untrusted = sio.get_untrusted_types(file=path)
    ours = [t for t in untrusted if t.startswith("leace_sklearn.")]
    # scikit-learn before 1.7 keeps a ColumnTransformer's remainder columns
    # in a list subclass of its own, which no skops release trusts.
    allowed = set()
    if parse_version(sklearn.__version__) < parse_version("1.7"):
        allowed = {"sklearn.compose._column_transformer._RemainderColsList"}
    assert ours and set(untrusted) - set(ours) <= allowed
    pipeline = sio.load(path, trusted=untrusted)

    expected = features_of(out).to_numpy()
    # The same rows, with or without the columns the tool left alone.
    assert np.array_equal(pipeline.transform(frame.drop(columns=[CONCEPT])), expected)
    # New rows: a subset in another order, as a fresh table of those columns.
    rows = np.arange(N_ROWS)[::-7]
    new = features_of(frame).iloc[rows].reset_index(drop=True)
    got = pipeline.transform(new)
    scale = np.abs(expected).max(axis=0) + 1.0
    assert np.max(np.abs(got - expected[rows]) / scale) < 1e-12


# -- other runs, in-process ---------------------------------------------------


def test_parquet_round_trip(frame, erased, files, capsys):
    status = main(
        [str(files / "adult.parquet"), "--concept", CONCEPT, "--exclude", *COPIED]
        + ["-o", str(files / "out.parquet"), "--quiet"]
        + ["--save-model", str(files / "other.skops")]
    )
    assert status == 0 and capsys.readouterr().out == ""
    out = pd.read_parquet(files / "out.parquet")
    _, from_csv = erased
    assert list(out.columns) == list(from_csv.columns)
    assert out["id"].dtype == frame["id"].dtype
    np.testing.assert_allclose(
        features_of(out).to_numpy(), features_of(from_csv).to_numpy(), rtol=1e-12
    )


# A repeated flag adds its columns: once, only the last list was kept.
@pytest.mark.parametrize(
    "concept", [["sex", "race"], ["sex", "--concept", "race"]], ids=["one", "twice"]
)
def test_two_concepts_kept(frame, files, capsys, monkeypatch, concept):
    monkeypatch.chdir(files)
    argv = ["adult.csv", "--concept", *concept]
    argv += ["--exclude", COPIED[0], "--exclude", COPIED[1]]
    assert main([*argv, "--keep-concept", "-o", "two.tsv", "--cv", "3"]) == 0
    out = pd.read_csv("two.tsv", sep="\t")
    pd.testing.assert_series_equal(out["race"], frame["race"].astype(str))
    pd.testing.assert_series_equal(out["sex"], frame["sex"].astype(str))
    without = out.drop(columns=["race"])
    assert_group_means_equal(without, frame["sex"])
    assert_group_means_equal(without, frame["race"])
    report = capsys.readouterr().out
    assert 'leakage of "sex"' in report and 'leakage of "race"' in report
    assert "5 classes" in report and "chance 0.200" in report


def test_partial_erasure_is_reported_as_such(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    argv = ["adult.csv", "--concept", CONCEPT, "--exclude", *COPIED]
    assert main([*argv, "--alpha", "0.5", "-o", "half.csv", "--cv", "3"]) == 0
    report = capsys.readouterr().out
    assert "With --alpha 0.5, only that fraction of the edit" in report
    assert "makes them zero" not in report


def test_categorical_option_and_options(frame, files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    argv = ["adult.csv", "--concept", CONCEPT, "--exclude", *COPIED]
    extra = ["--categorical", "education-num", "--min-frequency", "1"]
    assert main([*argv, *extra, "--alpha", "0", "-o", "cat.csv", "-q"]) == 0
    out = pd.read_csv("cat.csv")
    assert "education-num" not in out.columns
    levels = sorted(frame["education-num"].unique())
    assert [f"education-num_{v}" for v in levels] == [
        c for c in out.columns if c.startswith("education-num")
    ]
    # alpha=0 is the identity: the one-hot encoding itself comes out.
    assert (out["education-num_13.0"] == (frame["education-num"] == 13)).all()


def test_compressed_csv_input(frame, files, tmp_path, capsys):
    frame.head(400).to_csv(tmp_path / "in.csv.gz", index=False)
    argv = [str(tmp_path / "in.csv.gz"), "--concept", CONCEPT, "-q"]
    assert main([*argv, "--exclude", *COPIED, "-o", str(tmp_path / "o.csv")]) == 0
    assert pd.read_csv(tmp_path / "o.csv").shape[0] == 400


def test_identifier_like_column_warns(tmp_path, capsys):
    table = pd.DataFrame(
        {
            "name": [f"person{i}" for i in range(300)],
            "x": np.arange(300.0) % 7,
            "z": ["a", "b", "c"] * 100,
        }
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    assert main([str(tmp_path / "t.csv"), "--concept", "z", "-q"]) == 0
    err = capsys.readouterr().err
    assert "leace-erase: warning: column 'name' has 300 distinct values" in err
    assert "--exclude name" in err


# -- errors --------------------------------------------------------------------


@pytest.fixture
def small(tmp_path, frame):
    """A folder with small good and bad tables; the tests run inside it."""
    frame.head(60).to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b,z\n")
    (tmp_path / "broken.csv").write_text('a,b\n1,2\n"3,4\n')
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "one.csv").write_text("a,b,z\n1,2,x\n3,5,x\n")
    (tmp_path / "gap.csv").write_text("a,b,z\n1,u,x\n3,,y\n")
    (tmp_path / "gapz.csv").write_text("a,b,z\n1,u,x\n3,v,\n")
    (tmp_path / "inf.csv").write_text("a,b,z\n1,inf,x\n3,4,y\n")
    pd.DataFrame(
        {"t": pd.to_datetime(["2020-01-01", "2021-01-01"]), "z": ["x", "y"]}
    ).to_parquet(tmp_path / "date.parquet")
    return tmp_path


USAGE_ERRORS = [
    (["a.csv"], "--concept is required"),
    (["a.csv", "--concept", "sex", "--exclude", "sex"], "both in --concept and"),
    (["a.csv", "--concept", "sex", "--categorical", "sex"], "--categorical applies"),
    (["a.csv", "--concept", "sex", "-o", "a.csv"], "is the input file"),
    (["a.csv", "--concept", "sex", "-o", "./sub/../a.csv"], "is the input file"),
    (["a.csv", "--concept", "sex", "-o", "out.xlsx"], "unknown file type"),
    (["a.xlsx", "--concept", "sex"], "unknown file type"),
    (["a.parquet.gz", "--concept", "sex"], "unknown file type"),
    (["a.csv", "--concept", "sex", "--save-model", "m.pkl"], "must end in .skops"),
    (["a.csv", "--concept", "sex", "--save-model", "a.csv"], "must end in .skops"),
    (["a.csv", "--concept", "sex", "--max-rows", "2000"], "only to the demo"),
    (["--concept", "sex", "a.csv"], "put the input file first"),
    (["--concept", "sex"], "--concept needs an input file"),
    (["-o", "x.csv", "--keep-concept"], "--keep-concept, --output need an input"),
    (["--alpha", "1.5"], "must be in [0, 1]"),
    (["--alpha", "nan"], "must be in [0, 1]"),
    (["--alpha", "x"], "not a number"),
    (["--method", "pca"], "invalid choice"),
    (["--cv", "1"], "at least 2"),
    (["--max-rows", "999"], "at least 1000"),
    (["--max-rows", "many"], "not an integer"),
    (["--min-frequency", "0"], "at least 1"),
    (["--unknown"], "unrecognized arguments"),
]


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS)
def test_usage_errors_exit_2(small, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(small)
    with pytest.raises(SystemExit) as exc_info:
        main(argv)
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: leace-erase")
    assert "leace-erase: error: " in err and message in err


@pytest.mark.parametrize("option", ["-o", "--save-model"])
def test_hard_link_to_the_input_is_refused(small, monkeypatch, capsys, option):
    monkeypatch.chdir(small)
    link = "b.csv" if option == "-o" else "b.skops"
    (small / link).hardlink_to(small / "a.csv")
    with pytest.raises(SystemExit) as exc_info:
        main(["a.csv", "--concept", "sex", option, link])
    assert exc_info.value.code == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (small / "a.csv").read_text().startswith("id,age,")


DATA_ERRORS = [
    (["missing.csv", "--concept", "z"], "cannot read missing.csv: no such file"),
    (["empty.csv", "--concept", "z"], "empty.csv is empty"),
    (["header.csv", "--concept", "z"], "header.csv has no rows"),
    (["broken.csv", "--concept", "b"], "cannot read broken.csv"),
    (["broken.parquet", "--concept", "b"], "cannot read broken.parquet"),
    (["one.csv", "--concept", "z"], "'z' of one.csv has a single value ('x')"),
    (["gap.csv", "--concept", "z"], "missing or infinite values: 'b' (1 row)"),
    (["inf.csv", "--concept", "z"], "missing or infinite values: 'b' (1 row)"),
    (["gapz.csv", "--concept", "z"], "'z' of gapz.csv has missing values"),
    (["date.parquet", "--concept", "z"], "'t' has dtype datetime64"),
    (
        ["a.csv", "--concept", "sexx", "--exclude", "id", "nope"],
        "no such column in a.csv: --concept 'sexx'; --exclude 'nope'. "
        "Its columns are: 'id', 'age', 'workclass',",
    ),
    (
        ["a.csv", "--concept", "sex", "--exclude", "id", "income"]
        + [name for name in load_adult().feature_names if name != "sex"],
        "no feature columns are left",
    ),
    (["a.csv", "--concept", "sex", "-o", "no/such/dir/o.csv"], "cannot write"),
]


@pytest.mark.parametrize(("argv", "message"), DATA_ERRORS)
def test_data_errors_exit_1(small, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(small)
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("leace-erase: error: ")
    assert message in captured.err


@pytest.mark.parametrize(
    ("module", "argv", "install"),
    [
        ("pandas", ["a.csv", "--concept", "sex"], "leace-sklearn[io]"),
        (
            "pyarrow",
            ["a.csv", "--concept", "sex", "-o", "o.parquet"],
            "leace-sklearn[io]",
        ),
        (
            "skops.io",
            ["a.csv", "--concept", "sex", "--save-model", "m.skops"],
            "leace-sklearn[io]",
        ),
        # No extra has zstandard, which pandas needs for .zst: asked for
        # before any work, not (as it was) in a traceback once all is done.
        ("zstandard", ["a.csv", "--concept", "sex", "-o", "o.csv.zst"], "zstandard"),
    ],
)
def test_missing_optional_package(small, monkeypatch, capsys, module, argv, install):
    monkeypatch.chdir(small)
    # A None entry in sys.modules makes "import module" raise ImportError.
    monkeypatch.setitem(sys.modules, module, None)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"needs {module}, which is not installed" in err
    assert "pip install" in err and install in err
    assert not any((small / name).exists() for name in ("o.parquet", "m.skops"))
    assert not (small / "o.csv.zst").exists()


def test_exit_codes_of_the_process(small):
    """The process exits with the codes main returns or raises."""
    runs = {
        2: ["a.csv", "--concept", "sex", "--exclude", "sex"],
        1: ["one.csv", "--concept", "z"],
    }
    # Started together, as each spends seconds importing.
    processes = {
        code: subprocess.Popen(
            [sys.executable, "-m", "leace_sklearn", *argv],
            cwd=small,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code, argv in runs.items()
    }
    for code, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == code
        assert out == ""
        assert "python -m leace_sklearn: error: " in err


class _Payload:
    """Unpickling this would create the file named ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path(self.marker).touch, ())


@pytest.mark.parametrize("name", ["data.pkl", "data.csv", "data.parquet"])
def test_inputs_are_read_as_data_never_run(tmp_path, monkeypatch, capsys, name):
    # A pickle (under any extension) is data to the tool, never code: it is
    # refused or fails to parse, and what it would run on loading never runs.
    import pickle

    marker = tmp_path / "pwned"
    (tmp_path / name).write_bytes(pickle.dumps(_Payload(marker)))
    monkeypatch.chdir(tmp_path)
    try:
        code = main([name, "--concept", "sex", "-o", "out.csv"])
    except SystemExit as exc:  # usage errors exit as argparse does
        code = exc.code
    assert code in (1, 2)
    assert "error" in capsys.readouterr().err
    assert not marker.exists()
    assert not (tmp_path / "out.csv").exists()


# -- the demonstration on the bundled data --------------------------------------


def test_demo(capsys):
    assert main(["--max-rows", "1000", "--seed", "1"]) == 0
    report = capsys.readouterr().out
    assert report.index('erasing "sex"') < report.index('erasing "race"')
    assert "10.24432/C5XW20" in report and "CC BY 4.0" in report
    assert re.search(r"^rows\s+1000$", report, flags=re.M)
    ranks = [int(r) for r in re.findall(r"rank (\d+) ", report)]
    assert ranks == [1, 4]  # two sexes and five race groups in the sample
    sex, race = parse_rows(report)
    for rows, chance in ((sex, 0.5), (race, 0.2)):
        probe = rows["probe balanced accuracy (5-fold CV)"]
        assert probe["chance"] == chance and probe["before"] > chance + 0.1
        assert rows["max |correlation| feature vs concept"]["after"] == 0
        income = rows["income accuracy (5-fold CV)"]
        assert income["after"] > income["majority"] > 0.5


def test_demo_seed_changes_sample(capsys):
    counts = []
    for seed in ("1", "2"):
        main(["--max-rows", "1000", "--seed", seed, "--cv", "2"])
        counts.append(re.search(r"^concept\s+(sex.*)$", capsys.readouterr().out, re.M))
    assert counts[0][1] != counts[1][1]


# Makes pandas, pyarrow and skops unimportable, as on a machine with only the
# core dependencies. (sys.modules["pandas"] = None would not do here:
# scikit-learn takes any entry there for the module itself.)
_WITHOUT_IO = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("pandas", "pyarrow", "skops"):
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, Block())
from leace_sklearn.cli import main
status = main(sys.argv[1:], prog="demo")
assert "pandas" not in sys.modules
sys.exit(status)
"""


def test_demo_runs_without_pandas():
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_IO, "--max-rows", "1000", "--cv", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "probe balanced accuracy (2-fold CV)" in result.stdout


# -- packaging -------------------------------------------------------------------


def test_console_script_points_to_main():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    # tomllib is not in Python 3.10's standard library; the line is simple.
    section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    target = re.search(r'^leace-erase\s*=\s*"([\w.]+):(\w+)"$', section, re.M)
    module = __import__(target[1], fromlist=[target[2]])
    assert getattr(module, target[2]) is main
