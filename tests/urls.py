"""URLconf of the test project: the API where the README says to mount it, and its schema."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/tasks/", include("agentcore_task.adapters.django.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]
