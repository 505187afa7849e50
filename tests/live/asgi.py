"""The test project as an ASGI application, for uvicorn (tests/live/server.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.live.settings")
application = get_asgi_application()
