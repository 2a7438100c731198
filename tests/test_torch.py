"""The torch backend: same guarantee, same numbers, the caller's kind of array.

The ``backend`` fixture runs each test on NumPy, torch on the CPU and torch
on CUDA; CUDA is skipped where there is no GPU (CI proves torch-CPU).
"""

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import leakage, make_concept_data, one_hot

from leace_sklearn import LeaceTransformer

torch = pytest.importorskip("torch")

CUDA = torch.cuda.is_available()


class _Backend:
    def __init__(self, name, device):
        self.name, self.device = name, device

    def array(self, X):
        """X as this backend takes it: NumPy, or a tensor on the device."""
        if self.name == "numpy":
            return X
        return torch.as_tensor(X, device=self.device)

    def host(self, out):
        if not torch.is_tensor(out):
            return out
        out = out.detach().cpu()
        return (out.float() if out.dtype.itemsize < 4 else out).numpy()


@pytest.fixture(
    params=[
        "numpy",
        "torch-cpu",
        pytest.param(
            "torch-cuda",
            marks=pytest.mark.skipif(not CUDA, reason="no CUDA GPU available"),
        ),
    ]
)
def backend(request):
    return {
        "numpy": _Backend("numpy", "cpu"),
        "torch-cpu": _Backend("torch", "cpu"),
        "torch-cuda": _Backend("torch", "cuda:0"),
    }[request.param]


@pytest.fixture
def data(rng):
    return make_concept_data(rng, n=2000, d=12, k=4, offset=3.0)


PARAMS = [
    {},
    {"method": "orth"},
    {"affine": False},
    {"shrinkage": "auto"},
    {"alpha": 0.5},
]


@pytest.mark.parametrize("params", PARAMS)
def test_guarantee_and_equivalence_float64(backend, data, params):
    X, z = data
    est = LeaceTransformer(**params).fit(backend.array(X), concept=z)
    assert est.backend_ == backend.name
    reference = LeaceTransformer(**params).fit(X, concept=z)
    for name in ("mean_", "proj_left_", "proj_right_"):
        value = getattr(est, name)
        assert type(value) is np.ndarray and value.dtype == np.float64
    edit = est.proj_left_ @ est.proj_right_
    np.testing.assert_allclose(
        edit, reference.proj_left_ @ reference.proj_right_, atol=1e-10
    )
    out = est.transform(backend.array(X))
    np.testing.assert_allclose(backend.host(out), reference.transform(X), atol=1e-10)
    if params.get("alpha", 1.0) == 1.0:
        assert leakage(X, backend.host(out), one_hot(z)) < 1e-10


def test_equivalence_float32(backend, data):
    X, z = data
    X32 = X.astype(np.float32)
    est = LeaceTransformer().fit(backend.array(X32), concept=z)
    reference = LeaceTransformer().fit(X32, concept=z)
    out = est.transform(backend.array(X32))
    assert out.dtype == (np.float32 if backend.name == "numpy" else torch.float32)
    np.testing.assert_allclose(
        backend.host(out), reference.transform(X32), rtol=1e-4, atol=1e-4
    )
    assert leakage(X, backend.host(out), one_hot(z)) < 1e-5


