"""Accuracy, fairness and leakage on UCI Adult as LEACE's ``alpha`` goes 0 to 1.

Run from the repository root::

    python docs/plots/alpha_sweep.py

It fits the tutorial's pipeline (one-hot encoding and scaling, then
:class:`~leace_sklearn.LeaceTransformer` erasing ``sex``, then a logistic
regression predicting income) on the Adult training rows for each ``alpha``,
scores it on the test rows, and writes ``docs/_static/alpha_sweep.png`` and
``docs/_static/alpha_sweep.csv``, which ``docs/tutorial.rst`` shows. It also
prints the numbers as a Markdown table, and a summary of the un-erased and
fully erased models that the tutorial quotes. Everything is seeded, so a
rerun gives the same numbers (up to the last digit, across BLAS builds).
"""

import argparse
import csv
from pathlib import Path

import numpy as np
from fairlearn.metrics import demographic_parity_difference
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from leace_sklearn import LeaceTransformer, load_adult
from leace_sklearn.metrics import (
    chance_level,
    cross_covariance_score,
    linear_probe_score,
)

# The even grid, plus points near 1: for a linear model every alpha < 1 is an
# invertible map it can undo, so all the change happens in the last percent.
ALPHAS = tuple(np.round(np.union1d(np.linspace(0, 1, 11), [0.95, 0.99, 0.999]), 3))
OUT_DIR = Path(__file__).resolve().parent.parent / "_static"
COLUMNS = (
    "alpha",
    "test_accuracy",
    "test_dpd",
    "train_dpd",
    "probe_train",
    "probe_test",
    "cross_cov_train",
    "cross_cov_test",
)


def load(subset, n_rows=None, seed=0):
    """Features without ``sex``, income as 0/1, and ``sex``, of one Adult split.

    ``n_rows`` takes a seeded random subset of the rows, kept in file order.
    """
    adult = load_adult(subset=subset, as_frame=True)
    data, target = adult.data, adult.target
    if n_rows is not None and n_rows < len(data):
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(data), size=n_rows, replace=False))
        data, target = data.iloc[rows], target.iloc[rows]
    X = data.drop(columns="sex")
    y = (target == ">50K").to_numpy().astype(int)
    sex = data["sex"].to_numpy()
    return X, y, sex


def make_model(alpha=1.0, min_frequency=50):
    """Encode and scale, erase the concept, then predict income."""
    preprocess = ColumnTransformer(
        [
            ("numeric", StandardScaler(), make_column_selector(dtype_include="number")),
            (
                "categorical",
                # Categories seen fewer than 50 times share one column: the
                # eraser's fit to a category of a few people does not carry
                # over to new rows (see "Rare categories" in the tutorial).
                OneHotEncoder(
                    handle_unknown="ignore",
                    min_frequency=min_frequency,
                    sparse_output=False,
                ),
                make_column_selector(dtype_include="category"),
            ),
        ]
    )
    return Pipeline(
        [
            ("preprocess", preprocess),
            ("leace", LeaceTransformer(alpha=alpha)),
            ("classifier", LogisticRegression(max_iter=1000)),
        ]
    )


def evaluate(model, train, test, *, cv=5):
    """One row of the sweep for a pipeline fitted on ``train``.

    ``train`` and ``test`` are ``(X, y, sex)`` triples. The probes and the
    cross-covariance measure the features the classifier sees.
    """
    (X_tr, y_tr, sex_tr), (X_te, y_te, sex_te) = train, test
    pred_tr, pred_te = model.predict(X_tr), model.predict(X_te)
    Z_tr, Z_te = model[:-1].transform(X_tr), model[:-1].transform(X_te)
    return {
        "alpha": model.named_steps["leace"].alpha,
        "test_accuracy": accuracy_score(y_te, pred_te),
        "test_dpd": demographic_parity_difference(
            y_te, pred_te, sensitive_features=sex_te
        ),
        "train_dpd": demographic_parity_difference(
            y_tr, pred_tr, sensitive_features=sex_tr
        ),
        "probe_train": linear_probe_score(Z_tr, sex_tr, cv=cv),
        "probe_test": linear_probe_score(Z_te, sex_te, cv=cv),
        "cross_cov_train": cross_covariance_score(Z_tr, sex_tr),
        "cross_cov_test": cross_covariance_score(Z_te, sex_te),
    }


