"""Named queries under /epcis/queries, through HTTP: validated against the standard's query schema,
per party, run through the same query language as GET /epcis/events with the caller's visibility."""

from test_epcis_query import capture, get_document


def test_a_named_query_is_saved_listed_run_and_deleted_per_party(api):
    capture(api, "Example_9.6.1-ObjectEvent.jsonld")
    capture(api, "Example_9.6.3-AggregationEvent.jsonld", who="processor")
    body = {"name": "objects", "query": {"eventType": ["ObjectEvent", "AggregationEvent"]}}
    created = api.client.post("/epcis/queries", json=body, headers=api.as_("farm"))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/epcis/queries/objects"
    assert api.client.post("/epcis/queries", json=body, headers=api.as_("farm")).status_code == 409
    assert api.client.post("/epcis/queries", json=body, headers=api.as_("processor")).status_code == 201  # names are per party
    assert [q["name"] for q in api.client.get("/epcis/queries", headers=api.as_("farm")).json()] == ["objects"]

    _, farm = get_document(api, "/epcis/queries/objects/events")
    _, direct = get_document(api, "/epcis/events", eventType="ObjectEvent,AggregationEvent")
    assert farm == direct and farm and {e["type"] for e in farm} == {"ObjectEvent"}  # the farm's own only
    response, first = get_document(api, "/epcis/queries/objects/events", perPage="1")
    following = response.headers["Link"].split(">")[0][1:]
    assert following.startswith("/epcis/queries/objects/events?") and "eventType" not in following
    second = api.client.get(following, headers=api.as_("farm"))
    assert second.status_code == 200, second.text
    assert second.json()["epcisBody"]["queryResults"]["queryName"] == "objects"
    assert [first[0], *second.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]][:2] == farm[:2]

    assert api.client.delete("/epcis/queries/objects", headers=api.as_("farm")).status_code == 204
    assert api.client.get("/epcis/queries/objects", headers=api.as_("farm")).status_code == 404
    assert api.client.get("/epcis/queries/objects", headers=api.as_("processor")).status_code == 200


def test_a_query_outside_the_schema_or_the_language_is_refused_naming_the_field(api):
    for query, field in (({"eventType": "ObjectEvent"}, "query.eventType"), ({"nonsense": ["x"]}, "query"),
                         ({"EXISTS_sensorElementList": ""}, "query.EXISTS_sensorElementList"), ({"GT_quantity": "many"}, "query.GT_quantity")):
        response = api.client.post("/epcis/queries", json={"name": "bad", "query": query}, headers=api.as_("farm"))
        assert response.status_code == 400, response.text
        assert response.json()["field"] == field, response.json()
    assert api.client.get("/epcis/queries/bad", headers=api.as_("farm")).status_code == 404


def test_list_values_keep_their_commas_and_numbers_compare(api):
    """A JSON list's values are joined with `|`, the standard's separator, so a comma stays in its value."""
    event = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "ObjectEvent",
             "eventTime": "2026-09-01T07:55:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
             "epcList": [], "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": 7.5, "uom": "KGM"}],
             "sensorElementList": [{"sensorReport": [{"type": "Temperature", "stringValue": "dry, cool"}]}]}
    assert api.client.post("/v1/events", json=event, headers=api.as_("farm")).status_code == 201
    for name, query, count in (("dry", {"EQ_stringValue": ["wet", "dry, cool"], "GT_quantity": 7}, 1),
                               ("split", {"EQ_stringValue": ["dry", "cool"]}, 0), ("heavy", {"GT_quantity": 7.5}, 0)):
        assert api.client.post("/epcis/queries", json={"name": name, "query": query}, headers=api.as_("farm")).status_code == 201
        response = api.client.get(f"/epcis/queries/{name}/events", headers=api.as_("farm"))
        assert response.status_code == 200, response.text
        assert len(response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == count, name


def test_a_query_named_beyond_latin_1_gets_its_location_url_encoded(api):
    """Found by schemathesis: a name outside Latin-1 cannot be a raw header value (it was a 500)."""
    response = api.client.post("/epcis/queries", json={"name": "jus_d'orange_🍊", "query": {}}, headers=api.as_("farm"))
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/epcis/queries/jus_d%27orange_%F0%9F%8D%8A"
    assert api.client.get(response.headers["Location"], headers=api.as_("farm")).json()["name"] == "jus_d'orange_🍊"


def _walk(api, path: str, who: str = "farm", per_page: int = 2) -> list[list]:
    """Every page of a listing, following its Link headers (at most 10)."""
    pages, url = [], f"{path}?perPage={per_page}"
    for _ in range(10):
        response = api.client.get(url, headers=api.as_(who))
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if "Link" not in response.headers:
            return pages
        url = response.headers["Link"].removeprefix("<").split(">;")[0]
    raise AssertionError("more than 10 pages")


def test_named_queries_and_their_subscriptions_are_listed_in_pages(api):
    api.ledger.settings.webhook_allow_hosts = "127.0.0.1"
    for name in ("c", "a", "b"):
        assert api.client.post("/epcis/queries", json={"name": name, "query": {}}, headers=api.as_("farm")).status_code == 201
    api.client.post("/epcis/queries", json={"name": "other", "query": {}}, headers=api.as_("processor"))
    pages = _walk(api, "/epcis/queries")
    assert [[query["name"] for query in page] for page in pages] == [["a", "b"], ["c"]]
    made = [api.client.post("/epcis/queries/a/subscriptions", headers=api.as_("farm"),
                            json={"dest": f"http://127.0.0.1:9/{n}", "signatureToken": "t", "stream": True}).json()["subscriptionID"]
            for n in range(3)]
    pages = _walk(api, "/epcis/queries/a/subscriptions")
    assert [len(page) for page in pages] == [2, 1]
    assert [one["subscriptionID"] for page in pages for one in page] == made
    assert api.client.get("/epcis/queries?nextPageToken=forged", headers=api.as_("farm")).status_code == 400
