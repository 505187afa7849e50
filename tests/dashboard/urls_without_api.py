"""The test URLconf without the REST API: the dashboard must still render, without live data."""

from tests.urls import urlpatterns as base_patterns

urlpatterns = [pattern for pattern in base_patterns if str(pattern.pattern) != "api/v1/tasks/"]
