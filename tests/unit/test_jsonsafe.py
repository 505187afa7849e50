"""Tests for agentcore_task.jsonsafe: every conversion rule, plus property tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import types
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentcore_task.jsonsafe import (
    MAX_DEPTH_LIMIT,
    REDACTED,
    JSONValue,
    cap_json_size,
    clean_text,
    to_json_safe,
    truncate_text,
)

SECRETS = frozenset({"password", "token"})


def redact(value: Any, redact_keys: Any) -> JSONValue:
    """Redact a value stored earlier: the conversion at the deepest depth it allows."""
    return to_json_safe(value, redact_keys=redact_keys, max_depth=MAX_DEPTH_LIMIT)


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, float("nan"))


class Level(enum.IntEnum):
    LOW = 1


class Shade(enum.StrEnum):
    DARK = "dark"


@dataclasses.dataclass
class Point:
    x: Any
    y: Any = None


class FakeModel:
    """Stands in for a pydantic model: only ``model_dump`` matters."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def model_dump(self) -> Any:
        return self.payload


class BrokenModel:
    def model_dump(self) -> Any:
        raise RuntimeError("cannot dump")


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "BadStr()"


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class BadStrError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class Hostile:
    """Every attribute lookup raises something other than AttributeError."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(name)


class BrokenMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        return 1


def dumped_size(value: JSONValue) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def canonical(value: JSONValue) -> str:
    """Serialise so that True, 1 and 1.0 stay distinguishable when comparing."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def walk(value: JSONValue) -> Iterator[JSONValue]:
    """Yield every node of a JSON tree (keys of dicts included as str nodes)."""
    stack = [value]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())


# --- scalars ---------------------------------------------------------------------------


def test_none_bool_int_str_are_kept_with_exact_types() -> None:
    for value in (None, True, False, 0, -7, 2**70, "", "héllo 🎉"):
        result = to_json_safe(value)
        assert result == value
        assert type(result) is type(value)


def test_subclasses_of_str_int_float_become_plain_types() -> None:
    class MyStr(str):
        pass

    class MyInt(int):
        pass

    class MyFloat(float):
        pass

    assert type(to_json_safe(MyStr("a"))) is str
    assert type(to_json_safe(MyInt(3))) is int
    assert type(to_json_safe(MyFloat(1.5))) is float


def test_nul_becomes_replacement_character() -> None:
    assert to_json_safe("a\x00b") == "a\ufffdb"
    assert clean_text("\x00") == "\ufffd"


def test_lone_surrogate_becomes_replacement_character() -> None:
    assert to_json_safe("x\ud800y\udfff") == "x\ufffdy\ufffd"


def test_clean_text_leaves_valid_text_alone() -> None:
    text = "plain é ✓ 🎉 \uffff \t\n"
    assert clean_text(text) is text


def test_huge_int_becomes_exact_decimal_string() -> None:
    huge = 10**5000 + 7
    result = to_json_safe(huge)
    assert isinstance(result, str)
    assert result == "1" + "0" * 4999 + "7"


def test_finite_float_is_kept() -> None:
    assert to_json_safe(1.25) == 1.25
    assert to_json_safe(-0.0) == 0.0


def test_nan_becomes_string_marker() -> None:
    assert to_json_safe(float("nan")) == "NaN"


def test_infinities_become_string_markers() -> None:
    assert to_json_safe(float("inf")) == "Infinity"
    assert to_json_safe(float("-inf")) == "-Infinity"


def test_datetime_date_time_become_isoformat() -> None:
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    assert to_json_safe(moment) == "2024-05-06T07:08:09.123456+00:00"
    assert to_json_safe(dt.date(2024, 5, 6)) == "2024-05-06"
    assert to_json_safe(dt.time(7, 8)) == "07:08:00"


def test_timedelta_becomes_total_seconds() -> None:
    result = to_json_safe(dt.timedelta(minutes=2, milliseconds=500))
    assert result == 120.5
    assert type(result) is float


