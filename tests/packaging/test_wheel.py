"""The wheel holds what a host project runs, and installing it alone picks no psycopg build.

The wheel is built the way a release builds it (an isolated ``pip wheel`` of this checkout),
once for the module. No test here needs a database: this tier runs without servers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # builds a wheel, resolves an install


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("agentcore_task-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> list[str]:
    return zipfile.ZipFile(wheel).namelist()


def _requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(metadata).decode())
    return [Requirement(line) for line in message.get_all("Requires-Dist") or []]


def test_the_wheel_holds_only_the_package_and_its_metadata(names: list[str]) -> None:
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"agentcore_task", next(n for n in top_level if n.endswith(".dist-info"))}
    assert not [n for n in names if n.startswith("agentcore_task/testing/")]
    assert not [n for n in names if "devservers" in n or "_watchdog" in n]


def test_the_wheel_carries_the_sql_files_types_marker_and_migrations(names: list[str]) -> None:
    sql_files = sorted(path.name for path in (ROOT / "sql").glob("*.sql"))
    assert sql_files, "no sql/*.sql in the checkout"
    for name in sql_files:
        assert f"agentcore_task/_sql/{name}" in names
    assert "agentcore_task/py.typed" in names
    assert "agentcore_task/migrations/0001_initial.py" in names
    # The dashboard's templates and static files (no build step: shipped as written).
    assert "agentcore_task/templates/agentcore_task/dashboard/base.html" in names
    assert "agentcore_task/static/agentcore_task/dashboard/dashboard.js" in names
    assert "agentcore_task/static/agentcore_task/dashboard/dashboard.css" in names


def test_the_base_requirements_name_psycopg_without_the_binary_extra(wheel: Path) -> None:
    base = [r for r in _requirements(wheel) if r.marker is None]
    by_name = {r.name.lower(): r for r in base}
    assert by_name["psycopg"].extras == set()
    assert "psycopg-binary" not in by_name
    assert str(by_name["django"].specifier) in {">=5.2,<6.2", "<6.2,>=5.2"}


def test_installing_the_wheel_alone_pulls_no_binary_psycopg(wheel: Path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--quiet", "--report", "-", str(wheel),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )  # fmt: skip
    report = json.loads(result.stdout)
    installed = {item["metadata"]["name"].lower() for item in report["install"]}
    assert {"agentcore-task", "psycopg", "django"} <= installed
    assert not {"psycopg-binary", "psycopg-c"} & installed
