"""Core benchmark of LeaceTransformer: speed ratios, memory and accuracy.

Every number reported is a RATIO measured in one run, on the same data, under
the same BLAS thread count, so that it carries over between machines better
than an absolute time does:

1. fit time / time of ``X.T @ X`` (NumPy sends it to BLAS SYRK);
2. transform time / (time of ``X @ A``, A of shape (d, k), + time of
   ``X.copy()``), returning a new array and in place (``copy=False``);
3. speed-up over EleutherAI's ``concept-erasure`` (torch, CPU), fit and
   transform: their time / our time;
4. peak extra memory of fit and transform, measured with tracemalloc;
5. accuracy of the erasure on ill-conditioned float32 / float64 data with a
   large offset: max |Cov(X', Z)| / max |Cov(X, Z)|.

Timings are round-robin: in each repetition every contender of a
configuration runs once, in an order that rotates between repetitions, so
that a slow phase of a noisy machine hits all of them alike. Each ratio is
the median over repetitions of the ratio measured within one repetition.
Before each timed call, as much memory as the data is faulted in and freed
(untimed; see ``refresh_memory``), so that every call that allocates a new
array starts from the same state.

Run ``python benchmarks/bench_core.py --help`` for the options;
``--quick`` is a smoke configuration that runs in well under a minute.
"""

import argparse
import copy
import datetime
import functools
import gc
import hashlib
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np
import scipy
import sklearn
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import leace_sklearn
from leace_sklearn import LeaceTransformer

try:
    import concept_erasure
    from concept_erasure import LeaceFitter
except ImportError:  # pragma: no cover - the comparison is then skipped
    concept_erasure = None
    LeaceFitter = None

MiB = 2**20

# Targets (see benchmarks/README.md for what they mean).
FIT_TARGET = {"small_d": 2.5, "float64": 1.4, "float32": 1.6, "n_10d": 1.6}
TRANSFORM_TARGET = {True: 2.0, False: 1.3}  # keyed by copy
SPEEDUP_TARGET = {"fit": 2.0, "transform": 3.0}
# Fit may use 64 MiB of chunk buffers plus a few (d+k) x (d+k) float64
# matrices: we allow eight of them.
FIT_MEM_FIXED = 64 * MiB
FIT_MEM_PER_P2 = 8 * 8
# Transform: one output array (copy=True) or nothing (copy=False), plus this
# much scratch (the library's chunk buffer is 1 MiB).
TRANSFORM_MEM_SLACK = 4 * MiB
ACCURACY_TARGET = {"float32": 1e-6, "float64": 1e-12}


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def make_features(rng, n, d, *, scales=None, chunk=65536):
    """``n x d`` float64 standard normal rows times a random mixing matrix."""
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    if scales is not None:
        mixing = mixing * scales[None, :]
    X = np.empty((n, d))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        np.matmul(rng.standard_normal((stop - start, d)), mixing, out=X[start:stop])
    return X


def add_concept(rng, base, k, *, shift_scale=0.5, scales=None, offset=None):
    """Integer concept ``z`` with k classes and ``base`` + class-mean shifts."""
    n, d = base.shape
    z = rng.integers(0, k, size=n)
    shifts = shift_scale * rng.standard_normal((k, d))
    if scales is not None:
        shifts *= scales[None, :]
    if offset is not None:
        shifts += offset[None, :]
    X = base + shifts[z]
    return X, z


def one_hot(z, k, dtype):
    out = np.zeros((z.shape[0], k), dtype=dtype)
    out[np.arange(z.shape[0]), z] = 1
    return out


# --------------------------------------------------------------------------
# Timing and memory
# --------------------------------------------------------------------------


@dataclass
class Contender:
    """``run(setup())`` is timed; ``setup`` (optional) is not."""

    run: object
    setup: object = None
    times: list = field(default_factory=list)


def refresh_memory(nbytes):
    """Fault in ``nbytes`` of fresh memory and free it again.

    A guest that reports free pages to its host (Linux free page reporting,
    about 2 s after they are freed, as on the VM the results were measured
    on) gets them back only through a slower page fault: faulting in memory
    that has been free that long costs about twice as much. In a fixed
    rotation the contender that runs after a long one (``transform`` after
    ``X.T @ X``) would pay that alone. Done before every timed call, this
    gives every allocation the same, recently freed memory.
    """
    if nbytes > 0:
        block = np.empty(nbytes, dtype=np.uint8)
        block[::4096] = 1  # one write per page faults it in
        del block


