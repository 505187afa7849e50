"""The test project as an ASGI application, for uvicorn (tests/live/server.py).

Static files are served too (``ASGIStaticFilesHandler``, as ``runserver`` does), so the
dashboard's pages load their script and stylesheet from this server in the browser tests.
"""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.live.settings")
application = ASGIStaticFilesHandler(get_asgi_application())
