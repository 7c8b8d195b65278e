"""Per-key rate limits: a token bucket per API key, 429 with Retry-After once it is empty."""

import pytest

from service.access.rate_limit import RateLimiter
from service.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_may_burst_then_waits_for_tokens_at_the_rate():
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.admit(1)
    with pytest.raises(RateLimited) as refused:
        limiter.admit(1)
    assert refused.value.status_code == 429
    assert refused.value.retry_after == pytest.approx(0.5)
    assert refused.value.headers == {"Retry-After": "1"}
    clock.now += 0.5
    limiter.admit(1)
    with pytest.raises(RateLimited):
        limiter.admit(1)
    clock.now += 60
    for _ in range(3):
        limiter.admit(1)
    with pytest.raises(RateLimited):
        limiter.admit(1), "refilled up to the burst, not beyond"


def test_keys_have_their_own_buckets():
    limiter = RateLimiter(rate=1, burst=1, clock=Clock())
    limiter.admit("a")
    with pytest.raises(RateLimited):
        limiter.admit("a")
    limiter.admit("b")


def test_refused_requests_do_not_push_the_wait_further():
    clock = Clock()
    limiter = RateLimiter(rate=0.25, burst=1, clock=clock)
    limiter.admit(1)
    for _ in range(5):
        with pytest.raises(RateLimited) as refused:
            limiter.admit(1)
    assert refused.value.headers == {"Retry-After": "4"}
    clock.now += 4
    limiter.admit(1)


def test_rate_zero_admits_everything():
    limiter = RateLimiter(rate=0, burst=1, clock=Clock())
    for _ in range(100):
        limiter.admit(1)


@pytest.fixture
def settings(settings):
    """Three requests at once per key, then one every twenty seconds."""
    settings.rate_limit, settings.rate_limit_burst = 0.05, 3
    return settings


def test_the_api_answers_429_with_retry_after_per_key(api):
    farm = api.as_("farm")
    for _ in range(3):
        assert api.client.get("/v1/events", headers=farm).status_code == 200
    refused = api.client.get("/v1/events", headers=farm)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "20"
    body = refused.json()
    assert body["error"] == "RateLimited" and body["field"] is None and "retry in 20 s" in body["detail"]
    assert api.client.get("/v1/events", headers=api.as_("auditor")).status_code == 200, "another key's bucket is full"
    unknown = api.client.get("/v1/events", headers={"Authorization": "Bearer not-a-key"})
    assert unknown.status_code == 401, "an unknown token is refused before any bucket is touched"


def test_429_is_documented_wherever_401_is(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    operations = [operation for item in paths.values() for operation in item.values() if isinstance(operation, dict)]
    authenticated = [operation for operation in operations if "401" in operation.get("responses", {})]
    assert authenticated
    for operation in authenticated:
        limited = operation["responses"]["429"]
        assert "Retry-After" in limited["headers"]
        assert limited["content"] in ({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}},
                                      {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}})