@pytest.mark.parametrize("method", ["leace", "orth"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_keeps_the_guarantee_to_its_precision(
    backend, data, dtype, method
):
    if backend.name == "numpy":
        pytest.skip("NumPy has no bfloat16; half tensors are a torch feature")
    X, z = data
    half = torch.as_tensor(X, device=backend.device).to(getattr(torch, dtype))
    est = LeaceTransformer(method=method).fit(half, concept=z)
    out = est.transform(half)
    assert out.dtype == half.dtype and out.device == half.device
    # The statistics are those of the rounded input, computed as for
    # float32 input: equal to a float64 fit to float32 accuracy.
    exact = LeaceTransformer(method=method).fit(half.double().cpu().numpy(), concept=z)
    np.testing.assert_allclose(
        est.proj_left_ @ est.proj_right_,
        exact.proj_left_ @ exact.proj_right_,
        rtol=1e-4,
        atol=1e-4,
    )
    # What remains is the rounding of the output to the half dtype.
    eps = float(torch.finfo(half.dtype).eps)
    # The rounding errors are nearly independent of z: far below eps.
    assert leakage(X, backend.host(out), one_hot(z)) < 0.1 * eps
    assert leakage(X, half.float().cpu().numpy(), one_hot(z)) > 0.5


@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_generic_statistics_kernel_matches_numpy(rng, dtype, cross):
    """The array-API kernel (what a GPU runs) equals the NumPy one."""
    import array_api_compat.numpy as xp_numpy
    import array_api_compat.torch as xp_torch

    from leace_sklearn._concept import CATEGORICAL, NUMERIC, EncodedConcept
    from leace_sklearn._stats import batch_moments

    n = 3000
    X = (rng.normal(size=(n, 7)) * [1, 5, 1, 1, 20, 1, 1] + 40).astype(dtype)
    codes, age = rng.integers(0, 3, size=n), rng.normal(40.0, 9.0, size=n)
    w = rng.uniform(0, 2, size=n)

    def moments(xp, X, w):
        concept = EncodedConcept([codes, age], [3, 1], [CATEGORICAL, NUMERIC])
        if xp is xp_torch:
            concept = concept.to(xp, "cpu")
        return batch_moments(xp, X, concept, w, cross=cross)

    ours = moments(xp_torch, torch.from_numpy(X), torch.from_numpy(w))
    reference = moments(xp_numpy, X, w)
    assert ours.cross == reference.cross == cross
    assert ours.n_samples == n
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(ours.weight, reference.weight, rtol=rtol)
    np.testing.assert_allclose(ours.mean.numpy(), reference.mean, rtol=rtol)
    scale = np.abs(reference.comoment).max()
    np.testing.assert_allclose(
        ours.comoment.numpy(), reference.comoment, atol=rtol * scale
    )
    np.testing.assert_allclose(
        ours.comoment_diagonal(xp_torch).numpy(),
        reference.comoment_diagonal(xp_numpy),
        rtol=10 * rtol,
    )


def test_partial_fit_equals_fit_and_stays_on_device(backend, data):
    X, z = data
    est = LeaceTransformer()
    for rows in np.array_split(np.arange(len(z)), 5):
        est.partial_fit(backend.array(X[rows]), concept=z[rows])
        if backend.name == "torch":
            assert torch.is_tensor(est._moments.comoment)
            assert est._moments.comoment.device == torch.device(backend.device)
    reference = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_allclose(
        est.proj_left_ @ est.proj_right_,
        reference.proj_left_ @ reference.proj_right_,
        atol=1e-10,
    )


def test_torch_backend_streams_numpy_and_sparse_batches(data):
    X, z = data
    est = LeaceTransformer().partial_fit(torch.as_tensor(X[:500]), concept=z[:500])
    # Later batches may be NumPy or sparse: they are moved to the device.
    est.partial_fit(X[500:1200], concept=z[500:1200])
    est.partial_fit(sp.csr_matrix(X[1200:]), concept=z[1200:])
    assert est.backend_ == "torch"
    reference = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_allclose(est.proj_left_, reference.proj_left_, atol=1e-10)


@pytest.mark.parametrize("kind", ["numpy", "tensor"])
def test_output_is_the_kind_given(backend, data, kind):
    X, z = data
    est = LeaceTransformer().fit(backend.array(X), concept=z)
    if kind == "numpy":
        out = est.transform(X)
        assert type(out) is np.ndarray and out.dtype == np.float64
    else:
        given = torch.as_tensor(X, dtype=torch.float32)
        out = est.transform(given)
        assert torch.is_tensor(out)
        assert out.device == given.device and out.dtype == given.dtype


def test_tensor_input_with_weights_and_concept_tensor(backend, data, rng):
    X, z = data
    w = rng.integers(0, 3, size=len(z)).astype(float)
    est = LeaceTransformer().fit(
        backend.array(X),
        concept=torch.as_tensor(z, device=backend.device),
        sample_weight=torch.as_tensor(w),
    )
    reference = LeaceTransformer().fit(X, concept=z, sample_weight=w)
    np.testing.assert_allclose(est.proj_left_, reference.proj_left_, atol=1e-10)
    assert leakage(X, reference.transform(X), one_hot(z), w) < 1e-10


def test_device_parameter(data):
    X, z = data
    tensor = torch.as_tensor(X)
    as_numpy = LeaceTransformer(device="cpu").fit(tensor, concept=z)
    assert (as_numpy.backend_, as_numpy.device_) == ("numpy", "cpu")
    assert torch.is_tensor(as_numpy.transform(tensor))
    auto = LeaceTransformer(device="auto").fit(X, concept=z)
    assert auto.backend_ == ("torch" if CUDA else "numpy")
    follows = LeaceTransformer().fit(tensor, concept=z)
    assert (follows.backend_, follows.device_) == ("torch", "cpu")
    with pytest.raises(ValueError, match="device must be None, 'cpu'"):
        LeaceTransformer(device="tpu").fit(X, concept=z)
    with pytest.raises(ValueError, match="device"):
        LeaceTransformer(device=3).fit(X, concept=z)


@pytest.mark.skipif(CUDA, reason="checks the error raised without a GPU")
def test_cuda_without_gpu_is_a_clear_error(data):
    X, z = data
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        LeaceTransformer(device="cuda").fit(X, concept=z)


@pytest.mark.skipif(not CUDA, reason="no CUDA GPU available")
def test_cuda_device_streams_numpy(data):
    X, z = data
    est = LeaceTransformer(device="cuda").fit(X, concept=z)
    assert est.backend_ == "torch" and est.device_.startswith("cuda:")
    assert est._moments.comoment.is_cuda
    reference = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_allclose(est.proj_left_, reference.proj_left_, atol=1e-10)


def test_non_finite_tensor(backend, data):
    X, z = data
    bad = X.copy()
    bad[5, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LeaceTransformer().fit(backend.array(bad), concept=z)
    est = LeaceTransformer().fit(backend.array(X), concept=z)
    with pytest.raises(ValueError, match="contains NaN.*SimpleImputer"):
        est.transform(torch.as_tensor(bad))
    bad[5, 3] = np.inf
    with pytest.raises(ValueError, match="contains infinity.*clip"):
        est.transform(torch.as_tensor(bad))


def test_bad_tensor_shapes(data):
    X, z = data
    with pytest.raises(ValueError, match="2D"):
        LeaceTransformer().fit(torch.as_tensor(X[:, 0]), concept=z)
    est = LeaceTransformer().fit(torch.as_tensor(X), concept=z)
    with pytest.raises(ValueError, match="features"):
        est.transform(torch.as_tensor(X[:, :5]))


def test_copy_false_edits_tensor_in_place(data):
    X, z = data
    est = LeaceTransformer(copy=False).fit(torch.as_tensor(X), concept=z)
    given = torch.as_tensor(X.copy())
    out = est.transform(given)
    assert out is given
    np.testing.assert_allclose(
        out.numpy(), LeaceTransformer().fit(X, concept=z).transform(X), atol=1e-10
    )


def test_copy_false_with_tensor_rows_sharing_memory(data):
    X, z = data
    est = LeaceTransformer(copy=False, alpha=0.5).fit(X, concept=z)
    want = LeaceTransformer(alpha=0.5).fit(X, concept=z).transform(X[:1])
    row = torch.as_tensor(X[:1].copy())
    shared = row.expand(20_000, X.shape[1])
    out = est.transform(shared)
    assert out is not shared
    np.testing.assert_array_equal(row.numpy(), X[:1])
    np.testing.assert_allclose(out.numpy(), np.repeat(want, 20_000, axis=0), rtol=1e-12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_statistics_from_a_gpu_continue_only_there(data):
    # As after loading a GPU-fitted eraser on a machine without a GPU.
    X, z = data
    est = LeaceTransformer().partial_fit(torch.as_tensor(X[:100]), concept=z[:100])
    est.device_ = "cuda:0"
    est.transform(X)  # the fitted factors are NumPy: fine anywhere
    with pytest.raises(ValueError, match="ran on 'cuda:0'.*call fit"):
        est.partial_fit(X[100:], concept=z[100:])


def test_tensor_input_does_not_change(data):
    X, z = data
    given = torch.as_tensor(X.copy())
    est = LeaceTransformer().fit(given, concept=z)
    est.transform(given)
    np.testing.assert_array_equal(given.numpy(), X)


def test_pickle_torch_fitted_estimator(backend, data):
    X, z = data
    est = LeaceTransformer().fit(backend.array(X), concept=z)
    est.transform(backend.array(X))  # fills the device cache
    loaded = pickle.loads(pickle.dumps(est))
    assert not torch.is_tensor(loaded._moments.comoment)
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    # It keeps learning on its backend.
    loaded.partial_fit(backend.array(X[:10]), concept=z[:10])
    assert loaded.backend_ == backend.name


def _run_without_torch(code):
    """Run ``code`` in a fresh interpreter where ``import torch`` fails."""
    prelude = textwrap.dedent(
        """
        import sys

        class _NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("No module named 'torch' (hidden)")

        sys.meta_path.insert(0, _NoTorch())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_works_without_torch(tmp_path, data):
    X, z = data
    est = LeaceTransformer().fit(torch.as_tensor(X), concept=z)
    path = tmp_path / "eraser.pkl"
    path.write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "expected.npy", est.transform(X))
    out = _run_without_torch(
        f"""
        import pickle
        import numpy as np
        import leace_sklearn
        from leace_sklearn import LeaceTransformer
        X = np.load({str(tmp_path / "X.npy")!r})
        z = np.load({str(tmp_path / "z.npy")!r})
        LeaceTransformer().fit(X, concept=z).transform(X)
        est = pickle.loads(open({str(path)!r}, "rb").read())
        expected = np.load({str(tmp_path / "expected.npy")!r})
        assert np.array_equal(est.transform(X), expected)
        try:
            LeaceTransformer(device="cuda").fit(X, concept=z)
        except ImportError as exc:
            print(exc)
        """
    )
    assert 'pip install "leace-sklearn[torch]"' in out


def test_import_does_not_load_torch():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, leace_sklearn; print('torch' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "False", result.stderr


def test_only_the_backend_module_imports_torch():
    package = Path(__file__).resolve().parents[1] / "leace_sklearn"
    importers = {
        path.name
        for path in package.rglob("*.py")
        if "import torch" in path.read_text(encoding="utf-8")
        or "from torch" in path.read_text(encoding="utf-8")
    }
    assert importers == {"_backend.py"}


@pytest.mark.parametrize("linear", [False, True])
@pytest.mark.parametrize("rank", [1, 2])
def test_device_edit_centres_float32_far_from_zero(rng, linear, rank):
    """The edit of a device (not NumPy) tensor is formed centred at the mean,
    for the linear map too (plus its constant part): float32 data far from
    zero are then exact up to the output's own rounding, where the
    uncentred product would lose the digits the offset takes."""
    import array_api_compat.torch as txp

    from leace_sklearn._leace import apply_edit

    X = (rng.normal(size=(2000, 8)) + 1e4).astype(np.float32)
    left = rng.normal(size=(8, rank)) * 30
    # Directions orthogonal to the offset: X @ right.T is small, so that
    # forming it from uncentred data cancels the digits of 1e4.
    right = rng.normal(size=(rank, 8))
    right -= right.mean(axis=1, keepdims=True)
    mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    X_t = torch.from_numpy(X)
    got = apply_edit(
        txp,
        X_t,
        torch.empty_like(X_t),
        torch.from_numpy(left).float(),
        torch.from_numpy(right).float(),
        mean=torch.from_numpy(mean),
        linear=linear,
        chunk_bytes=256 * 8 * 4,
    ).numpy()
    X64, m64 = X.astype(np.float64), mean.astype(np.float64)
    L64 = left.astype(np.float32).astype(np.float64)
    R64 = right.astype(np.float32).astype(np.float64)
    want = X64 - ((X64 - (0 if linear else m64)) @ R64.T) @ L64.T
    assert np.abs(got - want).max() <= 2 * np.spacing(np.float32(1e4))
