"""Torch backend benchmark: torch-CPU vs NumPy, and throughput on a GPU.

Every number is a RATIO measured in one run on the same data, timed
round-robin (see ``bench_core.round_robin``), so that it carries over
between machines and survives a noisy one.

1. CPU: time of the torch backend (tensor input, torch on the CPU) / time of
   the NumPy backend (the same data as an array), for fit and transform.
   Target: <= 1.5.
2. Accelerator (``--gpu-device cuda``, run only where there is one): fit on
   ``--gpu-rows`` rows (default 10^7) of ``--gpu-d`` features (default 4096),
   float32 and bfloat16, in three ways:

   - *resident*: ``fit`` of a tensor already on the device, divided by the
     device's own ``X.T @ X`` on that tensor (the GEMM floor; target: the
     floor is >= 80 % of our time, i.e. ratio <= 1.25);
   - *streamed*: ``partial_fit`` over blocks of host memory (NumPy float32,
     or a CPU bfloat16 tensor), as rows per second, and the same ratio;
   - the speed-up over EleutherAI ``concept-erasure``'s ``LeaceFitter`` on
     the same resident blocks;

   and transform of a resident block / one device matmul ``X @ A`` (A of
   shape (d, k)); target <= 1.5. 10^7 x 4096 float32 rows do not fit in
   host or device memory at once, so the rows come in blocks of
   ``--gpu-block`` rows, generated once and fed repeatedly.

``python benchmarks/bench_torch.py --quick`` runs a small CPU smoke version;
``--gpu-device cpu --gpu-rows 20000 --gpu-d 64`` runs the accelerator section
on the CPU at a toy size, to check the script itself.
"""

import argparse
import datetime
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import Contender, round_robin  # noqa: E402

import leace_sklearn  # noqa: E402
from leace_sklearn import LeaceTransformer  # noqa: E402

try:
    from concept_erasure import LeaceFitter
except ImportError:  # pragma: no cover - the comparison is then skipped
    LeaceFitter = None

CPU_TARGET = 1.5
GPU_FIT_TARGET = 1.25  # the GEMM floor is >= 80 % of fit time
GPU_TRANSFORM_TARGET = 1.5


def make_data(rng, n, d, k, dtype):
    z = rng.integers(0, k, size=n)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X[:, :k] += np.eye(k, dtype=np.float32)[z]
    return X.astype(dtype, copy=False), z


def median_ratio(times, num, den):
    return float(np.median(times[num] / times[den]))


def ms(seconds):
    return f"{1e3 * float(np.median(seconds)):.1f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _cpu_rows(args, rng, n, d, k, dtype):
    rows = []
    X, z = make_data(rng, n, d, k, dtype)
    Xt = torch.from_numpy(X)  # the same memory
    zt = torch.from_numpy(z)
    fitted = LeaceTransformer().fit(X, concept=z)
    fitted_t = LeaceTransformer().fit(Xt, concept=zt)
    times = round_robin(
        {
            "fit numpy": Contender(lambda _: LeaceTransformer().fit(X, concept=z)),
            "fit torch": Contender(lambda _: LeaceTransformer().fit(Xt, concept=zt)),
            "transform numpy": Contender(lambda _: fitted.transform(X)),
            "transform torch": Contender(lambda _: fitted_t.transform(Xt)),
        },
        args.repeat,
    )
    for what in ("fit", "transform"):
        ratio = median_ratio(times, f"{what} torch", f"{what} numpy")
        rows.append(
            (
                n,
                d,
                k,
                np.dtype(dtype).name,
                what,
                ms(times[f"{what} numpy"]),
                ms(times[f"{what} torch"]),
                f"{ratio:.2f}",
                f"<= {CPU_TARGET}",
                "yes" if ratio <= CPU_TARGET else "no",
            )
        )
    return rows


