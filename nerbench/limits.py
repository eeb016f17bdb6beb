"""Upper limits on what a suite or the command line may ask for, each far above any real use.

Past them a run would hang, exhaust memory or overflow a system call, so the suite loader
and the CLI refuse such values with one line (exit 2) before anything runs. README's
"Limits" section lists them.
"""

from __future__ import annotations

MAX_BOOTSTRAP = 100_000  # bootstrap resamples (settings.bootstrap, nerbench score --bootstrap)
MAX_TIMEOUT_S = 30 * 24 * 3600.0  # a worker request's timeout: 30 days (select() refuses far larger)
MAX_SEED = 2**63 - 1
MAX_JOBS = 256  # models run at once (nerbench run --jobs)
MAX_REPLICAS = 1024  # workers of one model (a suite model's replicas)
MAX_RESOURCE = 1024.0  # CPUs or GPUs one Ray worker asks for (num_cpus, num_gpus)

# settings: name -> the largest value allowed
SETTINGS: dict[str, float] = {
    "batch_size": 1_000_000, "latency_samples": 100_000, "warmup": 100_000, "bootstrap": MAX_BOOTSTRAP,
    "timeout_s": MAX_TIMEOUT_S, "seed": MAX_SEED, "stability_passes": 100, "instance_usd_per_hour": 1e6,
    "gpu_usd_per_hour": 1e6, "max_failed_share": 1.0, "min_overlap": 1.0,
}  # fmt: skip

YAML_MAX_DEPTH = 64  # nesting levels of a suite file (a real one has fewer than ten)
YAML_MAX_ALIAS_GROWTH = 100_000  # values aliases may add to a YAML document (a "billion laughs" adds 10^9)


def shown(limit: float) -> str:
    """A limit as a user reads it: ``100,000``, ``0.5``."""
    return f"{int(limit):,}" if limit == int(limit) else str(limit)