def test_decimal_becomes_exact_string() -> None:
    assert to_json_safe(Decimal("0.1")) == "0.1"
    assert to_json_safe(Decimal("12345678901234567890.000000001")) == (
        "12345678901234567890.000000001"
    )
    assert to_json_safe(Decimal("NaN")) == "NaN"
    assert to_json_safe(Decimal("Infinity")) == "Infinity"
    assert to_json_safe(Decimal("-Infinity")) == "-Infinity"


def test_uuid_and_path_become_strings() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert to_json_safe(ident) == "12345678-1234-5678-1234-567812345678"
    assert to_json_safe(PurePosixPath("/tmp/a.txt")) == "/tmp/a.txt"


def test_path_with_undecodable_name_is_cleaned() -> None:
    path = PurePosixPath("/tmp/bad\udcff.txt")  # what os.fsdecode gives for byte 0xff
    assert to_json_safe(path) == "/tmp/bad\ufffd.txt"


def test_bytes_like_are_decoded_with_backslash_escapes() -> None:
    assert to_json_safe(b"ok\xff") == "ok\\xff"
    assert to_json_safe(bytearray("é", "utf-8")) == "é"
    assert to_json_safe(memoryview(b"mv")) == "mv"
    assert to_json_safe(b"a\x00") == "a\ufffd"


# --- containers ------------------------------------------------------------------------


def test_tuple_and_list_become_lists() -> None:
    assert to_json_safe((1, (2, [3, (4,)]))) == [1, [2, [3, [4]]]]


def test_set_becomes_sorted_list() -> None:
    assert list({32, 1, 16}) != [1, 16, 32]  # CPython iterates this set unsorted
    assert to_json_safe({32, 1, 16}) == [1, 16, 32]
    assert to_json_safe(frozenset({"b", "a"})) == ["a", "b"]


def test_unsortable_set_is_ordered_by_type_name_then_repr() -> None:
    # "NoneType" < "float" < "int" < "str": upper case sorts first
    assert to_json_safe({"b", 2.5, None, "a", 1}) == [None, 2.5, 1, "a", "b"]


def test_enum_member_becomes_its_converted_value() -> None:
    assert to_json_safe(Color.RED) == "red"
    assert to_json_safe(Color.PAIR) == [1, "NaN"]
    result = to_json_safe(Level.LOW)
    assert result == 1 and type(result) is int
    assert type(to_json_safe(Shade.DARK)) is str


def test_builtin_exception_becomes_type_and_message() -> None:
    assert to_json_safe(ValueError("boom")) == {"type": "ValueError", "message": "boom"}


def test_custom_exception_type_is_module_qualified() -> None:
    result = to_json_safe(BadStrError())
    assert isinstance(result, dict)
    assert result["type"] == f"{__name__}.BadStrError"


def test_exception_whose_str_raises_falls_back_to_repr() -> None:
    result = to_json_safe(BadStrError("x"))
    assert isinstance(result, dict)
    assert result["message"] == "BadStrError('x')"


def test_dataclass_becomes_dict_of_fields() -> None:
    value = Point(x=Point(1, dt.date(2020, 1, 2)), y=(1, 2))
    assert to_json_safe(value) == {"x": {"x": 1, "y": "2020-01-02"}, "y": [1, 2]}


def test_dataclass_class_itself_is_unserializable() -> None:
    result = to_json_safe(Point)
    assert isinstance(result, str) and result.startswith("<unserializable type:")


def test_mapping_becomes_dict() -> None:
    proxy = types.MappingProxyType({"a": (1,), "b": {"c": None}})
    assert to_json_safe(proxy) == {"a": [1], "b": {"c": None}}


def test_model_dump_result_is_used() -> None:
    model = FakeModel({"when": dt.date(2021, 3, 4), "nested": FakeModel([1])})
    assert to_json_safe(model) == {"when": "2021-03-04", "nested": [1]}


