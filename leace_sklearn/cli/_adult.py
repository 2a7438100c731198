"""The demonstration run without an input file: the bundled UCI Adult data.

It erases ``sex``, then (separately) ``race``, and prints the same report as
for a file, plus what erasure costs a model that predicts income. Only NumPy,
SciPy and scikit-learn are needed; pandas is not.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._transformer import LeaceTransformer
from ..datasets import load_adult
from ._parser import DEMO_ROWS
from ._pipeline import build_pipeline, output_names
from ._report import (
    before_after,
    concept_lines,
    movement_lines,
    note_lines,
    summary_lines,
)
from ._threads import few_blas_threads

CONCEPTS = ("sex", "race")
CITATION = (
    "Data: Becker & Kohavi (1996), Adult, UCI Machine Learning Repository, "
    "doi:10.24432/C5XW20, CC BY 4.0"
)


def _load(max_rows, seed):
    """Adult training rows: features (object array), income, column names.

    Missing values (in three categorical columns) become the category
    ``"missing"``: in Adult a missing occupation says something too.
    """
    adult = load_adult(subset="train", as_frame=False)
    data, income = adult.data, adult.target
    if max_rows is not None and max_rows < data.shape[0]:
        rng = np.random.default_rng(seed)
        # Sorted, so the sample keeps the file's order like the full data.
        rows = np.sort(rng.choice(data.shape[0], size=max_rows, replace=False))
        data, income = data[rows], income[rows]
    data = np.where(data == None, "missing", data)  # noqa: E711 (elementwise)
    return data, income, adult.feature_names, adult.categorical_features


def _income_accuracy(X, income, concept, cv, seed):
    """5-fold CV accuracy of income prediction without and with erasure.

    With erasure the eraser is refitted on each training fold only, so the
    held-out rows are erased by an eraser that never saw them.
    """
    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    before = cross_val_score(model, X, income, cv=folds, scoring="accuracy")
    # Without the routed concept the eraser would erase income itself.
    erased = make_pipeline(LeaceTransformer(), model)
    after = cross_val_score(
        erased,
        X,
        income,
        cv=folds,
        scoring="accuracy",
        params={"leacetransformer__concept": concept},
    )
    return float(before.mean()), float(after.mean())


def _one_concept(data, income, names, categorical, concept, args):
    j = names.index(concept)
    # The concept column itself is left out: erasure removes linear traces
    # of it from the other columns, and cannot hide an explicit copy.
    positions = [i for i in range(len(names)) if i != j]
    features = [names[i] for i in positions]
    cat_positions = [i for i in positions if names[i] in categorical]
    pipeline = build_pipeline(
        positions,
        cat_positions,
        method=args.method,
        alpha=args.alpha,
        min_frequency=args.min_frequency,
    )
    z = data[:, j]
    pipeline.fit(data, erase__concept=z)
    # Passed-through columns of an object array stay objects.
    X = pipeline.named_steps["encode"].transform(data).astype(np.float64)
    X_erased = pipeline.named_steps["erase"].transform(X)
    flat = [n for g in output_names(pipeline, features) for n in g]

    majority = max(np.mean(income == ">50K"), np.mean(income != ">50K"))
    lines = summary_lines(
        f'LEACE demo: erasing "{concept}" from the UCI Adult training data',
        n_rows=data.shape[0],
        features=features,
        categorical=[names[i] for i in cat_positions],
        n_out=X.shape[1],
        concepts=[(concept, z)],
        eraser=pipeline.named_steps["erase"],
        kept_out="income (the label predicted below)",
        min_frequency=args.min_frequency,
    )
    lines += [""] + concept_lines(
        X, X_erased, flat, concept, z, cv=args.cv, seed=args.seed
    )
    lines += [
        "",
        "what erasure costs a model predicting income:",
        before_after(
            f"income accuracy ({args.cv}-fold CV)",
            *_income_accuracy(X, income, z, args.cv, args.seed),
            ref=("majority", majority),
        ),
    ]
    lines += [""] + movement_lines(X, X_erased, flat)
    return lines + [""] + note_lines(X, args.min_frequency, args.alpha)


def run_demo(args):
    """Report lines of the demo: ``sex``, then ``race`` erased from Adult.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options; ``method``, ``alpha``, ``cv``, ``seed`` and
        ``max_rows`` are used.

    Returns
    -------
    lines : list of str
    """
    data, income, names, categorical = _load(args.max_rows or DEMO_ROWS, args.seed)
    lines = []
    with few_blas_threads():
        for concept in CONCEPTS:
            lines += _one_concept(data, income, names, categorical, concept, args)
            lines.append("")
    return lines + [CITATION]
