"""Runtime configuration: the config/ endpoint, its permissions and validation, precedence
(database > settings > default), the per-process cache and the database's own checks."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from agentcore_task import runtime_config
from agentcore_task.models import TaskRuntimeConfig
from agentcore_task.runtime_config import (
    RuntimeConfigError,
    effective_cleanup_crontab,
    effective_retention_days,
    effective_timeout_minutes,
    get_runtime_config,
    update_runtime_config,
)

URL = "/api/v1/tasks/config/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts and ends with this process's cache empty."""
    runtime_config.clear_cache()
    yield
    runtime_config.clear_cache()


@pytest.fixture
def operator(make_user: Any) -> Any:
    user = make_user(username="operator")
    user.user_permissions.add(Permission.objects.get(codename="change_taskruntimeconfig"))
    return user


def stored() -> dict[str, Any]:
    """The row as the database holds it ({} when there is none)."""
    row = TaskRuntimeConfig.objects.filter(pk=1).values().first()
    return dict(row) if row else {}


def dba_sets(column: str, value: Any) -> None:
    """Change the row the way a DBA would: a raw UPDATE, no cache invalidation."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE agentcore_task_runtime_config SET {column} = %s WHERE id = 1", [value]
        )


# --- permissions ---------------------------------------------------------------------------


def test_anonymous_can_neither_read_nor_change_the_config(client_for):
    client = client_for(None)
    assert client.get(URL).status_code in (401, 403)
    assert client.patch(URL, {"retention_days": 7}, format="json").status_code in (401, 403)
    assert stored() == {}


def test_any_user_reads_effective_values_with_their_sources(client_for, alice):
    response = client_for(alice).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["retention_days"] == 30
    assert body["timeout_minutes"] == 10
    assert body["cleanup_crontab"] == "0 2 * * *"
    assert body["mark_timeout_crontab"] == "*/30 * * * *"
    assert set(body["sources"].values()) == {"default"}
    assert body["updated_at"] is None
    assert body["updated_by_id"] is None


def test_an_ordinary_user_may_not_change_the_config(client_for, alice):
    response = client_for(alice).patch(URL, {"retention_days": 7}, format="json")

    assert response.status_code == 403
    assert "change_taskruntimeconfig" in response.json()["detail"]
    assert stored() == {}


def test_staff_changes_the_config_and_is_recorded_as_the_updater(client_for, staff):
    response = client_for(staff).patch(
        URL, {"retention_days": 7, "cleanup_crontab": " 0  3 * * 1-5 "}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["retention_days"] == 7
    assert body["cleanup_crontab"] == "0 3 * * 1-5"  # stored with single spaces
    assert body["sources"]["retention_days"] == "database"
    assert body["sources"]["timeout_minutes"] == "default"
    assert body["fallbacks"]["retention_days"] == 30
    assert body["updated_by_id"] == staff.pk
    assert body["updated_by_username"] == "staff"
    assert body["updated_at"] is not None
    assert stored()["retention_days"] == 7
    assert stored()["timeout_minutes"] is None


def test_only_staff_see_who_last_changed_the_config(client_for, staff, alice, operator):
    client_for(staff).patch(URL, {"retention_days": 7}, format="json")

    assert client_for(staff).get(URL).json()["updated_by_username"] == "staff"
    for user in (alice, operator):
        body = client_for(user).get(URL).json()
        assert body["retention_days"] == 7
        assert body["updated_by_username"] is None, user.username
    changed = client_for(operator).patch(URL, {"retention_days": 8}, format="json").json()
    assert changed["updated_by_username"] is None


@pytest.mark.parametrize(
    "permission",
    ["rest_framework.permissions.AllowAny", "rest_framework.permissions.IsAuthenticatedOrReadOnly"],
)
def test_anonymous_readers_see_no_username(client_for, staff, settings, permission):
    client_for(staff).patch(URL, {"retention_days": 9}, format="json")
    settings.AGENTCORE_TASK_API_PERMISSION_CLASSES = [permission]

    body = client_for(None).get(URL).json()
    assert body["retention_days"] == 9
    assert body["updated_by_username"] is None
    assert client_for(None).patch(URL, {"retention_days": 5}, format="json").status_code in (
        401,
        403,
    )


def test_a_holder_of_the_change_permission_changes_the_config(client_for, operator):
    response = client_for(operator).patch(URL, {"timeout_minutes": 45}, format="json")

    assert response.status_code == 200
    assert response.json()["timeout_minutes"] == 45
    assert stored()["updated_by_id"] == operator.pk


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("retention_days", 0, False),
        ("retention_days", 1, True),
        ("retention_days", 3650, True),
        ("retention_days", 3651, False),
        ("retention_days", -5, False),
        ("retention_days", "abc", False),
        ("retention_days", True, False),
        ("retention_days", 1.5, False),
        ("timeout_minutes", 0, False),
        ("timeout_minutes", 1, True),
        ("timeout_minutes", 1440, True),
        ("timeout_minutes", 1441, False),
        ("timeout_minutes", 10**30, False),
    ],
)
def test_numbers_are_checked_against_their_bounds(client_for, staff, field, value, ok):
    response = client_for(staff).patch(URL, {field: value}, format="json")

    if ok:
        assert response.status_code == 200, response.json()
        assert stored()[field] == value
    else:
        assert response.status_code == 400
        assert field in response.json()
        assert field in response.json()["detail"]
        assert stored() == {}


@pytest.mark.parametrize(
    "crontab",
    [
        "",
        "   ",
        "* * * *",
        "* * * * * *",
        "61 * * * *",
        "* 24 * * *",
        "0 0 0 * *",
        "0 0 31 2 *",
        "*/0 * * * *",
        "a b c d e",
        "0 2 * * funday",
        "0\x00 2 * * *",
        "0 2 * * é",
        "1," * 60 + "1 * * * *",
        123,
    ],
)
@pytest.mark.parametrize("field", ["cleanup_crontab", "mark_timeout_crontab"])
def test_crontabs_celery_refuses_are_a_400_naming_the_field(client_for, staff, field, crontab):
    response = client_for(staff).patch(URL, {field: crontab}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert stored() == {}


@pytest.mark.parametrize("crontab", ["*/5 * * * *", "0 2 * * mon-fri", "15 3,15 1 */2 *"])
def test_crontabs_celery_accepts_are_stored(client_for, staff, crontab):
    response = client_for(staff).patch(URL, {"mark_timeout_crontab": crontab}, format="json")

    assert response.status_code == 200
    assert stored()["mark_timeout_crontab"] == crontab


def test_one_bad_field_means_nothing_is_written_and_every_bad_field_is_named(client_for, staff):
    update_runtime_config(retention_days=60)

    response = client_for(staff).patch(
        URL,
        {
            "retention_days": 7,
            "timeout_minutes": 0,
            "cleanup_crontab": "nope",
            "colour": "blue",
        },
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert {"timeout_minutes", "cleanup_crontab", "colour"} <= body.keys()
    assert "retention_days" not in body
    assert stored()["retention_days"] == 60
    assert stored()["timeout_minutes"] is None


def test_an_unknown_field_alone_is_a_400(client_for, staff):
    response = client_for(staff).patch(URL, {"retention": 7}, format="json")

    assert response.status_code == 400
    assert "retention" in response.json()
    assert stored() == {}


def test_a_body_that_is_not_an_object_is_a_400(client_for, staff):
    assert client_for(staff).patch(URL, [1, 2], format="json").status_code == 400


@pytest.mark.parametrize(
    "content_type, body",
    [
        (MULTIPART_CONTENT, encode_multipart(BOUNDARY, {"retention_days": "7"})),
        ("application/x-www-form-urlencoded", "retention_days=7"),
    ],
    ids=["multipart", "urlencoded"],
)
def test_a_form_body_is_a_415_and_writes_nothing(client_for, staff, content_type, body):
    """Forms cannot say null and make every value a string: the endpoint takes JSON only."""
    response = client_for(staff).patch(URL, body, content_type=content_type)

    assert response.status_code == 415
    assert "detail" in response.json()
    assert stored() == {}


def test_null_clears_an_override_and_the_setting_applies_again(client_for, staff):
    client = client_for(staff)
    client.patch(URL, {"retention_days": 7, "timeout_minutes": 5}, format="json")

    with override_settings(AGENTCORE_TASK_RETENTION_DAYS=90):
        body = client.patch(URL, {"retention_days": None}, format="json").json()

    assert body["retention_days"] == 90
    assert body["sources"]["retention_days"] == "settings"
    assert body["timeout_minutes"] == 5  # not named: kept
    assert stored()["retention_days"] is None


def test_an_empty_patch_writes_nothing(client_for, staff):
    response = client_for(staff).patch(URL, {}, format="json")

    assert response.status_code == 200
    assert stored() == {}


def test_the_python_api_names_every_bad_field_and_writes_nothing():
    with pytest.raises(RuntimeConfigError) as raised:
        update_runtime_config(retention_days=3651, timeout_minutes="10", mark_timeout_crontab="x")

    assert set(raised.value.errors) == {"retention_days", "timeout_minutes", "mark_timeout_crontab"}
    assert stored() == {}


def test_the_python_api_refuses_an_unsaved_user(make_user):
    from django.contrib.auth import get_user_model

    with pytest.raises(TypeError):
        update_runtime_config(user=get_user_model()(username="ghost"), retention_days=7)


# --- precedence ----------------------------------------------------------------------------


def test_precedence_is_database_then_settings_then_default():
    assert (effective_retention_days(), get_runtime_config().sources["retention_days"]) == (
        30,
        "default",
    )

    with override_settings(AGENTCORE_TASK_RETENTION_DAYS=60):
        assert effective_retention_days() == 60
        assert get_runtime_config().sources["retention_days"] == "settings"

        update_runtime_config(retention_days=7)

        assert effective_retention_days() == 7
        config = get_runtime_config()
        assert config.sources["retention_days"] == "database"
        assert config.fallbacks["retention_days"] == 60


@pytest.mark.django_db(transaction=True)
def test_settings_changes_apply_at_once_under_a_cached_row(clock):
    update_runtime_config(timeout_minutes=20)
    effective_timeout_minutes()  # the row is cached; the settings are read at every call

    with override_settings(AGENTCORE_TASK_CLEANUP_CRONTAB="5 4 * * *"):
        assert effective_cleanup_crontab() == "5 4 * * *"


# --- caching -------------------------------------------------------------------------------


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(runtime_config.cache.time, "monotonic", fake)
    return fake


@pytest.mark.django_db(transaction=True)
@override_settings(AGENTCORE_TASK_CONFIG_CACHE_SECONDS=30)
def test_other_processes_changes_are_seen_when_the_cache_expires(clock):
    update_runtime_config(retention_days=7)
    assert effective_retention_days() == 7  # cached now

    dba_sets("retention_days", 8)  # as another process would: this cache is not told
    clock.now += 29
    assert effective_retention_days() == 7
    clock.now += 2
    assert effective_retention_days() == 8


@pytest.mark.django_db(transaction=True)
def test_a_cached_read_costs_no_query(clock, django_assert_num_queries):
    update_runtime_config(retention_days=7)
    effective_retention_days()

    with django_assert_num_queries(0):
        assert effective_retention_days() == 7
        assert effective_timeout_minutes() == 10


@pytest.mark.django_db(transaction=True)
@override_settings(AGENTCORE_TASK_CONFIG_CACHE_SECONDS=0)
def test_a_cache_of_zero_seconds_reads_the_database_every_time(clock):
    update_runtime_config(retention_days=7)
    assert effective_retention_days() == 7

    dba_sets("retention_days", 8)
    assert effective_retention_days() == 8


@pytest.mark.django_db(transaction=True)
def test_a_write_clears_the_writing_process_cache_at_once(clock):
    update_runtime_config(retention_days=7)
    assert effective_retention_days() == 7

    update_runtime_config(retention_days=9)

    assert effective_retention_days() == 9


def test_reads_inside_a_transaction_are_never_cached(clock):
    # pytest-django's db fixture runs the test in a transaction: what this test writes might
    # be rolled back, so a read must not keep it in the cache.
    update_runtime_config(retention_days=7)
    assert effective_retention_days() == 7

    dba_sets("retention_days", 8)

    assert effective_retention_days() == 8


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_does_not_linger_in_the_cache(clock):
    update_runtime_config(retention_days=7)
    effective_retention_days()

    with pytest.raises(RuntimeError), transaction.atomic():
        update_runtime_config(retention_days=9)
        assert effective_retention_days() == 9  # read-your-writes inside the transaction
        raise RuntimeError("roll back")

    assert effective_retention_days() == 7


# --- failure policy and the database's own checks --------------------------------------------


def test_a_missing_table_falls_back_to_settings_with_one_warning(caplog):
    update_runtime_config(retention_days=7)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute("ALTER TABLE agentcore_task_runtime_config RENAME TO gone")

    with caplog.at_level(logging.WARNING, logger="agentcore_task"):
        assert effective_retention_days() == 30
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "runtime configuration" in warnings[0].getMessage()
    # The read ran in a savepoint: the caller's transaction is still usable.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM gone")
        assert cursor.fetchone() == (1,)


def test_a_crontab_celery_refuses_written_by_hand_is_ignored(caplog):
    update_runtime_config(cleanup_crontab="0 3 * * *")
    dba_sets("cleanup_crontab", "99 * * * *")  # the right shape; Celery refuses it

    with caplog.at_level(logging.WARNING, logger="agentcore_task"):
        assert effective_cleanup_crontab() == "0 2 * * *"
    assert any("99 * * * *" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO agentcore_task_runtime_config (id) VALUES (2)",
        "UPDATE agentcore_task_runtime_config SET retention_days = 0",
        "UPDATE agentcore_task_runtime_config SET retention_days = 3651",
        "UPDATE agentcore_task_runtime_config SET timeout_minutes = 1441",
        "UPDATE agentcore_task_runtime_config SET cleanup_crontab = '0 2 * *'",
        "UPDATE agentcore_task_runtime_config SET mark_timeout_crontab = ''",
    ],
)
def test_the_database_refuses_a_second_row_and_out_of_range_values(statement):
    update_runtime_config(retention_days=7)

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_the_schema_documents_get_and_patch(client_for, alice):
    schema = client_for(alice).get("/api/schema/?format=json").json()

    operations = schema["paths"]["/api/v1/tasks/config/"]
    assert {"get", "patch"} <= operations.keys()
    assert "403" in operations["patch"]["responses"]


# --- the push to django_celery_beat ------------------------------------------------------------


@pytest.fixture
def beat_pushes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int | None, list[str]]]:
    """Pretend django_celery_beat is installed; record each push: what it saw, which fields.

    The real push, against django_celery_beat's tables and a real Beat, is tested in
    tests/integration/test_beat_database_scheduler.py.
    """
    from django.apps import apps

    from agentcore_task import beat_scheduler

    pushes: list[tuple[int | None, list[str]]] = []

    def push(fields: list[str]) -> dict[str, str]:
        # The push sees the committed row.
        pushes.append((TaskRuntimeConfig.objects.get().retention_days, list(fields)))
        if len(pushes) > 1:
            raise RuntimeError("beat tables are locked")
        return {}

    monkeypatch.setattr(beat_scheduler, "push_crontab_change", push)
    installed = apps.is_installed
    monkeypatch.setattr(
        apps,
        "is_installed",
        lambda name: name == "django_celery_beat" or installed(name),
    )
    return pushes


@pytest.mark.django_db(transaction=True)
def test_a_crontab_change_is_pushed_to_django_celery_beat_after_commit(beat_pushes, caplog):
    update_runtime_config(retention_days=5)  # no crontab: no push
    assert beat_pushes == []

    update_runtime_config(retention_days=6, cleanup_crontab="0 4 * * *")
    assert beat_pushes == [(6, ["cleanup_crontab"])]  # only the job whose crontab changed

    with caplog.at_level(logging.ERROR, logger="agentcore_task"):
        config = update_runtime_config(mark_timeout_crontab="*/10 * * * *")
    assert config.values["mark_timeout_crontab"] == "*/10 * * * *"  # the change stays
    assert any("django_celery_beat" in r.getMessage() for r in caplog.records)


def test_no_push_happens_inside_an_uncommitted_transaction(beat_pushes):
    update_runtime_config(cleanup_crontab="0 4 * * *")  # the test's transaction never commits

    assert beat_pushes == []


@pytest.mark.django_db(transaction=True)
def test_the_change_is_announced_after_commit_with_every_changed_field():
    from agentcore_task.signals import runtime_config_changed

    seen: list[tuple[object, list[str], int | None]] = []

    def receiver(sender: object, fields: list[str], **kwargs: Any) -> None:
        seen.append((sender, fields, TaskRuntimeConfig.objects.get().retention_days))

    runtime_config_changed.connect(receiver)
    try:
        with transaction.atomic():
            update_runtime_config(retention_days=8, cleanup_crontab=None)
            assert seen == []  # not before the commit
        update_runtime_config()  # nothing to change: nothing announced
    finally:
        runtime_config_changed.disconnect(receiver)

    assert seen == [(TaskRuntimeConfig, ["cleanup_crontab", "retention_days"], 8)]
