"""The API mounted as the README says, without drf-spectacular's schema view."""

from django.urls import include, path

urlpatterns = [path("api/v1/tasks/", include("agentcore_task.api.urls"))]
