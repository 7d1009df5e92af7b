"""The shape of the code: imports run one way only, and no two modules of the layer share a name.

The import contracts live in pyproject.toml (`[tool.importlinter]`) and `make lint` runs them; this
test runs them too, so `make test` fails on a forbidden import as well. Each planted import below
proves a contract actually catches what it forbids (a copy of the source, never the tree itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
ROOTS = {  # root package -> the folder holding it
    "gridgate": "layers",
    "chalicelib": "functions",
    "flows": ".",
    "local_emulator": ".",
    "gridgate_cli": ".",
    "infra": ".",
    "bench": ".",
}


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with `project`'s pyproject.toml, its packages first on the path."""
    folders = sorted({str(project / folder) for folder in ROOTS.values()})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(folders)}
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("lint-imports")),
            "--config",
            str(project / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory) -> Path:
    """The Python source of every root package and pyproject.toml, copied to a scratch directory."""
    copy = tmp_path_factory.mktemp("source")
    shutil.copy2(PROJECT / "pyproject.toml", copy / "pyproject.toml")
    for package, folder in ROOTS.items():
        shutil.copytree(
            PROJECT / folder / package,
            copy / folder / package,
            ignore=lambda _, names: [n for n in names if not (n.endswith(".py") or "." not in n) or n == "__pycache__"],
        )
    return copy


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        (
            "layers/gridgate/gate/device/offline_verifier.py",
            "import gridgate.adapters.tables",
            "The gate device imports nothing cloud-side",
        ),
        ("functions/chalicelib/blueprints/pages.py", "import polars", "The API imports no analytics"),
        (
            "functions/chalicelib/blueprints/pages.py",
            "import gridgate.analytics.city_frames",
            "The API imports no analytics",
        ),
        ("layers/gridgate/domain/model.py", "import gridgate.adapters.tables", "Inside the layer"),
        ("layers/gridgate/residents/grants.py", "import gridgate.gate.decision", "Inside the layer"),
        ("layers/gridgate/adapters/audit.py", "import chalicelib.errors", "Entry points sit on the layer"),
        ("flows/city_data.py", "import local_emulator.server", "Entry points sit on the layer"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(source_copy, module, planted, contract):
    target = source_copy / module
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(original + f"\n{planted}  # planted by the test\n", encoding="utf-8")
        result = lint_imports(source_copy)
    finally:
        target.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


#: The source folders whose modules must have names of their own (a newcomer searching for
#: ``refusals.py`` or ``bootstrap.py`` finds one file, not two that do different things).
SOURCE_FOLDERS = ("layers/gridgate", "functions/chalicelib", "flows", "gridgate_cli", "local_emulator", "infra")


def test_no_two_source_modules_share_a_file_name():
    names = Counter(
        p.name for folder in SOURCE_FOLDERS for p in (PROJECT / folder).rglob("*.py") if p.name != "__init__.py"
    )
    assert [name for name, count in names.items() if count > 1] == []


def test_no_source_module_shadows_the_standard_library():
    """A flow's entry point runs with its folder first on ``sys.path`` (Prefect's worker loads
    ``flows/….py`` by path): a ``flows/statistics.py`` hid the standard ``statistics`` and the
    deployed night crashed on ``from statistics import NormalDist``."""
    shadowing = sorted(
        str(p.relative_to(PROJECT))
        for folder in SOURCE_FOLDERS
        for p in (PROJECT / folder).rglob("*.py")
        if p.stem in sys.stdlib_module_names
    )
    assert shadowing == []