def round_robin(contenders, repeat, refresh_bytes=0):
    """Time every contender once per repetition, in a rotating order.

    ``refresh_bytes`` of memory go through ``refresh_memory`` before each
    timed call (after the contender's setup).
    """
    names = list(contenders)
    for rep in range(repeat):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            c = contenders[name]
            arg = c.setup() if c.setup is not None else None
            refresh_memory(refresh_bytes)
            gc.disable()
            try:
                t0 = time.perf_counter()
                result = c.run(arg)
                elapsed = time.perf_counter() - t0
            finally:
                gc.enable()
            del result, arg
            c.times.append(elapsed)
    return {name: np.asarray(c.times) for name, c in contenders.items()}


def peak_extra_bytes(fn):
    """Peak memory allocated by ``fn()`` beyond what existed before it.

    NumPy reports its data buffers to tracemalloc, so this counts arrays as
    well as Python objects; what ``fn`` returns is included.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def ms(seconds):
    return f"{1e3 * float(np.median(seconds)):.1f}"


def yes_no(ok):
    return "yes" if ok else "no"


# --------------------------------------------------------------------------
# One configuration
# --------------------------------------------------------------------------


def bench_config(X, z, k, repeat, with_reference):
    """Time fit/transform and their baselines on ``X``; return median ratios."""
    n, d = X.shape
    dtype = X.dtype
    model = LeaceTransformer().fit(X, concept=z)
    model_inplace = copy.deepcopy(model).set_params(copy=False)
    A = np.ascontiguousarray(np.ones((d, k), dtype=dtype) / d)

    check = X.copy()
    if model_inplace.transform(check) is not check:
        raise RuntimeError("transform(copy=False) did not work in place")
    del check

    contenders = {
        "fit": Contender(lambda _: LeaceTransformer().fit(X, concept=z)),
        "gram": Contender(lambda _: X.T @ X),
        "transform": Contender(lambda _: model.transform(X)),
        "transform_inplace": Contender(
            lambda Xc: model_inplace.transform(Xc), setup=X.copy
        ),
        "matmul": Contender(lambda _: X @ A),
        "copy": Contender(lambda _: X.copy()),
    }
    if with_reference:
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        xt = torch.from_numpy(X)
        zt = torch.from_numpy(one_hot(z, k, dtype))
        eraser = LeaceFitter(d, k, dtype=tdtype, method="leace").update(xt, zt).eraser

        def ref_fit(_):
            return LeaceFitter(d, k, dtype=tdtype, method="leace").update(xt, zt).eraser

        contenders["ref_fit"] = Contender(ref_fit)
        contenders["ref_transform"] = Contender(lambda _: eraser(xt))

    t = round_robin(contenders, repeat, refresh_bytes=X.nbytes)
    base = t["matmul"] + t["copy"]
    res = {
        "t": t,
        "fit_ratio": np.median(t["fit"] / t["gram"]),
        "tr_ratio": np.median(t["transform"] / base),
        "tr_inplace_ratio": np.median(t["transform_inplace"] / base),
    }
    if with_reference:
        res["speedup_fit"] = np.median(t["ref_fit"] / t["fit"])
        res["speedup_tr"] = np.median(t["ref_transform"] / t["transform"])

    # Memory, outside the timed region.
    res["mem_fit"] = peak_extra_bytes(lambda: LeaceTransformer().fit(X, concept=z))
    res["mem_tr"] = peak_extra_bytes(lambda: model.transform(X))
    # The copy is made by partial(), before the measurement starts.
    res["mem_tr_inplace"] = peak_extra_bytes(
        functools.partial(model_inplace.transform, X.copy())
    )
    return res


def fit_target(n, d, dtype):
    if n <= 10 * d:
        return FIT_TARGET["n_10d"]
    if d < 256:
        return FIT_TARGET["small_d"]
    return FIT_TARGET[np.dtype(dtype).name]


# --------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------


def cross_cov(X, Zf, chunk=65536):
    """``Cov(X, Z)`` in float64, two passes, chunk by chunk."""
    n, d = X.shape
    mx = np.zeros(d)
    for s in range(0, n, chunk):
        mx += X[s : s + chunk].sum(axis=0, dtype=np.float64)
    mx /= n
    mz = Zf.mean(axis=0)
    cov = np.zeros((d, Zf.shape[1]))
    var = np.zeros(d)
    for s in range(0, n, chunk):
        xc = X[s : s + chunk].astype(np.float64) - mx
        cov += xc.T @ (Zf[s : s + chunk] - mz)
        var += np.einsum("ij,ij->j", xc, xc)
    return cov / n, var / n


def bench_accuracy(rng, n, d, k):
    scales = np.logspace(-3, 3, d)
    offset = 1e4 * rng.uniform(0.5, 1.5, size=d)  # mean 1e4
    base = make_features(rng, n, d, scales=scales)
    X64, z = add_concept(rng, base, k, scales=scales, offset=offset)
    del base
    Zf = one_hot(z, k, np.float64)
    zvar = Zf.var(axis=0)
    rows = []
    for dtype in (np.float32, np.float64):
        X = X64.astype(dtype) if dtype != np.float64 else X64
        cov_in, _ = cross_cov(X, Zf)
        Xe = LeaceTransformer().fit(X, concept=z).transform(X)
        cov_out, var_out = cross_cov(Xe, Zf)
        del Xe
        denom = np.sqrt(np.maximum(var_out, 1e-300))[:, None] * np.sqrt(zvar)[None]
        rows.append(
            {
                "dtype": np.dtype(dtype).name,
                "cov_in": np.abs(cov_in).max(),
                "cov_out": np.abs(cov_out).max(),
                "ratio": np.abs(cov_out).max() / np.abs(cov_in).max(),
                "corr": np.abs(cov_out / denom).max(),
            }
        )
        del X
    return rows


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def machine_info(args):
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    lines = [
        f"- started: {now}",
        f"- platform: {platform.platform()}; CPU: {cpu}; "
        f"os.cpu_count(): {os.cpu_count()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"torch {torch.__version__}, concept-erasure "
        f"{getattr(concept_erasure, '__version__', _dist_version('concept-erasure'))}"
        f", leace_sklearn {leace_sklearn.__version__} ({_git_revision()})",
        f"- threads: {args.threads} (threadpool_limits and torch.set_num_threads);"
        f" repetitions: {args.repeat} (n*d <= {args.small_size:.0e}: "
        f"{args.small_repeat}; n*d >= {args.large_size:.0e}: {args.large_repeat})",
        "- BLAS / OpenMP (threadpoolctl.threadpool_info()):",
    ]
    if args.large_repeat < args.repeat:
        lines.insert(
            -1,
            f"- note: the largest configurations (n*d >= {args.large_size:.0e}) "
            f"use {args.large_repeat} repetitions instead of {args.repeat}, to "
            "keep the full run under 15 minutes.",
        )
    for lib in threadpool_info():
        keys = (
            "user_api",
            "internal_api",
            "version",
            "num_threads",
            "threading_layer",
            "architecture",
        )
        desc = ", ".join(f"{key}={lib[key]}" for key in keys if lib.get(key))
        lines.append(f"  - {os.path.basename(lib['filepath'])}: {desc}")
    return "\n".join(lines)


def _library_digest():
    """Hash of the library's source files, to notice edits during the run."""
    root = os.path.dirname(os.path.abspath(leace_sklearn.__file__))
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as fh:
                    digest.update(name.encode() + fh.read())
    return digest.hexdigest()


