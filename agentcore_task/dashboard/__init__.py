"""The dashboard: server-rendered pages over the executions, mounted by the host project.

``path("tasks/", include("agentcore_task.dashboard.urls"))``. Django templates, one JavaScript
module and one stylesheet (static files, no build step, nothing inline, so a strict
Content-Security-Policy holds). Every page reads through the same query layer as the REST
API (``visible_to``, ``matching``, ``parse_filters``, the stats service), so a user sees here
exactly the rows the API would give them. It sits at the edge, beside the API and the admin.
"""
