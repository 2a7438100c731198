"""Array backends: NumPy, and PyTorch on CPU or CUDA.

The only module that imports torch, and only when a torch backend is asked
for or a tensor is passed in, so that ``import leace_sklearn`` and the NumPy
path work without torch installed. Everything here is plumbing: choosing a
backend, moving blocks of rows to its device, and bringing small results
back. The mathematics is in ``_stats`` and ``_leace``, written once against
the array-API namespace a backend provides.
"""

import re
import sys

import array_api_compat.numpy as xp_numpy
import numpy as np

INSTALL_HINT = 'install it with: pip install "leace-sklearn[torch]"'
_CUDA = re.compile(r"^cuda(:\d+)?$")
# Host rows are moved to the device in blocks of about this size, so that a
# NumPy array is never copied to the device whole.
BLOCK_BYTES = 64 * 2**20


def is_tensor(obj):
    """Whether ``obj`` is a torch tensor, without importing torch."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _import_torch(reason):
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{reason} needs PyTorch, which is not installed; {INSTALL_HINT}"
        ) from None
    return torch


def to_numpy(a, dtype=None):
    """A NumPy copy (or view) of an array or tensor, on the host."""
    if is_tensor(a):
        a = a.detach()
        if a.dtype.itemsize < 4 and a.is_floating_point():
            a = a.float()  # NumPy has no bfloat16
        a = a.cpu().numpy()
    return np.asarray(a, dtype=dtype)


def tensor_from_numpy(a):
    """A CPU tensor sharing the memory of the NumPy array ``a``."""
    import torch

    return torch.from_numpy(a)


class Backend:
    """Where fitting runs: ``"numpy"``, or ``"torch"`` on a device.

    Attributes
    ----------
    name : {"numpy", "torch"}
    device : str
        ``"cpu"`` for NumPy; a torch device string such as ``"cuda:0"``.
    xp : namespace
        The array-API namespace the core runs on.
    """

    def __init__(self, name, device="cpu"):
        self.name = name
        self.device = device
        if name == "numpy":
            self.xp = xp_numpy
        else:
            _import_torch(f"the torch backend (device={device!r})")
            import array_api_compat.torch as xp_torch

            self.xp = xp_torch

    @property
    def is_cuda(self):
        return self.device.startswith("cuda")

    @property
    def edit_chunk_bytes(self):
        """Chunk size for the edit: cache-sized on CPU, large on a GPU."""
        # A GPU needs big kernels to amortise their launch; torch on the CPU
        # pays about 10 microseconds of dispatch per operation.
        return 2**27 if self.is_cuda else 2**19

    def block_rows(self, n_rows, n_cols):
        """Rows per block when streaming to the device."""
        return max(1, min(n_rows, BLOCK_BYTES // max(1, 4 * n_cols)))

    def asarray(self, block):
        """A block of rows on this backend's device, at least float32.

        Half-precision values are widened: the Gram products need more
        mantissa than float16 or bfloat16 have.
        """
        if self.name == "numpy":
            return block
        import torch

        if not is_tensor(block):
            block = torch.from_numpy(np.ascontiguousarray(block))
        block = block.to(self.device, non_blocking=False)
        if block.dtype.itemsize < 4:
            block = block.float()
        return block

    def from_numpy(self, a):
        """Small host arrays (statistics, factors) as float64 on the device."""
        if self.name == "numpy":
            return np.asarray(a, dtype=np.float64)
        import torch

        if is_tensor(a):
            return a.to(self.device, torch.float64)
        return torch.as_tensor(np.asarray(a, dtype=np.float64), device=self.device)


def resolve_backend(device, X):
    """The backend for ``device`` (the estimator parameter) and input ``X``.

    None follows ``X``: a tensor runs on torch on its own device, anything
    else on NumPy. ``"cpu"`` is NumPy; ``"cuda"`` / ``"cuda:N"`` torch on that
    GPU; ``"auto"`` CUDA when torch and a GPU are there, else NumPy.
    """
    if device is None:
        if is_tensor(X):
            return Backend("torch", str(X.device))
        return Backend("numpy")
    if not isinstance(device, str):
        raise TypeError(
            "device must be None or a str such as 'cpu', 'cuda', 'cuda:1' or "
            f"'auto', got {type(device).__name__}."
        )
    if device == "cpu":
        return Backend("numpy")
    if device == "auto":
        try:
            import torch
        except ImportError:
            return Backend("numpy")
        if torch.cuda.is_available():
            return Backend("torch", _cuda_name(torch, "cuda"))
        return Backend("numpy")
    if _CUDA.match(device):
        torch = _import_torch(f"device={device!r}")
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but no CUDA GPU is available to torch; use "
                "device='cpu' (NumPy) or device='auto'."
            )
        return Backend("torch", _cuda_name(torch, device))
    raise ValueError(
        f"device must be None, 'cpu', 'auto', 'cuda' or 'cuda:N', got {device!r}."
    )


def continued_backend(name, device):
    """The backend of earlier ``partial_fit`` batches, on this machine.

    Refuses a GPU this machine lacks (statistics fitted on one and loaded
    elsewhere), where torch would fail with an internal error.
    """
    backend = Backend(name, device)
    if backend.is_cuda:
        import torch

        index = torch.device(device).index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise ValueError(
                f"the earlier partial_fit batches ran on {device!r}, which this "
                "machine does not have, and later batches continue where the "
                "first one ran; call fit to start again here (transform "
                "works on any machine)."
            )
    return backend


def _cuda_name(torch, device):
    """``"cuda"`` resolved to the current GPU's index; checks the index."""
    dev = torch.device(device)
    index = torch.cuda.current_device() if dev.index is None else dev.index
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} but torch sees only "
            f"{torch.cuda.device_count()} CUDA device(s)."
        )
    return f"cuda:{index}"


