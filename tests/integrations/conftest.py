"""One real local Ray cluster for the whole test session (``ray.init(num_cpus=2)``)."""

from __future__ import annotations

import pytest


def _import_ray():
    # The dev extra (what `make test` and CI install) has Ray Data: a missing Ray is a failure,
    # never a skip.
    import ray
    import ray.data  # noqa: F401

    return ray


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster of 2 CPUs, started once, shut down after the last test."""
    ray = _import_ray()
    if ray.is_initialized():  # another fixture's or plugin's cluster: use it as it is
        yield ray
        return
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()
