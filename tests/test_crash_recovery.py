"""Exactly-once anchoring across real process kills (SIGKILL) at the dangerous moments."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from service.ledger import Ledger
from service.models import Batch, BatchStatus, Record
from service.verification import VerificationStatus, verify_record

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = CHILD.parents[1]
pytestmark = pytest.mark.slow


def child_env(settings) -> dict[str, str]:
    """The parent's settings as TRACEANCHOR_* variables, and the project on the import path."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRACEANCHOR_DATA_DIR": str(settings.data_dir),
        "TRACEANCHOR_DATABASE_URL": settings.database_url,
        "TRACEANCHOR_BATCH_SIZE": str(settings.batch_size),
        "TRACEANCHOR_BATCH_AGE": str(settings.batch_age),
    }


def child(settings, *args, check_killed=False, timeout=120):
    env = child_env(settings)
    process = subprocess.run([sys.executable, str(CHILD), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check_killed:
        assert process.returncode == -signal.SIGKILL, process.stderr
    else:
        assert process.returncode == 0, process.stderr
    return process


def assert_exactly_once(settings, expected_records):
    ledger = Ledger(settings)
    try:
        chain = ledger.chain
        with ledger.session() as session:
            records = session.exec(select(Record)).all()
            batches = session.exec(select(Batch)).all()
            assert len(records) == expected_records, "no record lost or duplicated"
            assert {b.status for b in batches} == {BatchStatus.ANCHORED}
            assert {verify_record(session, chain, r).status for r in records} == {VerificationStatus.VERIFIED}
        anchored_roots = [log["args"]["root"] for log in chain.contract.events.Anchored.get_logs(from_block=0)]
        assert sorted(anchored_roots) == sorted(bytes.fromhex(b.root[2:]) for b in batches), "each root anchored once"
    finally:
        ledger.close()


@pytest.mark.parametrize("mode", ["kill-before-send", "kill-after-send"])
def test_killed_around_the_broadcast_resumes_exactly_once(settings, mode):
    child(settings, "store", "40")
    child(settings, mode, check_killed=True)
    child(settings, "anchor")
    assert_exactly_once(settings, expected_records=40)


def test_killed_at_random_moments_loses_nothing(settings):
    settings.batch_size = 2
    child(settings, "store", "60")
    env = child_env(settings)
    for delay in (1.5, 2.5, 3.5):
        process = subprocess.Popen([sys.executable, str(CHILD), "anchor"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    child(settings, "anchor")
    assert_exactly_once(settings, expected_records=60)
