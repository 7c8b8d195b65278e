"""A ledger process for the crash tests, killed for real (SIGKILL) at a chosen point.

usage: python crash_child.py MODE [COUNT]   (settings come from TRACEANCHOR_* variables)

  store N           store N payments and exit normally
  kill-before-send  anchor, but die when about to broadcast the first transaction
  kill-after-send   anchor, but die right after broadcasting, before recording anything more
  anchor            anchor everything and print a JSON summary
  kill-capture-job  run the unfinished capture jobs, but die once the first one's records are
                    written, before its transaction commits
"""

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.records import fill  # noqa: E402
from service.anchor.chain import Chain  # noqa: E402
from service.runtime import Runtime  # noqa: E402


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    mode = sys.argv[1]
    ledger = Runtime()
    if mode == "store":
        start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
        fill(ledger, int(sys.argv[2]), start=start)
    elif mode == "kill-before-send":
        Chain.send = lambda self, prepared: die()
        ledger.anchoring.anchor_now()
    elif mode == "kill-after-send":
        real_send = Chain.send

        def send_then_die(self, prepared):
            real_send(self, prepared)
            die()

        Chain.send = send_then_die
        ledger.anchoring.anchor_now()
    elif mode == "kill-capture-job":
        import service.ingest.capture_jobs as capture_jobs

        capture_jobs._finish = lambda session, job_id, **outcome: die()
        ledger.capture_jobs.run_pending()
    elif mode == "anchor":
        ledger.anchoring.anchor_now()
        print(json.dumps({"unfinished": ledger.anchoring.unfinished_batches()}))
    ledger.close()


if __name__ == "__main__":
    main()
