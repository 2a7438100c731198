"""Erasing a concept from a table file: read, encode, erase, write, report."""

import sys
from collections import Counter

import numpy as np

from ._columns import many_levels, split_columns
from ._errors import DataError, import_optional
from ._pipeline import build_pipeline, output_names
from ._report import concept_lines, movement_lines, note_lines, summary_lines
from ._tables import check_packages, read_table, write_table
from ._threads import few_blas_threads


def _check_dependencies(args):
    """Fail before any slow work if an optional package is missing."""
    check_packages(args.input, "reading")
    if args.output is not None:
        check_packages(args.output, "writing")
    if args.save_model is not None:
        import_optional("skops.io", "--save-model")


def _fit(pipeline, features, concept):
    """Fit the pipeline; return the encoded features and the erased ones."""
    try:
        pipeline.fit(features, erase__concept=concept)
        encoded = pipeline.named_steps["encode"].transform(features)
        encoded = np.asarray(encoded, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"erasure failed: {exc}") from exc
    return encoded, pipeline.named_steps["erase"].transform(encoded)


def _output_frame(frame, columns, groups, erased, keep_concept):
    """The output table, in the input's column order.

    Each feature column is replaced by its erased column(s); excluded columns,
    and concept columns with ``--keep-concept``, are copied unchanged.
    """
    import pandas as pd

    copied = set(columns.exclude) | (set(columns.concept) if keep_concept else set())
    blocks, start = {}, 0
    for name, group in zip(columns.features, groups, strict=True):
        blocks[name] = (group, erased[:, start : start + len(group)])
        start += len(group)
    names, values = [], []
    for name in map(str, frame.columns):
        if name in blocks:
            group, block = blocks[name]
            names += group
            values += list(block.T)
        elif name in copied:
            names.append(name)
            values.append(frame[name])
    clashes = [name for name, count in Counter(names).items() if count > 1]
    if clashes:
        raise DataError(
            f"several output columns would be named {clashes} (a one-hot "
            "column is named <column>_<value>); rename the clashing input "
            "columns."
        )
    return pd.DataFrame(dict(zip(names, values, strict=True)), index=frame.index)


def run_file(args, prog):
    """Erase the concept from ``args.input``; print the report.

    Raises
    ------
    DataError
        On any problem with the files or the data.
    """
    _check_dependencies(args)
    frame = read_table(args.input)
    columns = split_columns(
        frame,
        concept=args.concept,
        exclude=args.exclude,
        categorical=args.categorical,
        source=args.input,
    )
    for message in many_levels(frame, columns.categorical):
        print(f"{prog}: warning: {message}", file=sys.stderr)
    pipeline = build_pipeline(
        columns.features,
        columns.categorical,
        method=args.method,
        alpha=args.alpha,
        min_frequency=args.min_frequency,
    )
    names = columns.concept
    # One column is passed as 1-D, so that the eraser's classes_ is an array.
    concept = frame[names[0]] if len(names) == 1 else frame[names]
    encoded, erased = _fit(pipeline, frame[columns.features], concept)
    groups = output_names(pipeline, columns.features)
    result = _output_frame(frame, columns, groups, erased, args.keep_concept)

    done = []
    if args.output is not None:
        write_table(result, args.output)
        done.append(
            f"wrote {args.output}: {result.shape[0]} rows, {result.shape[1]} columns"
        )
    if args.save_model is not None:
        _save(pipeline, args.save_model)
        done.append(f"saved the fitted pipeline to {args.save_model}")
    if not args.quiet:
        flat = [n for g in groups for n in g]
        with few_blas_threads():
            lines = _report(args, frame, columns, pipeline, encoded, erased, flat)
        lines += [""] + (done or ["no --output given: nothing written"])
        print("\n".join(lines))


def _report(args, frame, columns, pipeline, encoded, erased, flat):
    """The report's lines, from the encoded features before and after."""
    concepts = [(n, frame[n].to_numpy()) for n in columns.concept]
    quoted = ", ".join(f'"{n}"' for n in columns.concept)
    kept_out = ", ".join(columns.exclude)
    lines = summary_lines(
        f"LEACE: erasing {quoted} from {args.input}",
        n_rows=frame.shape[0],
        features=columns.features,
        categorical=columns.categorical,
        n_out=encoded.shape[1],
        concepts=concepts,
        eraser=pipeline.named_steps["erase"],
        kept_out=f"{kept_out} (copied unchanged)" if kept_out else None,
        min_frequency=args.min_frequency,
    )
    for name, values in concepts:
        lines += [""] + concept_lines(
            encoded, erased, flat, name, values, cv=args.cv, seed=args.seed
        )
    lines += [""] + movement_lines(encoded, erased, flat)
    return lines + [""] + note_lines(encoded, args.min_frequency, args.alpha)


def _save(pipeline, path):
    sio = import_optional("skops.io", "--save-model")
    try:
        sio.dump(pipeline, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc}") from exc
