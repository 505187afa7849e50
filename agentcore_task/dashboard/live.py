"""Where the page's script reads live data: the REST API's URLs, found by ``reverse``.

The script polls the API's list and detail endpoints (the same rows the page shows, so the
same scoping) and switches to the server-sent event streams when the API has them: a stream
URL is handed to the page only when it resolves to a streaming view of the API, so a project
without them never sees a failed request. Nothing here hard-codes where the API is mounted.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, Resolver404, resolve, reverse

API_NAMESPACE = "agentcore_task"
LIVE_METADATA = "progress_percent,progress_message,progress_step"


def api_list_url() -> str | None:
    """Return the API's executions list URL, or None when the host does not mount the API."""
    try:
        return reverse(f"{API_NAMESPACE}:execution-list")
    except NoReverseMatch:
        return None


def _streaming(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return path if "stream" in (match.url_name or "") else None


def list_stream_url(api: str | None) -> str | None:
    """Return the list's event stream (``executions/stream/``) when the API serves one."""
    return _streaming(f"{api}stream/") if api else None


def detail_stream_url(api: str | None, pk: int) -> str | None:
    """Return one execution's event stream (``executions/{id}/stream/``) when served."""
    return _streaming(f"{api}{pk}/stream/") if api else None
