"""The REST API: DRF views, django-filter filters and the scoping rules, under api/v1/tasks/."""