def group_summary(model, X, sex):
    """Mean and spread of the decision score, and selection rate, per group."""
    scores = model.decision_function(X)
    return {
        group: (
            scores[sex == group].mean(),
            scores[sex == group].std(),
            np.mean(scores[sex == group] > 0),
        )
        for group in np.unique(sex)
    }


def rare_category_check(train, test):
    """Held-out leakage when every category keeps its own one-hot column.

    Returns the probe score and cross-covariance score on the test rows, and
    the output column most correlated with the concept there, with the
    number of training rows in which that column's category occurs.
    """
    (X_tr, y_tr, sex_tr), (X_te, _, sex_te) = train, test
    model = make_model(min_frequency=None).fit(X_tr, y_tr, leace__concept=sex_tr)
    Z_te = model[:-1].transform(X_te)
    is_male = (sex_te == "Male").astype(float)
    corr = [
        abs(np.corrcoef(column, is_male)[0, 1]) if np.ptp(column) > 0 else 0.0
        for column in Z_te.T
    ]
    worst = int(np.argmax(corr))
    counts = model.named_steps["preprocess"].transform(X_tr).sum(axis=0)
    return {
        "probe_test": linear_probe_score(Z_te, sex_te),
        "cross_cov_test": cross_covariance_score(Z_te, sex_te),
        "column": model[:-1].get_feature_names_out()[worst],
        "train_count": counts[worst],
    }


def describe(model, train, test):
    """Lines describing the data and the fitted eraser, for the report."""
    (X_tr, y_tr, sex_tr), (_, y_te, sex_te) = train, test
    n_features = model.named_steps["leace"].n_features_in_
    preprocess = model.named_steps["preprocess"]
    one_hot = preprocess.named_transformers_["categorical"]
    counts = one_hot.transform(X_tr[one_hot.feature_names_in_]).sum(axis=0)
    rarest = int(np.argmin(counts))
    lines = [
        f"rows: train {len(y_tr)}, test {len(y_te)}; features after encoding "
        f"{n_features}; eraser rank {model.named_steps['leace'].rank_}; "
        f"probe chance level {chance_level(sex_tr):g}"
    ]
    for name, y, sex in (("train", y_tr, sex_tr), ("test", y_te, sex_te)):
        shares = ", ".join(f"{g} {y[sex == g].mean():.3f}" for g in np.unique(sex))
        lines.append(f"share earning >50K, {name} rows: {shares}")
    majority = max(y_te.mean(), 1 - y_te.mean())
    lines.append(f"majority-class accuracy, test rows: {majority:.3f}")
    lines.append(
        f"rarest one-hot column: {one_hot.get_feature_names_out()[rarest]}, "
        f"1 in {counts[rarest]:g} training rows"
    )
    return lines


def _format(column, value):
    if column == "alpha":
        return f"{value:g}"
    if column.startswith("cross_cov"):
        return f"{value:.1e}"
    return f"{value:.3f}"


