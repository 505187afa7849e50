"""Prepare the demo database: migrate, then create the user ``demo`` / ``demo``.

    python -m demo.setup

docker compose runs it once before the web server, the worker and beat start; the demo runner
(``python -m demo``) calls :func:`setup` itself.
"""

from __future__ import annotations

import os
from typing import Any

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"


def setup(verbosity: int = 0) -> Any:
    """Migrate and return the demo user, created (or reset to its password) as needed.

    The user is a superuser: it sees every execution in the API (system runs and other
    users' included) and can use the Django admin. A real project gives most users only
    their own executions; see the README's "Scoping".
    """
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
    user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = True
    user.is_superuser = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    import django

    django.setup()
    setup(verbosity=1)
    print(f"demo user ready: {DEMO_USERNAME} / {DEMO_PASSWORD}")


if __name__ == "__main__":
    main()
