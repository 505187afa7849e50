"""The test settings of a host project that did not install the ``openapi`` extra."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, REST_FRAMEWORK

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "drf_spectacular"]
REST_FRAMEWORK = {key: value for key, value in REST_FRAMEWORK.items() if "SCHEMA" not in key}
ROOT_URLCONF = "tests.urls_without_openapi"
