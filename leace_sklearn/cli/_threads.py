"""Keeping BLAS to one thread while the report's probes are fitted."""

import contextlib


def few_blas_threads():
    """Context limiting BLAS to one thread, if threadpoolctl is installed.

    The probes fit logistic regressions on matrices of a few hundred columns
    at most, too small for BLAS threads to pay off; on a busy 2-core machine
    their spinning made the demo twice as slow. threadpoolctl comes with
    scikit-learn, but the tool does not insist on it.

    Returns
    -------
    context : context manager

    Examples
    --------
    >>> import numpy as np
    >>> with few_blas_threads():
    ...     float(np.ones((3, 3)) @ np.ones(3) @ np.ones(3))
    9.0
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
