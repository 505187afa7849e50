"""The URLconf of the API reference: the app mounted where the README tells users to."""

from django.urls import include, path

urlpatterns = [path("api/v1/tasks/", include("agentcore_task.adapters.django.urls"))]