def write_csv(rows, path):
    """The rounded numbers that are plotted, one row per alpha."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_format(c, row[c]) for c in COLUMNS])


def markdown_table(rows):
    """The same numbers as :func:`write_csv`, as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_format(c, row[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def _label_clusters(ax, rows):
    """Label points by alpha; points that overlap share one label "a-b"."""
    x = np.array([r["test_dpd"] for r in rows])
    y = np.array([r["test_accuracy"] for r in rows])
    span = np.array([np.ptp(x) or 1.0, np.ptp(y) or 1.0])
    clusters = []
    for i in range(len(rows)):
        here = np.array([x[i], y[i]]) / span
        if clusters and np.linalg.norm(here - clusters[-1][0]) < 0.1:
            clusters[-1][1].append(i)
        else:
            clusters.append((here, [i]))
    for _, members in clusters:
        first, last = rows[members[0]]["alpha"], rows[members[-1]]["alpha"]
        text = f"α={first:g}" if first == last else f"α={first:g}–{last:g}"
        # The curve rises to the right: the empty side of a point is above
        # and to the left in the right half, below and to the right in the
        # left half.
        right_half = x[members[0]] > x.min() + np.ptp(x) / 2
        ax.annotate(
            text,
            (x[members[0]], y[members[0]]),
            xytext=(-5, 5) if right_half else (6, -6),
            textcoords="offset points",
            ha="right" if right_half else "left",
            va="bottom" if right_half else "top",
            fontsize=8,
        )


def plot(rows, chance, path):
    """Accuracy against fairness, and leakage against alpha, side by side."""
    # Imported here so that the numbers need no matplotlib; Agg draws to
    # files only, so the script runs without a display (servers, CI).
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")

    left.plot(
        [r["test_dpd"] for r in rows],
        [r["test_accuracy"] for r in rows],
        "-o",
        color="tab:blue",
        markersize=4,
    )
    _label_clusters(left, rows)
    left.set_xlabel("demographic parity difference, test rows (lower is fairer)")
    left.set_ylabel("accuracy, test rows")
    left.set_title("Income model: accuracy vs. fairness")
    left.margins(x=0.12, y=0.12)
    left.grid(alpha=0.3)

    # The grid is denser near 1, where everything happens, so the points are
    # drawn evenly spaced and labelled with their alpha.
    position = np.arange(len(rows))
    right.plot(
        position,
        [r["probe_train"] for r in rows],
        "-o",
        markersize=4,
        label="probe, training rows (eraser fitted on them)",
    )
    right.plot(
        position,
        [r["probe_test"] for r in rows],
        "-s",
        markersize=4,
        label="probe, test rows (held out)",
    )
    right.axhline(chance, color="k", linestyle="--", linewidth=1, label="chance")
    right.plot(
        position,
        [r["cross_cov_train"] for r in rows],
        ":",
        color="0.4",
        label="cross-covariance score, training rows",
    )
    right.set_xticks(position, [f"{r['alpha']:g}" for r in rows], rotation=60)
    right.set_xlabel("alpha (fraction of the LEACE edit applied; not to scale)")
    right.set_ylabel("balanced accuracy / correlation")
    right.set_title("Leakage: how much of sex the features reveal")
    right.set_ylim(0.0, 1.0)
    right.grid(alpha=0.3)
    right.legend(loc="lower left", fontsize=8)

    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    """Run the sweep; write the PNG and CSV and print the numbers.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None reads ``sys.argv[1:]``. ``--out-dir``
        (default ``docs/_static``), ``--n-train`` and ``--n-test`` (seeded
        row subsets, for a quick run), ``--alphas`` (the grid).

    Returns
    -------
    rows : list of dict
        One dict per alpha with the keys of the CSV columns.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS))
    args = parser.parse_args(argv)

    train = load("train", args.n_train)
    test = load("test", args.n_test)
    model = make_model()
    rows = []
    summaries = {}
    for alpha in args.alphas:
        model.set_params(leace__alpha=alpha)
        model.fit(train[0], train[1], leace__concept=train[2])
        rows.append(evaluate(model, train, test))
        if alpha in (0.0, 1.0):
            summaries[alpha] = [
                (name, group_summary(model, data[0], data[2]))
                for name, data in (("train", train), ("test", test))
            ]
        print(f"alpha={alpha:g} done", flush=True)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(rows, args.out_dir / "alpha_sweep.csv")
    plot(rows, chance_level(train[2]), args.out_dir / "alpha_sweep.png")

    print("\n" + "\n".join(describe(model, train, test)))
    print(markdown_table(rows))
    for alpha, parts in summaries.items():
        print(f"\nalpha={alpha:g}: decision score mean / std / share > 0 by group")
        for name, groups in parts:
            for group, (mean, std, share) in groups.items():
                print(f"  {name:<5} {group:<6} {mean:+.4f} / {std:.3f} / {share:.4f}")
    rare = rare_category_check(train, test)
    print(
        "\nalpha=1 without min_frequency: probe on test rows "
        f"{rare['probe_test']:.3f}, cross-covariance score on test rows "
        f"{rare['cross_cov_test']:.3f}; most correlated column "
        f"{rare['column']} (training rows with this category: "
        f"{rare['train_count']:g})"
    )
    return rows


if __name__ == "__main__":
    main()
