"""Every scikit-learn import that is private or moved between versions, in one place."""

from __future__ import annotations

from functools import lru_cache

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import validate_data

__all__ = ["HasMethods", "Interval", "StrOptions", "fit_context", "one_blas_thread", "validate_data"]


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread.

    The head's fits and the pool's chunks are small matrix products (thousands of rows, hundreds
    of columns): a second BLAS thread saves nothing on them and, when the cores are shared,
    costs up to 30x in spin-waiting (measured here: a 2,000-row logistic regression in 35 ms on
    one thread, 1.3 s on two under load). scikit-learn's KMeans limits BLAS the same way.
    """
    return _controller().limit(limits=1, user_api="blas")
