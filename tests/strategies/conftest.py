"""Fixtures of the strategy tests."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny problems: BLAS/OpenMP threads only add synchronisation (slow on a busy machine)."""
    with threadpool_limits(limits=1):
        yield