def cpu_section(args):
    rng = np.random.default_rng(0)
    configs = (
        [(20_000, 64, 2)]
        if args.quick
        else [
            (100_000, 64, 2),
            (100_000, 64, 10),
            (100_000, 256, 2),
            (100_000, 256, 10),
            (20_000, 1024, 10),
        ]
    )
    rows = []
    for n, d, k in configs:
        for dtype in (np.float64, np.float32):
            rows += _cpu_rows(args, rng, n, d, k, dtype)
            print(f"  cpu n={n} d={d} k={k} {np.dtype(dtype).name} done", flush=True)
    header = (
        "n", "d", "k", "dtype", "step", "numpy ms", "torch-cpu ms", "ratio",
        "target", "ok",
    )  # fmt: skip
    return table(header, rows)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _gpu_rows(args, device, dtype_name, rng, d, k, block, n_blocks):
    n = args.gpu_rows
    rows = []
    tdtype = getattr(torch, dtype_name)
    host32, z = make_data(rng, block, d, k, np.float32)
    host = torch.from_numpy(host32).to(tdtype)
    if device.type == "cuda":
        host = host.pin_memory()
    host_in = host32 if dtype_name == "float32" else host
    zt = torch.from_numpy(z).to(device)
    resident = host.to(device)
    A = torch.randn(d, k, device=device, dtype=tdtype)

    def floor(_):
        out = resident.T @ resident
        _sync(device)
        return out

    def fit_resident(_):
        est = LeaceTransformer().fit(resident, concept=zt)
        _sync(device)
        return est

    def fit_streamed(_):
        est = LeaceTransformer(device=str(device))
        if device.type == "cpu":
            est.set_params(device=None)
            first = torch.as_tensor(host_in[:1])  # pins the torch backend
            est.partial_fit(first, concept=z[:1])
        for _ in range(n_blocks):
            est.partial_fit(host_in, concept=z)
        _sync(device)
        return est

    fitted = LeaceTransformer().fit(resident, concept=zt)

    def transform(_):
        out = fitted.transform(resident)
        _sync(device)
        return out

    def matmul(_):
        out = resident @ A
        _sync(device)
        return out

    contenders = {
        "floor": Contender(floor),
        "fit resident": Contender(fit_resident),
        "transform": Contender(transform),
        "matmul": Contender(matmul),
    }
    if LeaceFitter is not None:
        x_ref = resident.float()
        z_ref = torch.nn.functional.one_hot(zt, k).float()

        def reference(_):
            fitter = LeaceFitter(d, k, device=device, dtype=torch.float32)
            fitter.update(x_ref, z_ref)
            out = fitter.eraser
            _sync(device)
            return out

        contenders["concept-erasure"] = Contender(reference)
    times = round_robin(contenders, args.repeat)
    streamed = round_robin({"stream": Contender(fit_streamed)}, 1)["stream"]
    fit_ratio = median_ratio(times, "fit resident", "floor")
    transform_ratio = median_ratio(times, "transform", "matmul")
    rows.append(
        (
            dtype_name,
            "fit, resident block",
            ms(times["fit resident"]),
            ms(times["floor"]) + " (X.T@X)",
            f"{fit_ratio:.2f}",
            f"<= {GPU_FIT_TARGET}",
            "yes" if fit_ratio <= GPU_FIT_TARGET else "no",
        )
    )
    per_block = float(streamed[0]) / n_blocks
    stream_ratio = per_block / float(np.median(times["floor"]))
    rows.append(
        (
            dtype_name,
            f"fit, {n} rows streamed from host ({n / float(streamed[0]):.3g} rows/s)",
            f"{1e3 * per_block:.1f} per block",
            ms(times["floor"]) + " (X.T@X)",
            f"{stream_ratio:.2f}",
            "report",
            "-",
        )
    )
    rows.append(
        (
            dtype_name,
            "transform, resident block",
            ms(times["transform"]),
            ms(times["matmul"]) + " (X@A)",
            f"{transform_ratio:.2f}",
            f"<= {GPU_TRANSFORM_TARGET}",
            "yes" if transform_ratio <= GPU_TRANSFORM_TARGET else "no",
        )
    )
    if "concept-erasure" in times:
        speedup = median_ratio(times, "concept-erasure", "fit resident")
        rows.append(
            (
                dtype_name,
                "fit speed-up over concept-erasure (float32 copy for it)",
                ms(times["fit resident"]),
                ms(times["concept-erasure"]) + " (LeaceFitter)",
                f"{speedup:.2f}x",
                "report",
                "-",
            )
        )
    return rows


def gpu_section(args):
    device = torch.device(args.gpu_device)
    n, d, k, block = args.gpu_rows, args.gpu_d, 2, min(args.gpu_block, args.gpu_rows)
    n_blocks = -(-n // block)
    rng = np.random.default_rng(1)
    rows, notes = [], []
    for dtype_name in ("float32", "bfloat16"):
        rows += _gpu_rows(args, device, dtype_name, rng, d, k, block, n_blocks)
        print(f"  {device} {dtype_name} done", flush=True)
    notes.append(
        f"- blocks of {block} rows x {d} features, {n_blocks} blocks = {n} rows; "
        f"device: {_device_name(device)}"
    )
    header = ("dtype", "measure", "ours ms", "baseline ms", "ratio", "target", "ok")
    return "\n".join(notes) + "\n\n" + table(header, rows)


def _device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small CPU smoke run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument(
        "--gpu-device",
        default="cuda" if torch.cuda.is_available() else None,
        help="run the accelerator section on this torch device",
    )
    parser.add_argument("--gpu-rows", type=int, default=10_000_000)
    parser.add_argument("--gpu-d", type=int, default=4096)
    parser.add_argument("--gpu-block", type=int, default=250_000)
    parser.add_argument("--output", help="also write the markdown here")
    args = parser.parse_args(argv)

    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    parts = [
        "# Torch backend benchmark",
        "",
        f"- started: {now}; platform: {platform.platform()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, torch "
        f"{torch.__version__}, leace_sklearn {leace_sklearn.__version__}",
        f"- CPU threads: {args.threads} (threadpool_limits and "
        f"torch.set_num_threads); repetitions: {args.repeat}; medians of "
        "per-repetition ratios",
    ]
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        if not args.skip_cpu:
            parts += [
                "",
                "## 1. CPU: torch backend / NumPy backend (same data)",
                "",
                cpu_section(args),
            ]
    if args.gpu_device:
        parts += [
            "",
            f"## 2. Accelerator ({args.gpu_device})",
            "",
            gpu_section(args),
        ]
    else:
        parts += ["", "## 2. Accelerator", "", "No CUDA device: section skipped."]
    text = "\n".join(parts) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
