"""Memory of streaming ``partial_fit``: peak RSS flat in the number of rows.

For each size (10^6 and 10^7 rows by default) a fresh Python process runs
``partial_fit`` over chunks of rows generated on the fly (each from its own
seed, so nothing is kept), reports its peak resident memory
(``resource.getrusage``), and checks the eraser against a float64 reference
computed in one pass over the same chunks from plain sums (mean, second
moments, cross-moments) and the paper's closed form.

``python benchmarks/bench_memory.py [--sizes 1000000 10000000] [--output F]``
"""

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

D, K, CHUNK = 64, 3, 100_000


def chunk(i, rows):
    """Chunk ``i``: features whose class means depend on a 3-class concept."""
    rng = np.random.default_rng(i)
    z = rng.integers(0, K, size=rows)
    X = rng.standard_normal((rows, D))
    X[:, :K] += 0.5 * np.eye(K)[z]
    X[:, K:] += 0.1 * X[:, :1]
    return X, z


def reference_edit(n):
    """The LEACE edit from one-pass float64 sums: ``Sxx^-1/2 P Sxx^1/2``."""
    sx, sz = np.zeros(D), np.zeros(K)
    sxx, sxz = np.zeros((D, D)), np.zeros((D, K))
    for i, start in enumerate(range(0, n, CHUNK)):
        X, z = chunk(i, min(CHUNK, n - start))
        Z = np.eye(K)[z]
        sx += X.sum(0)
        sz += Z.sum(0)
        sxx += X.T @ X
        sxz += X.T @ Z
    mx, mz = sx / n, sz / n
    cxx = sxx / n - np.outer(mx, mx)
    cxz = sxz / n - np.outer(mx, mz)
    evals, evecs = np.linalg.eigh(cxx)
    root = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    inv_root = evecs @ np.diag(1 / np.sqrt(evals)) @ evecs.T
    u, s, _ = np.linalg.svd(inv_root @ cxz, full_matrices=False)
    u = u[:, s > s[0] * 1e-10]
    return root @ u @ u.T @ inv_root


def child(n):
    import resource

    from leace_sklearn import LeaceTransformer

    est = LeaceTransformer()
    for i, start in enumerate(range(0, n, CHUNK)):
        X, z = chunk(i, min(CHUNK, n - start))
        est.partial_fit(X, concept=z)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ours = est.proj_left_ @ est.proj_right_
    error = float(np.max(np.abs(ours - reference_edit(n))))
    print(json.dumps({"n": n, "peak_mib": peak_kib / 1024, "max_abs_diff": error}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**6, 10**7])
    parser.add_argument("--output", help="also write the markdown table here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    lines = [
        "# Streaming partial_fit memory benchmark",
        "",
        f"- run: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}"
        f"; {platform.platform()}; python {platform.python_version()}, "
        f"numpy {np.__version__}",
        f"- d = {D}, k = {K} classes, chunks of {CHUNK} rows generated on the fly;"
        " peak RSS of a fresh process per size (includes the interpreter, "
        "NumPy and one chunk)",
        "",
        "| rows | peak RSS MiB | max abs difference of the edit vs float64 "
        "one-pass reference |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r['n']} | {r['peak_mib']:.1f} | {r['max_abs_diff']:.2e} |" for r in rows
    ]
    peaks = [r["peak_mib"] for r in rows]
    flat = max(peaks) - min(peaks) < 0.1 * min(peaks)
    lines += [
        "",
        f"Peak RSS is {'flat' if flat else 'NOT flat'} in the number of rows "
        f"(spread {max(peaks) - min(peaks):.1f} MiB).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
