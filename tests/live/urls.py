"""The test project's URLs, plus a page that draws celery-progress's bar (tests/browser).

``celery-progress.js`` is the file shipped in the celery-progress package, served as is; the
page only points ``CeleryProgressBar`` at this API's ``progress/{task_id}/``.
"""

from pathlib import Path

import celery_progress
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import escapejs

from tests.urls import urlpatterns as project_urls

SCRIPT = Path(celery_progress.__file__).parent / "static" / "celery_progress" / "celery_progress.js"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>progress</title></head><body>
<div class="progress-wrapper" style="width: 200px; border: 1px solid #999">
  <div id="progress-bar" style="width: 0%; height: 10px">&nbsp;</div>
</div>
<div id="progress-bar-message">Waiting for progress to start...</div>
<div id="celery-result"></div>
<script src="/celery-progress.js"></script>
<script>
  CeleryProgressBar.initProgressBar("/api/v1/tasks/progress/{task_id}/", {pollInterval: 200});
</script>
</body></html>"""


def progress_page(request: HttpRequest, task_id: str) -> HttpResponse:
    response = HttpResponse(PAGE.replace("{task_id}", escapejs(task_id)))
    # celery-progress's way is an inline script and inline styles: this page, like a host's
    # page using it, brings its own policy instead of the test project's strict one.
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
    )
    return response


def progress_script(request: HttpRequest) -> HttpResponse:
    return HttpResponse(SCRIPT.read_bytes(), content_type="text/javascript")


urlpatterns = [
    path("celery-progress.js", progress_script),
    path("progress-page/<str:task_id>/", progress_page),
    *project_urls,
]
