"""The test URLconf plus stand-ins for the API's stream and operate routes (issues #13, #14).

The dashboard offers a stream URL and operator buttons only when the API resolves them; these
routes let the tests show that the pages pick them up by name and path alone.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from agentcore_task.api.urls import urlpatterns as api_patterns
from tests.urls import urlpatterns as base_patterns


def _stand_in(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return HttpResponse(status=204)


api = (
    [
        path("executions/stream/", _stand_in, name="execution-stream"),
        path("executions/<int:pk>/stream/", _stand_in, name="execution-stream-detail"),
        path("executions/<int:pk>/revoke/", _stand_in, name="execution-revoke"),
        path("executions/<int:pk>/retry/", _stand_in, name="execution-retry"),
        *api_patterns,
    ],
    "agentcore_task",
)

urlpatterns = [
    path("api/v1/tasks/", include(api)),
    *(pattern for pattern in base_patterns if str(pattern.pattern) != "api/v1/tasks/"),
]