def _git_revision():
    """Commit of the checkout the library was imported from, if any."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(leace_sklearn.__file__)))
    try:
        rev = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "leace_sklearn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"git {rev}" + (", library modified" if dirty else "")


def _dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - purely informational
        return "not installed"


def configurations(quick):
    if quick:
        sizes = [(20_000, 64), (2_560, 256)]
    else:
        sizes = [
            (100_000, 64),
            (100_000, 256),
            (100_000, 1024),
            (2_560, 256),
            (10_240, 1024),
        ]
    return sizes, (2, 10), (np.float64, np.float32)


def warm_up(with_reference):
    """Run every code path once on tiny data (imports, first-call costs)."""
    rng = np.random.default_rng(1)
    for dtype in (np.float64, np.float32):
        X = rng.standard_normal((500, 8)).astype(dtype)
        z = rng.integers(0, 2, 500)
        m = LeaceTransformer().fit(X, concept=z)
        m.transform(X)
        copy.deepcopy(m).set_params(copy=False).transform(X.copy())
        if with_reference:
            tdtype = torch.float32 if dtype == np.float32 else torch.float64
            xt = torch.from_numpy(X)
            e = (
                LeaceFitter(8, 2, dtype=tdtype, method="leace")
                .update(xt, torch.from_numpy(one_hot(z, 2, dtype)))
                .eraser
            )
            e(xt)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny smoke configuration (< 30 s)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS / torch threads (default 1)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions per configuration (default 5; 3 quick)",
    )
    parser.add_argument(
        "--large-repeat",
        type=int,
        default=None,
        help="repetitions for configurations with n*d >= --large-size "
        "(default 3, to keep the full run under 15 minutes; quick: --repeat)",
    )
    parser.add_argument(
        "--large-size",
        type=float,
        default=5e7,
        help="n*d from which --large-repeat applies (default 5e7)",
    )
    parser.add_argument(
        "--small-repeat",
        type=int,
        default=None,
        help="repetitions for the cheap configurations, n*d <= --small-size, "
        "whose millisecond timings are the noisiest (default 3 * --repeat)",
    )
    parser.add_argument(
        "--small-size",
        type=float,
        default=2e7,
        help="n*d up to which --small-repeat applies (default 2e7)",
    )
    parser.add_argument(
        "--accuracy-n",
        type=int,
        default=None,
        help="rows of the accuracy data (default 10**6; 10**5 quick)",
    )
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the concept-erasure comparison",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="also write the markdown to this file")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.large_repeat is None:
        args.large_repeat = args.repeat if args.quick else min(args.repeat, 3)
    if args.small_repeat is None:
        args.small_repeat = 3 * args.repeat
    if args.accuracy_n is None:
        args.accuracy_n = 10**5 if args.quick else 10**6
    with_reference = not args.no_reference and LeaceFitter is not None

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    with threadpool_limits(args.threads):
        parts = run(args, with_reference)
    elapsed = time.perf_counter() - start
    parts.append(f"Total wall time: {elapsed:.0f} s.")
    text = "\n\n".join(parts) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
    return 0


def _slower_summary(ref_rows):
    slow = [r for r in ref_rows if float(r[7]) < 1.0]
    if not slow:
        return "none."
    items = ", ".join(
        f"{r[4]} n={r[0]} d={r[1]} k={r[2]} {r[3]} ({r[7]})" for r in slow
    )
    return f"{len(slow)} of {len(ref_rows)}: {items}."


def repeats_for(n, d, args):
    if n * d >= args.large_size:
        return args.large_repeat
    if n * d <= args.small_size:
        return args.small_repeat
    return args.repeat


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(args, with_reference):
    # The header describes the code as imported now, at the start of the run.
    header = machine_info(args)
    revision = _git_revision()
    digest = _library_digest()
    rng = np.random.default_rng(args.seed)
    warm_up(with_reference)
    # Move everything allocated so far (torch, scikit-learn, ...) out of the
    # collector's reach, so that the collections between timings are cheap.
    gc.collect()
    gc.freeze()
    sizes, ks, dtypes = configurations(args.quick)

    fit_rows, tr_rows, ref_rows, mem_rows = [], [], [], []
    n_ok = n_checks = 0

    def check(ok):
        nonlocal n_ok, n_checks
        n_checks += 1
        n_ok += bool(ok)
        return yes_no(ok)

    for n, d in sizes:
        base = make_features(rng, n, d)
        for k in ks:
            X64, z = add_concept(rng, base, k)
            for dtype in dtypes:
                X = X64 if dtype == np.float64 else X64.astype(dtype)
                name = np.dtype(dtype).name
                repeat = repeats_for(n, d, args)
                log(f"n={n} d={d} k={k} {name} repeat={repeat} ...")
                r = bench_config(X, z, k, repeat, with_reference)
                t = r["t"]
                key = [n, d, k, name]

                target = fit_target(n, d, dtype)
                fit_rows.append(
                    key
                    + [
                        repeat,
                        ms(t["fit"]),
                        ms(t["gram"]),
                        f"{r['fit_ratio']:.2f}",
                        f"<= {target}",
                        check(r["fit_ratio"] <= target),
                    ]
                )
                base_ms = ms(t["matmul"] + t["copy"])
                for copy_, tname, ratio in (
                    (True, "transform", r["tr_ratio"]),
                    (False, "transform_inplace", r["tr_inplace_ratio"]),
                ):
                    target = TRANSFORM_TARGET[copy_]
                    tr_rows.append(
                        key
                        + [
                            f"copy={copy_}",
                            ms(t[tname]),
                            base_ms,
                            f"{ratio:.2f}",
                            f"<= {target}",
                            check(ratio <= target),
                        ]
                    )
                if with_reference:
                    for op, ours, theirs, sp in (
                        ("fit", "fit", "ref_fit", r["speedup_fit"]),
                        ("transform", "transform", "ref_transform", r["speedup_tr"]),
                    ):
                        target = SPEEDUP_TARGET[op]
                        ref_rows.append(
                            key
                            + [
                                op,
                                ms(t[theirs]),
                                ms(t[ours]),
                                f"{sp:.2f}",
                                f">= {target}",
                                check(sp >= target),
                            ]
                        )

                limit = FIT_MEM_FIXED + FIT_MEM_PER_P2 * (d + k) ** 2
                mem_rows.append(
                    key
                    + [
                        "fit",
                        f"{r['mem_fit'] / MiB:.1f}",
                        f"<= 64 + 64(d+k)^2 B = {limit / MiB:.1f}",
                        check(r["mem_fit"] <= limit),
                    ]
                )
                out_bytes = X.nbytes
                limit = out_bytes + TRANSFORM_MEM_SLACK
                mem_rows.append(
                    key
                    + [
                        "transform copy=True",
                        f"{r['mem_tr'] / MiB:.1f}",
                        f"<= output {out_bytes / MiB:.1f} + 4 = {limit / MiB:.1f}",
                        check(r["mem_tr"] <= limit),
                    ]
                )
                limit = TRANSFORM_MEM_SLACK
                mem_rows.append(
                    key
                    + [
                        "transform copy=False",
                        f"{r['mem_tr_inplace'] / MiB:.1f}",
                        f"<= {limit / MiB:.0f}",
                        check(r["mem_tr_inplace"] <= limit),
                    ]
                )
                del X, r, t
            del X64, z
            gc.collect()
        del base
        gc.collect()

    log(f"accuracy n={args.accuracy_n} ...")
    acc = bench_accuracy(rng, args.accuracy_n, 64, 2)
    acc_rows = []
    for row in acc:
        target = ACCURACY_TARGET[row["dtype"]]
        acc_rows.append(
            [
                row["dtype"],
                args.accuracy_n,
                64,
                2,
                f"{row['cov_in']:.3g}",
                f"{row['cov_out']:.3g}",
                f"{row['ratio']:.2e}",
                f"{row['corr']:.2e}",
                f"<= {target:.0e}",
                check(row["ratio"] <= target),
            ]
        )

    key = ["n", "d", "k", "dtype"]
    parts = [
        "# LeaceTransformer core benchmark",
        header,
        "## 1. fit time / `X.T @ X` time (SYRK on the same array)\n\n"
        + table(
            key + ["repeat", "fit ms", "X.T@X ms", "ratio", "target", "ok"], fit_rows
        ),
        "## 2. transform time / (`X @ A` time + `X.copy()` time), A is (d, k)\n\n"
        "copy=False overwrites a fresh copy of X made outside the timed region.\n\n"
        + table(
            key + ["mode", "transform ms", "X@A + copy ms", "ratio", "target", "ok"],
            tr_rows,
        ),
    ]
    if with_reference:
        parts.append(
            "## 3. speed-up over concept-erasure (torch CPU): their time / ours\n\n"
            'Theirs: `LeaceFitter(d, k, dtype=..., method="leace")` (its '
            "defaults: shrinkage, trace constraint), `.update(x, z_onehot)` in "
            "one call, `.eraser`; transform `eraser(x)`. Ours: "
            "`LeaceTransformer().fit(X, concept=z)` with integer z; "
            "`transform(X)` (copy=True).\n\n"
            + table(
                key + ["op", "theirs ms", "ours ms", "speed-up", "target", "ok"],
                ref_rows,
            )
            + "\n\nSlower than concept-erasure (speed-up < 1, never wanted): "
            + _slower_summary(ref_rows)
        )
    else:
        parts.append(
            "## 3. speed-up over concept-erasure\n\nSkipped "
            "(concept-erasure not installed or --no-reference)."
        )
    parts += [
        "## 4. peak extra memory (tracemalloc), MiB\n\n"
        "Beyond the input; the fitted estimator / returned array included.\n\n"
        + table(key + ["op", "extra MiB", "target MiB", "ok"], mem_rows),
        "## 5. accuracy: max |Cov(X', Z)| / max |Cov(X, Z)|\n\n"
        "Feature scales 1e-3..1e3 after a random mixing, offset of mean 1e4, "
        "Z one-hot, covariances in float64 chunk by chunk. `max abs corr` is the "
        "largest |correlation| left between an output column and a concept "
        "column (informative, no target).\n\n"
        + table(
            [
                "dtype",
                "n",
                "d",
                "k",
                "max abs Cov(X,Z)",
                "max abs Cov(X',Z)",
                "ratio",
                "max abs corr",
                "target",
                "ok",
            ],
            acc_rows,
        ),
        f"**{n_ok} of {n_checks} checks met their target.**",
    ]
    if _library_digest() != digest:
        parts.insert(
            2,
            f"**Warning: the library's source files changed during the run (now "
            f"{_git_revision()}); the numbers are for the code imported at the "
            f"start, {revision}.**",
        )
    return parts


if __name__ == "__main__":
    sys.exit(main())
