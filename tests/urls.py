"""URLconf of the test project: the API where the README says to mount it, its schema, the
dashboard at /tasks/ and a plain login page (the host's LOGIN_URL) for the browser tests."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/tasks/", include("agentcore_task.adapters.django.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("tasks/", include("agentcore_task.dashboard.urls")),
    path("accounts/login/", LoginView.as_view(template_name="tests/login.html"), name="login"),
]
