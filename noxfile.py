"""The supported Python / Django pairs, each running the smoke tier against real servers.

``nox`` runs every session; ``nox -s "smoke(py3.13-django6.1)"`` runs one. The
servers are found like the test suite finds them (``DATABASE_URL`` / ``REDIS_URL``, else the
local ports, else embedded ones), so set those variables to keep runs apart. Extra
arguments go to pytest: ``nox -- -x``.

The full suite runs on the default pair (``make test``); these sessions prove that the
library installs and works on the other supported versions.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

SHOW_VERSIONS = (
    "import django, sys; print('Python', sys.version.split()[0], 'Django', django.__version__)"
)
PAIRS = [
    ("3.11", "5.2"),  # the oldest supported pair (Django 6 needs Python 3.12)
    ("3.12", "6.0"),
    ("3.13", "6.1"),  # the newest
]

# nox looks interpreters up as pythonX.Y on PATH; pyenv keeps them in its own directories.
_PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
if _PYENV.is_dir():
    _found = sorted(str(path.parent) for path in _PYENV.glob("3.*/bin/python3"))
    os.environ["PATH"] = os.pathsep.join([*reversed(_found), os.environ.get("PATH", "")])


@nox.session
@nox.parametrize(("python", "django"), PAIRS, ids=[f"py{p}-django{d}" for p, d in PAIRS])
def smoke(session: nox.Session, django: str) -> None:
    """Install the package with its test extra on one Django, then run the smoke tier."""
    session.install(".[test]", f"Django=={django}.*")
    session.run("python", "-c", SHOW_VERSIONS)
    session.run("python", "-m", "pytest", "-m", "smoke", "-p", "no:cacheprovider", *session.posargs)
