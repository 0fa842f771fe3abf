"""Generation threads: one per physical core, SMT siblings counted once."""

from __future__ import annotations

from pathlib import Path

from agents.llm.cpu_cores import generation_threads, physical_cores, usable_cpus


def _topology(root: Path, cpu: int, package: int, core: int) -> None:
    d = root / f"cpu{cpu}" / "topology"
    d.mkdir(parents=True)
    (d / "physical_package_id").write_text(f"{package}\n")
    (d / "core_id").write_text(f"{core}\n")


def test_smt_siblings_count_as_one_core(tmp_path: Path) -> None:
    # 2 cores with 2 hardware threads each: cpu0/cpu2 and cpu1/cpu3 are siblings
    for cpu, core in [(0, 0), (1, 1), (2, 0), (3, 1)]:
        _topology(tmp_path, cpu, 0, core)
    assert physical_cores([0, 1, 2, 3], tmp_path) == 2
    assert physical_cores([0, 2], tmp_path) == 1


def test_cores_without_smt_all_count(tmp_path: Path) -> None:
    _topology(tmp_path, 0, 0, 0)
    _topology(tmp_path, 1, 0, 1)
    assert physical_cores([0, 1], tmp_path) == 2


def test_same_core_id_on_two_packages_is_two_cores(tmp_path: Path) -> None:
    _topology(tmp_path, 0, 0, 0)
    _topology(tmp_path, 1, 1, 0)
    assert physical_cores([0, 1], tmp_path) == 2


def test_missing_topology_counts_every_cpu(tmp_path: Path) -> None:
    assert physical_cores([0, 1, 2], tmp_path) == 3
    assert physical_cores([], tmp_path) == 1


def test_this_machine_gets_at_least_one_and_at_most_its_cpus() -> None:
    assert 1 <= generation_threads() <= len(usable_cpus())
