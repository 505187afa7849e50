"""A strict Content-Security-Policy for the test project (Django 5.2 has no CSP middleware).

Nothing inline and nothing from elsewhere: no ``'unsafe-inline'``, no ``'unsafe-eval'``, no
CDN. A page that relied on an inline script or style would break under it, and the browser
tests, which fail on any console error, would report the violation.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class StrictContentSecurityPolicy:
    """Add :data:`POLICY` to every response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
