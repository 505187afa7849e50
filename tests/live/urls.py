"""The test project's URLs, plus a page that draws celery-progress's bar (tests/browser).

``celery-progress.js`` is the file shipped in the celery-progress package, served as is; the
page only points ``CeleryProgressBar`` at this API's ``progress/{task_id}/``. The test project
sends a strict Content-Security-Policy (tests/csp.py), so the page has no inline script or
style: a served ``progress-init.js`` reads the URL from the page's ``data-progress-url``.
"""

from pathlib import Path

import celery_progress
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import escape

from tests.urls import urlpatterns as project_urls

SCRIPT = Path(celery_progress.__file__).parent / "static" / "celery_progress" / "celery_progress.js"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>progress</title></head>
<body data-progress-url="/api/v1/tasks/progress/{task_id}/">
<div class="progress-wrapper">
  <div id="progress-bar">&nbsp;</div>
</div>
<div id="progress-bar-message">Waiting for progress to start...</div>
<div id="celery-result"></div>
<script src="/celery-progress.js"></script>
<script src="/progress-init.js"></script>
</body></html>"""

INIT = """CeleryProgressBar.initProgressBar(document.body.dataset.progressUrl, {pollInterval: 200});
"""


def progress_page(request: HttpRequest, task_id: str) -> HttpResponse:
    return HttpResponse(PAGE.replace("{task_id}", escape(task_id)))


def progress_init(request: HttpRequest) -> HttpResponse:
    return HttpResponse(INIT, content_type="text/javascript")


def progress_script(request: HttpRequest) -> HttpResponse:
    return HttpResponse(SCRIPT.read_bytes(), content_type="text/javascript")


urlpatterns = [
    path("celery-progress.js", progress_script),
    path("progress-init.js", progress_init),
    path("progress-page/<str:task_id>/", progress_page),
    *project_urls,
]
