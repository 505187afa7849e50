"""URLs of the demo: the executions API where the README mounts it, its schema, the admin and
the dashboard at /tasks/."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    # GET /api/v1/tasks/executions/, .../stats/, .../by-task-id/<id>/, ...
    path("api/v1/tasks/", include("agentcore_task.adapters.django.urls")),
    # The OpenAPI schema and Swagger UI (its files come from drf-spectacular-sidecar: offline).
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Log in / out links of DRF's browsable API (session authentication).
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
    # The dashboard: overview, executions with live progress bars, one execution's story.
    path("tasks/", include("agentcore_task.dashboard.urls")),
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
]
