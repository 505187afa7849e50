"""API fixtures: clients for an ordinary user, staff, and a holder of the view-all permission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

BASE = "/api/v1/tasks/executions/"


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    def make(user: Any) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def auditor(make_user: Callable[..., Any]) -> Any:
    from django.contrib.auth.models import Permission

    user = make_user(username="auditor")
    user.user_permissions.add(Permission.objects.get(codename="view_all_taskexecution"))
    return user
