"""servey_faas: write a Python function once, serve it as REST, GraphQL and OpenAPI, run it on a
schedule, and deploy it as an OpenFaaS function.

Importing this package only defines the decorator and its metadata types: no app is built, no
thread is started and no web, schema or GraphQL library is imported.
"""

from servey_faas.access_control import ALLOW_ALL, ALLOW_NONE, ScopeAccessControl
from servey_faas.action import Action, action, get_action
from servey_faas.authorization import Authorization
from servey_faas.cache_control import ETagCacheControl, TtlCacheControl
from servey_faas.errors import ServeyFaasError
from servey_faas.examples import Example
from servey_faas.triggers import (
    WEB_DELETE,
    WEB_GET,
    WEB_PATCH,
    WEB_POST,
    WEB_PUT,
    CronTrigger,
    FixedRateTrigger,
    WebTrigger,
)

__version__ = "0.1.0"

__all__ = [
    "ALLOW_ALL",
    "ALLOW_NONE",
    "WEB_DELETE",
    "WEB_GET",
    "WEB_PATCH",
    "WEB_POST",
    "WEB_PUT",
    "Action",
    "Authorization",
    "CronTrigger",
    "ETagCacheControl",
    "Example",
    "FixedRateTrigger",
    "ScopeAccessControl",
    "ServeyFaasError",
    "TtlCacheControl",
    "WebTrigger",
    "action",
    "get_action",
]
