"""What each artefact carries: the API zip no analytics, the device package only what a gate runs.

Both are built by folder (`infra.package.API_EXCLUDED`, `DEVICE_INCLUDED`); these tests check the
built contents against the import graph, so a folder list that drops a module the code imports,
or ships one it must not, fails here rather than on a gate or in Lambda.
"""

from __future__ import annotations

import re
import zipfile

import grimp
import pytest

from infra.package import device_package, stage_chalice_project

FORBIDDEN_IN_API = re.compile(r"^\s*(?:import|from)\s+(?:polars|duckdb|pyarrow|pyspark)\b", re.MULTILINE)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("gridgate", "chalicelib")


def _needed(graph: grimp.ImportGraph, roots: set[str]) -> set[str]:
    """Every gridgate module `roots` import, directly or not, and the packages holding them."""
    reached = set(roots)
    for root in roots:
        reached |= graph.find_upstream_modules(root)
    modules = {m for m in reached if m.startswith("gridgate")}
    return modules | {".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 1)}


def _module(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_the_api_zip_ships_what_the_api_imports_and_no_polars_code(graph):
    vendor = stage_chalice_project() / "vendor"
    shipped = {_module(p.relative_to(vendor).as_posix()) for p in vendor.rglob("*.py")}
    api = {m for m in graph.modules if m.startswith("chalicelib")}
    assert _needed(graph, api) - shipped == set()
    for folder in ("analytics", "registry", "operations", "gate/device"):
        assert not (vendor / "gridgate" / folder).exists()
    polars_code = [p.name for p in vendor.rglob("*.py") if FORBIDDEN_IN_API.search(p.read_text(encoding="utf-8"))]
    assert polars_code == []


def test_the_device_package_holds_the_device_and_only_what_it_imports(graph, tmp_path):
    archive = device_package(tmp_path)
    names = [n for n in zipfile.ZipFile(archive).namelist() if n.endswith(".py")]
    shipped = {_module(n) for n in names}
    device = {m for m in graph.modules if m.startswith("gridgate.gate.device")}
    assert device <= shipped
    assert _needed(graph, device) - shipped == set()
    cloud = ("adapters", "residents", "registry", "grid_work", "analytics", "data_center", "operations")
    assert [n for n in names if n.split("/")[1] in cloud] == []
    assert {
        "gridgate/gate/cloud_facts.py",
        "gridgate/gate/wiring.py",
        "gridgate/gate/snapshot_publisher.py",
    }.isdisjoint(names)
