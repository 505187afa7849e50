"""ASGI entry point of the demo: ``uvicorn demo.asgi:application`` (docker compose, make demo).

ASGI, so that the live streams (``executions/stream/``) push each change; under WSGI they
fall back to polling (docs/live.md).
"""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

# As in demo/wsgi.py: the demo serves its own static files so that it needs no web server in
# front; a production project lets whitenoise, nginx or a CDN serve them.
application = ASGIStaticFilesHandler(get_asgi_application())
