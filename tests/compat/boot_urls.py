"""The README's URLconf line, alone (the boot test installs no admin)."""

from django.urls import include, path

urlpatterns = [path("api/v1/tasks/", include("agentcore_task.adapters.django.urls"))]