def test_failing_model_dump_falls_back_to_unserializable_marker() -> None:
    result = to_json_safe(BrokenModel())
    assert isinstance(result, str)
    assert result.startswith("<unserializable BrokenModel: <")


def test_non_str_keys_are_stringified() -> None:
    ident = uuid.UUID(int=1)
    value = {None: 1, True: 2, False: 3, 7: 4, 1.5: 5, ident: 6, (1, "a"): 7}
    assert to_json_safe(value) == {
        "null": 1,
        "true": 2,
        "false": 3,
        "7": 4,
        "1.5": 5,
        str(ident): 6,
        "(1, 'a')": 7,
    }


def test_colliding_keys_keep_the_first() -> None:
    assert to_json_safe({1: "int", "1": "str"}) == {"1": "int"}
    assert to_json_safe({"1": "str", 1: "int"}) == {"1": "str"}
    assert to_json_safe({None: "none", "null": "text"}) == {"null": "none"}


def test_key_whose_str_raises_uses_repr() -> None:
    assert to_json_safe({BadStr(): 1}) == {"BadStr()": 1}


def test_key_with_nul_is_cleaned() -> None:
    assert to_json_safe({"a\x00": 1}) == {"a\ufffd": 1}


# --- redaction -------------------------------------------------------------------------


def test_value_under_redacted_key_is_replaced_at_any_depth() -> None:
    value = {
        "Password": "hunter2",
        "user": {"name": "ann", "TOKEN": {"deep": "secret"}},
        "items": [({"token": [1, 2]},), {"other": 1}],
    }
    assert to_json_safe(value, redact_keys=SECRETS) == {
        "Password": REDACTED,
        "user": {"name": "ann", "TOKEN": REDACTED},
        "items": [[{"token": REDACTED}], {"other": 1}],
    }


def test_redacted_value_is_not_inspected() -> None:
    consumed: list[int] = []

    def gen() -> Iterator[int]:
        consumed.append(1)
        yield 1

    cycle: list[Any] = []
    cycle.append(cycle)
    result = to_json_safe({"token": gen(), "password": cycle}, redact_keys=SECRETS)
    assert result == {"token": REDACTED, "password": REDACTED}
    assert consumed == []


def test_upper_case_redact_keys_still_match() -> None:
    assert to_json_safe({"password": 1}, redact_keys=frozenset({"Password"})) == {
        "password": REDACTED
    }


def test_redact_works_on_safe_values_without_mutating_them() -> None:
    stored: JSONValue = {"a": [{"password": "x"}], "b": "keep"}
    assert redact(stored, SECRETS) == {"a": [{"password": REDACTED}], "b": "keep"}
    assert stored == {"a": [{"password": "x"}], "b": "keep"}


# --- fallbacks, depth and cycles --------------------------------------------------------


def test_unserializable_object_becomes_marker_with_repr() -> None:
    assert to_json_safe(BadStr()) == "<unserializable BadStr: BadStr()>"
    result = to_json_safe(lambda: None)
    assert isinstance(result, str) and result.startswith("<unserializable function: <function")


def test_unserializable_repr_is_cut_to_200_chars() -> None:
    class Long:
        def __repr__(self) -> str:
            return "r" * 1000

    qualname = Long.__qualname__
    assert to_json_safe(Long()) == f"<unserializable {qualname}: {'r' * 200}>"


def test_unserializable_with_failing_repr_has_type_only() -> None:
    assert to_json_safe(BadRepr()) == "<unserializable BadRepr>"


def test_generators_and_iterators_are_not_iterated() -> None:
    consumed: list[int] = []

    def gen() -> Iterator[int]:
        consumed.append(1)
        yield 1

    result = to_json_safe(gen())
    assert isinstance(result, str) and result.startswith("<unserializable generator:")
    assert consumed == []
    iterator = iter([1, 2])
    to_json_safe(iterator)
    assert next(iterator) == 1


