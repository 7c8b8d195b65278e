"""API keys: the last live admin key cannot be revoked (HTTP, CLI, concurrent revocations)."""

import threading

import pytest
from sqlmodel import select

from service.cli import main
from service.errors import Conflict
from service.access.keys import create_key, revoke_key
from service.models import ApiKey, Role


def admin_ids(api, headers: dict) -> list[int]:
    keys = api.client.get("/v1/keys", params={"perPage": 1000}, headers=headers).json()["keys"]
    return [key["id"] for key in keys if key["role"] == "admin" and key["revoked_at"] is None]


def test_an_admin_cannot_lock_everyone_out(api):
    (only,) = admin_ids(api, api.as_("admin"))
    refused = api.client.delete(f"/v1/keys/{only}", headers=api.as_("admin"))
    assert refused.status_code == 409 and refused.json()["field"] == "key_id"
    assert "last live admin key" in refused.json()["detail"]
    assert admin_ids(api, api.as_("admin")) == [only], "nothing was revoked"

    second = api.client.post("/v1/keys", json={"role": "admin", "party": "ops"}, headers=api.as_("admin")).json()
    assert api.client.delete(f"/v1/keys/{only}", headers=api.as_("admin")).status_code == 200, "another admin is left"
    headers = {"Authorization": f"Bearer {second['key']}"}
    assert api.client.delete(f"/v1/keys/{second['id']}", headers=headers).status_code == 409
    assert api.client.delete(f"/v1/keys/{only}", headers=headers).status_code == 200, "revoking twice is harmless"
    assert admin_ids(api, headers) == [second["id"]]
    other = api.client.get("/v1/keys", headers=headers).json()["keys"]
    non_admin = next(key["id"] for key in other if key["role"] != "admin")
    assert api.client.delete(f"/v1/keys/{non_admin}", headers=headers).status_code == 200


def test_the_cli_refuses_too(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TRACEANCHOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRACEANCHOR_DATABASE_URL", raising=False)
    assert main(["migrate"]) == 0
    assert main(["keys", "create", "--role", "admin", "--party", "ops"]) == 0
    assert main(["keys", "create", "--role", "auditor", "--party", "audit-co"]) == 0
    capsys.readouterr()
    assert main(["keys", "revoke", "1"]) == 2
    assert "last live admin key" in capsys.readouterr().err
    assert main(["keys", "revoke", "2"]) == 0
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "revoked" in listing and "active" in listing.split("\n")[-2], listing


def test_two_concurrent_revocations_cannot_remove_the_last_two_admins(ledger):
    """The first revocation holds its transaction open while the second starts: the second must wait
    for it (row locks on PostgreSQL, the write lock on SQLite), then see that it would revoke the
    last admin key. Without the lock both would pass, each counting the other key as live."""
    with ledger.session() as session:
        first, _ = create_key(session, role=Role.ADMIN, party="ops")
        second, _ = create_key(session, role=Role.ADMIN, party="ops")
    outcome: dict[str, object] = {}

    def revoke_second() -> None:
        try:
            with ledger.session() as session:
                revoke_key(session, key_id=second.id)
            outcome["second"] = "revoked"
        except Conflict as error:
            outcome["second"] = error

    with ledger.session() as session:
        revoke_key(session, key_id=first.id)
        racer = threading.Thread(target=revoke_second)
        racer.start()
        racer.join(timeout=1.0)
        finished_early = not racer.is_alive()
    racer.join(timeout=30)
    assert not racer.is_alive()
    assert not finished_early, f"the second revocation did not wait for the first: {outcome}"
    assert isinstance(outcome["second"], Conflict)
    with ledger.session() as session:
        live = session.exec(select(ApiKey.id).where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None))).all()
    assert live == [second.id]


def test_a_refused_revocation_changes_nothing_even_if_the_caller_commits(ledger):
    with ledger.session() as session:
        admin, _ = create_key(session, role=Role.ADMIN, party="ops")
    with ledger.session() as session:  # commits on leaving, the Conflict having been handled
        with pytest.raises(Conflict):
            revoke_key(session, key_id=admin.id)
    with ledger.session() as session:
        assert session.get(ApiKey, admin.id).revoked_at is None
