"""WSGI entry point of the demo: ``gunicorn demo.wsgi:application`` (docker compose)."""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

# The demo serves its own static files (admin, Swagger UI from drf-spectacular-sidecar) so
# that it needs no web server in front. A production project runs collectstatic and lets
# whitenoise, nginx or a CDN serve them instead.
application = StaticFilesHandler(get_wsgi_application())