def check_tensor(X, input_name="X"):
    """Validate a 2-D tensor of features; integers and bools become float64."""
    import torch

    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D tensor for {input_name}, got {X.ndim}D with shape "
            f"{tuple(X.shape)}; reshape it to (n_samples, n_features)."
        )
    if X.is_complex():
        raise TypeError(f"{input_name} must be real-valued, got {X.dtype}.")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"Found a tensor with shape {tuple(X.shape)} for {input_name}; at "
            "least one sample and one feature are required."
        )
    if not X.is_floating_point():
        X = X.to(torch.float64)
    return X.detach() if X.requires_grad else X


def stream_moments(backend, X, encoded, weights, shift, *, cross=False):
    """Moments of a batch on ``backend``'s device, moving X in row blocks.

    A float32/float64 tensor already on the device is reduced in place;
    anything else (NumPy arrays, sparse matrices, tensors elsewhere or in
    half precision) is copied over and widened one block at a time, so
    the device never holds more than a block of it. Every block uses the
    same shift, the first block's mean unless one is given. ``cross``: see
    :func:`._stats.batch_moments`.
    """
    from ._stats import batch_moments, dense_rows, merge_moments

    xp, device = backend.xp, backend.device
    resident = (
        is_tensor(X)
        and str(X.device) == device
        and X.dtype.itemsize >= 4
        and X.is_floating_point()
    )
    if device == "cpu" and (resident or not is_tensor(X)):
        # The NumPy kernel on the tensor's own memory (or on the NumPy or
        # sparse batch): the same statistics, without torch's cost per
        # operation (up to 1.5x the NumPy fit at d = 64).
        moments = batch_moments(
            xp_numpy,
            X.numpy() if resident else X,
            encoded,
            weights,
            shift=None if shift is None else to_numpy(shift),
            cross=cross,
        )
        return moments.map(backend.from_numpy)
    w = None if weights is None else backend.from_numpy(weights)
    if resident:
        return batch_moments(xp, X, encoded.to(xp, device), w, shift=shift, cross=cross)
    n, d = X.shape
    rows = backend.block_rows(n, d)
    moments = None
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = backend.asarray(dense_rows(X, start, stop))
        batch = batch_moments(
            xp,
            block,
            encoded.rows(start, stop).to(xp, device),
            None if w is None else w[start:stop],
            shift=shift,
            cross=cross,
        )
        shift = batch.mean if shift is None else shift
        moments = merge_moments(xp, moments, batch)
    return moments
