"""The ``/epcis`` router: the binding's resources, ``GET /epcis/`` listing them, and ``OPTIONS`` on
every path answering 204 with ``Allow`` and the GS1 capability headers.

Keys and roles are those of ``/v1`` (``service.api.deps``); so are the shared request rules (no NUL
character, no undeclared query parameter). Errors are problems (``service.api.epcis.problems``).
"""

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute

from service.api.deps import Reader, plain_parameters, reject_unknown_query_parameters
from service.api.epcis import browse, capture, events, queries, subscriptions
from service.api.epcis.documents import DEFAULT_EPC_FORMAT, CapturedEvent, Collection, QueryDocument
from service.api.epcis.problems import Problem, problem_responses
from service.settings import Settings

GS1_HEADERS = {
    "GS1-EPCIS-Version": "2.0.0",
    "GS1-EPCIS-Min": "2.0.0",
    "GS1-EPCIS-Max": "2.0.0",
    "GS1-CBV-Version": "2.0.0",
    "GS1-Extensions": "",
    "GS1-EPC-Format": DEFAULT_EPC_FORMAT,
    "GS1-Vendor-Version": "traceanchor-0.1.0",
}
RESOURCES = ("events", "capture", *browse.RESOURCES, "epcs", "queries")
RESOURCE_ROUTERS = (events, capture, browse, queries, subscriptions)
#: paths whose OPTIONS answer more headers, from the settings
EXTRA_HEADERS = {"/capture": capture.capture_headers}
MODELS = (Problem, QueryDocument, CapturedEvent, *queries.BODY_MODELS, *subscriptions.BODY_MODELS)  # published in the OpenAPI components: the error responses and bodies refer to them


def build() -> APIRouter:
    """The binding, with an ``OPTIONS`` route for every path it serves."""
    router = APIRouter(prefix="/epcis", dependencies=[Depends(plain_parameters), Depends(reject_unknown_query_parameters)],
                       responses=problem_responses(400, 401, 403, 404, 406, 413, 429))
    router.add_api_route("/", index, methods=["GET"], tags=["epcis"], response_model=Collection, response_model_exclude_none=True)
    methods: dict[str, set[str]] = {"/": {"GET"}}
    for module in RESOURCE_ROUTERS:
        router.include_router(module.router)
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                methods.setdefault(route.path, set()).update(route.methods)
    for path, allowed in methods.items():
        router.add_api_route(path, _options(sorted(allowed | {"OPTIONS"}), EXTRA_HEADERS.get(path)), methods=["OPTIONS"], status_code=204,
                             include_in_schema=False)
    return router


def index(caller: Reader) -> Collection:
    """The top-level resources of the binding."""
    return Collection(member=list(RESOURCES))


def _options(allowed: list[str], extra: Callable[[Settings], dict[str, str]] | None):
    def options(request: Request) -> Response:
        """The methods allowed on this path and the versions and formats served (no key needed)."""
        more = extra(request.app.state.runtime.settings) if extra else {}
        return Response(status_code=204, headers={"Allow": ", ".join(allowed), **GS1_HEADERS, **more})

    return options
