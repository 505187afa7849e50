"""The contract's import paths export exactly the public names, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import agentcore_task.adapters.django as package
import agentcore_task.adapters.django.services as services

pytestmark = pytest.mark.smoke  # also runs against the embedded servers in CI

# The agreed public surface, written out here on purpose: a name added to or dropped from
# agentcore_task/public.py must also change this list, so no public name changes by accident.
PUBLIC_SURFACE = {
    "register_task_execution",
    "TaskTracker",
    "TaskStatus",
    "TaskLogCollector",
    "acquire_task_lock",
    "release_task_lock",
    "is_task_locked",
    "prevent_duplicate_task",
    "cleanup_old_executions",
    "mark_timed_out_executions",
    "get_cleanup_beat_schedule",
    "get_mark_timeout_beat_schedule",
    "get_task_stats",
    "list_task_executions",
    "cleanup_old_task_executions",
    "mark_timed_out_task_executions",
    "dispatch",
    "revoke_execution",
    "retry_execution",
}


def test_every_path_exports_exactly_the_public_surface():
    import agentcore_task

    assert set(package.__all__) == set(services.__all__) == PUBLIC_SURFACE
    assert set(agentcore_task.__all__) == PUBLIC_SURFACE
    for name in PUBLIC_SURFACE:
        assert getattr(agentcore_task, name) is getattr(package, name)


def test_every_exported_name_resolves_to_the_same_object_on_both_paths():
    for name in package.__all__:
        assert getattr(package, name) is getattr(services, name)


def test_unknown_name_is_an_attribute_error():
    try:
        package.does_not_exist  # noqa: B018
    except AttributeError as error:
        assert "does_not_exist" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_before_setup_loads_no_models():
    code = (
        "import sys, agentcore_task.adapters.django, agentcore_task.adapters.django.services;"
        "print('agentcore_task.models' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_models_path_of_the_original_imports():
    from agentcore_task.adapters.django.models import TaskExecution
    from agentcore_task.models import TaskExecution as Canonical

    assert TaskExecution is Canonical


def test_the_type_checkers_imports_name_exactly_the_public_names():
    """The root's TYPE_CHECKING imports (what mypy sees) cannot drift from the runtime map."""
    import ast
    import inspect

    import agentcore_task
    from agentcore_task.public import PUBLIC_NAMES

    tree = ast.parse(inspect.getsource(agentcore_task))
    block = next(node for node in tree.body if isinstance(node, ast.If))
    imported = {
        alias.asname or alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == PUBLIC_NAMES
