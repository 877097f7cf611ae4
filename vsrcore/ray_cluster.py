"""Joining or starting Ray, one rule for every package that runs work on it (curation, the benchmark)."""

from __future__ import annotations

import os
import sys


def init_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to `address` (an existing cluster) or start a local Ray with this machine's resources."""
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)


def shutdown_ray() -> None:
    """Shut down the Ray this process started or joined (a no-op when Ray was never imported or started)."""
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        sys.modules["ray"].shutdown()
