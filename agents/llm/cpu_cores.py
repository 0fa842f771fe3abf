"""How many threads llama.cpp should generate with: one per physical core this process may use.

llama-cpp-python defaults `n_threads` (generation) to half of `os.cpu_count()`, assuming two
hardware threads per core. On machines without SMT (most small cloud VMs: "Thread(s) per core:
1") that leaves half the cores idle while tokens are generated; on the 2-core development VM
generation ran at 8.2-9.1 tok/s with one thread and 12.8-13.2 with two (docs/benchmarks.md).
Prompt evaluation already uses every CPU (`n_threads_batch`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_SYS_CPU = Path("/sys/devices/system/cpu")


def usable_cpus() -> set[int]:
    """The CPUs this process may run on (its affinity mask; all of them where there is none)."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def physical_cores(cpus: Iterable[int], sys_cpu: Path = _SYS_CPU) -> int:
    """The number of distinct physical cores among `cpus` (SMT siblings counted once).

    Reads Linux's topology files; where they are missing (other systems, some containers), every
    CPU counts as a core."""
    cores: set[tuple[str, str]] = set()
    count = 0
    for cpu in cpus:
        count += 1
        topology = sys_cpu / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            cores.add(("cpu", str(cpu)))
            continue
        cores.add((package, core))
    return max(1, len(cores) if cores else count)


def generation_threads() -> int:
    """llama.cpp's generation threads when QUBITZ_LOCAL_THREADS is not set."""
    return physical_cores(usable_cpus())