def test_hostile_objects_do_not_raise() -> None:
    result = to_json_safe([Hostile(), BrokenMapping()])
    assert isinstance(result, list)
    assert all(isinstance(item, str) and item.startswith("<unserializable") for item in result)


def test_container_beyond_max_depth_becomes_marker() -> None:
    value = [1, [2, [3, [4]]], {"a": {"b": (5,)}}]
    assert to_json_safe(value, max_depth=2) == [
        1,
        [2, "<max depth exceeded>"],
        {"a": "<max depth exceeded>"},
    ]
    assert to_json_safe([1], max_depth=0) == "<max depth exceeded>"
    assert to_json_safe(ValueError("x"), max_depth=0) == "<max depth exceeded>"


def test_max_depth_is_clamped_to_200() -> None:
    value: Any = "leaf"
    for _ in range(300):
        value = [value]
    result = to_json_safe(value, max_depth=10_000)
    depth = 0
    while isinstance(result, list):
        result = result[0]
        depth += 1
    assert depth == 200
    assert result == "<max depth exceeded>"


def test_deep_nesting_does_not_raise_recursion_error() -> None:
    deep_list: Any = []
    deep_dict: Any = {}
    for _ in range(100_000):
        deep_list = [deep_list]
        deep_dict = {"k": deep_dict}
    for value in (deep_list, deep_dict):
        for depth in (32, 200):
            result = to_json_safe(value, max_depth=depth)
            assert json.dumps(result).count("<max depth exceeded>") == 1
            assert cap_json_size(value, 1000) is not None
            assert redact(value, SECRETS) is not None


def test_circular_reference_becomes_marker() -> None:
    looped_list: list[Any] = [1]
    looped_list.append(looped_list)
    looped_dict: dict[str, Any] = {"a": 1}
    looped_dict["self"] = {"up": looped_dict}
    node = Point(x=1)
    node.y = [node]
    assert to_json_safe(looped_list) == [1, "<circular reference>"]
    assert to_json_safe(looped_dict) == {"a": 1, "self": {"up": "<circular reference>"}}
    assert to_json_safe(node) == {"x": 1, "y": ["<circular reference>"]}


def test_shared_object_without_cycle_is_converted_each_time() -> None:
    shared = [1, 2]
    result = to_json_safe({"a": shared, "b": shared, "c": [shared]})
    assert result == {"a": [1, 2], "b": [1, 2], "c": [[1, 2]]}
    assert isinstance(result, dict) and result["a"] is not result["b"]


# --- truncate_text -------------------------------------------------------------------


def test_truncate_text_keeps_none() -> None:
    assert truncate_text(None, 100) is None


def test_truncate_text_keeps_short_text_but_cleans_it() -> None:
    assert truncate_text("ab\x00", 3) == "ab\ufffd"


def test_truncate_text_appends_accurate_marker_within_limit() -> None:
    for length in (65, 100, 999, 12_345, 1_000_000):
        text = "x" * length
        for limit in (64, 65, 100, 1000, length - 1):
            if limit >= length:
                continue
            result = truncate_text(text, limit)
            assert result is not None and len(result) <= limit
            kept, _, marker = result.partition("\n…[truncated ")
            assert marker.endswith(" characters]")
            assert len(kept) + int(marker.removesuffix(" characters]")) == length


def test_truncate_text_below_marker_length_cuts_plainly() -> None:
    assert truncate_text("abcdefghij", 5) == "abcde"
    assert truncate_text("abc", 0) == ""
    assert truncate_text("abc", -3) == ""


# --- cap_json_size -------------------------------------------------------------------


def test_cap_json_size_returns_small_value_unchanged() -> None:
    value: JSONValue = {"a": [1, 2, "é"]}
    assert cap_json_size(value, dumped_size(value)) is value


