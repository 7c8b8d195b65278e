"""The API's request and response models, one module per resource: what the API promises, and what
OpenAPI (and schemathesis) checks.

One naming scheme, after the FastAPI template, so that a model's name says which way it travels:

- ``XCreate``: a request body that creates an X (``KeyCreate``, ``GrantCreate``, ``LabelCreate``);
  ``XQuery``: a request body that asks about Xs without creating anything (``FraudScoreQuery``);
  the parts of a request body carry its suffix too.
- ``XPublic``: an X as the API answers it; ``XsPublic``: several Xs answered at once (the outcome
  of a submission); ``XPage``: one page of a listing of Xs (``nextPageToken``, see
  service.read.pagination).
- ``XBase``: fields several models share, never sent alone (``PageBase``).

Every moment in an answer is a :data:`~service.timeutil.UtcDateTime` (ISO 8601, UTC, ``Z``). Routers
import their models from here; services return typed objects (dataclasses), never dicts, which the
``of`` class methods turn into these models.
"""
