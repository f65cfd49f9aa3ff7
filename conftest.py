"""Fixtures for the doctests in ``skprepal/`` (the test suite's own are in ``tests/conftest.py``).

The examples of the benchmark loaders read the real data in ``../shared/data`` (or
``$SKPREPAL_DATA``): they run, and their outputs are checked, wherever the data is present, and
are skipped where it is absent.
"""

from __future__ import annotations

import pytest

_DATA_DOCTESTS = "skprepal.datasets._benchmark_data."


@pytest.fixture(autouse=True)
def _skip_data_doctests_without_the_data(request: pytest.FixtureRequest) -> None:
    if not (hasattr(request.node, "dtest") and request.node.name.startswith(_DATA_DOCTESTS)):
        return
    from skprepal.datasets import get_data_home
    from skprepal.exceptions import DataNotFoundError

    try:
        get_data_home()
    except DataNotFoundError as exc:
        pytest.skip(f"benchmark data not available: {exc}")