def test_cap_json_size_replaces_big_value_with_preview() -> None:
    value: JSONValue = {"text": 'é"\\\n🎉' * 2000}
    full = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    result = cap_json_size(value, 500)
    assert isinstance(result, dict)
    assert result["_truncated"] is True
    assert result["original_bytes"] == len(full.encode())
    preview = result["preview"]
    assert isinstance(preview, str) and full.startswith(preview)
    assert dumped_size(result) <= 500
    longer = {**result, "preview": full[: len(preview) + 1]}
    assert dumped_size(longer) > 500  # the preview is as long as the limit allows


def test_cap_json_size_with_tiny_limit_returns_none() -> None:
    assert cap_json_size("x" * 100, 10) is None


def test_cap_json_size_sanitises_values_json_rejects() -> None:
    assert cap_json_size([float("nan"), "\ud800"], 1000) == ["NaN", "\ufffd"]


# --- property tests ------------------------------------------------------------------

any_text = st.text(
    st.one_of(st.characters(), st.characters(codec=None, categories=["Cs"]), st.just("\x00"))
)
hashables = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    any_text,
    st.binary(),
    st.uuids(),
    st.dates(),
    st.sampled_from([Level.LOW, Shade.DARK, Color.RED]),
    st.tuples(st.integers(), any_text),
)
leaves = st.one_of(
    hashables,
    st.decimals(allow_nan=True, allow_infinity=True),
    st.just(Decimal("NaN")),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC))),
    st.times(),
    st.timedeltas(),
    st.binary().map(bytearray),
    st.binary().map(lambda data: memoryview(data)),
    any_text.map(PurePosixPath),
    st.sampled_from(list(Color)),
    any_text.map(ValueError),
    st.builds(object),
    st.builds(BadRepr),
    st.builds(BrokenModel),
    st.builds(lambda: (i for i in range(3))),
)
secret_keys = st.sampled_from(["password", "Password", "TOKEN", "token", "name", "x"])


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(hashables, secret_keys), children, max_size=4),
        st.frozensets(hashables, max_size=4),
        st.sets(hashables, max_size=4),
        st.builds(Point, children, children),
        st.builds(FakeModel, children),
        children.map(lambda child: types.MappingProxyType({"inner": child})),
    )


values = st.recursive(leaves, containers, max_leaves=25)
PROPERTY_SETTINGS = settings(deadline=None, max_examples=200)


@PROPERTY_SETTINGS
@given(values)
def test_property_output_is_storable_json(value: Any) -> None:
    result = to_json_safe(value)
    json.dumps(result, allow_nan=False)
    json.dumps(result, ensure_ascii=False, allow_nan=False).encode("utf-8")
    for node in walk(result):
        assert type(node) in (type(None), bool, int, float, str, list, dict)
        if isinstance(node, str):
            assert "\x00" not in node
            node.encode("utf-8")


@PROPERTY_SETTINGS
@given(values, st.integers(min_value=0, max_value=5))
def test_property_conversion_is_idempotent(value: Any, max_depth: int) -> None:
    once = to_json_safe(value, max_depth=max_depth)
    assert canonical(to_json_safe(once)) == canonical(once)
    assert canonical(to_json_safe(once, max_depth=max_depth)) == canonical(once)


@PROPERTY_SETTINGS
@given(values)
def test_property_redaction_leaves_no_secret_value(value: Any) -> None:
    for result in (to_json_safe(value, redact_keys=SECRETS), redact(to_json_safe(value), SECRETS)):
        for node in walk(result):
            if isinstance(node, dict):
                for key, item in node.items():
                    if key.lower() in SECRETS:
                        assert item == REDACTED


@PROPERTY_SETTINGS
@given(values, st.integers(min_value=200, max_value=3000))
def test_property_capped_size_never_exceeds_limit(value: Any, max_bytes: int) -> None:
    safe = to_json_safe(value)
    result = cap_json_size(safe, max_bytes)
    assert dumped_size(result) <= max_bytes
    if dumped_size(safe) <= max_bytes:
        assert result is safe
    else:
        assert isinstance(result, dict) and result["_truncated"] is True
