"""The original's response controls for ``metadata``, in one place for every response.

``include_metadata=false`` answers ``"metadata": null`` (the key stays, as the original's
clients expect) and ``metadata_fields=a,b`` keeps only those top-level keys. The view parses
them once per request (:func:`metadata_controls`, a 400 naming the parameter when malformed)
and puts them in the serializer context; :class:`ShapedMetadataField` applies them to whatever
serializer declares it (list items, details, and anything built from them), so a new endpoint
or a new detail field needs nothing more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from agentcore_task.api.openapi import extend_schema_field
from agentcore_task.api.scoping import FALSE_WORDS

__all__ = [
    "CONTEXT_KEY",
    "TRUE_WORDS",
    "MetadataControls",
    "ShapedMetadataField",
    "metadata_controls",
    "read_flag",
]

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
CONTEXT_KEY = "metadata_controls"
JSON_OBJECT = {"type": "object", "additionalProperties": True}


def read_flag(params: Mapping[str, Any], name: str, default: bool) -> bool:
    """Return the boolean query parameter ``name`` (true/false, 1/0, yes/no, on/off).

    Raises:
        ValidationError: any other value (a 400 naming the parameter).
    """
    raw = params.get(name)
    if raw is None:
        return default
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError({name: [f"Enter true or false, not {raw!r}."]})


@dataclasses.dataclass(frozen=True)
class MetadataControls:
    """What a response shows of ``metadata``: all of it, some keys, or null."""

    include: bool = True
    keys: tuple[str, ...] | None = None

    def shape(self, instance: Any) -> Any:
        """Return the metadata ``instance`` shows under these controls.

        A list query may have computed the subset in SQL (``metadata_subset``) and deferred
        the column; it is used then, so the column is never loaded.
        """
        if not self.include:
            return None
        if self.keys is None:
            return instance.metadata
        subset = getattr(instance, "metadata_subset", None)
        if subset is not None:
            return subset
        metadata = instance.metadata or {}
        return {key: metadata[key] for key in self.keys if key in metadata}


def metadata_controls(params: Mapping[str, Any]) -> MetadataControls:
    """Parse ``include_metadata`` and ``metadata_fields`` from the query parameters.

    Raises:
        ValidationError: ``include_metadata`` is not a boolean word, or ``metadata_fields``
            names no key.
    """
    include = read_flag(params, "include_metadata", True)
    wanted = params.get("metadata_fields")
    if wanted is None:
        return MetadataControls(include=include)
    keys = tuple(dict.fromkeys(key.strip() for key in str(wanted).split(",") if key.strip()))
    if not keys:
        raise ValidationError({"metadata_fields": ["Name at least one metadata key."]})
    return MetadataControls(include=include, keys=keys)


@extend_schema_field({**JSON_OBJECT, "nullable": True})
class ShapedMetadataField(serializers.JSONField):
    """``metadata`` as the request's controls shape it (null with ``include_metadata=false``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        controls = self.context.get(CONTEXT_KEY) or MetadataControls()
        return controls.shape(instance)
