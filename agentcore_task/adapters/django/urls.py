"""The contract's URLconf path: ``include("agentcore_task.adapters.django.urls")``."""

from agentcore_task.api.urls import app_name, urlpatterns

__all__ = ["app_name", "urlpatterns"]
