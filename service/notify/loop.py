"""The webhook delivery loop of a process: delivery steps (``service.notify.delivery``) back to back
while subscriptions are due, a short sleep when none is. Several processes may each run one on
PostgreSQL (they claim different subscriptions); on SQLite run it in one process only."""

import logging
import threading

import httpx
from sqlalchemy import Engine

from service.notify.delivery import deliver_once
from service.settings import Settings

log = logging.getLogger(__name__)
IDLE_SECONDS = 0.2  # sleep when nothing is due; due times are kept by the subscriptions themselves


class DeliveryLoop:
    """Runs until ``stop`` is set; a failing step is logged and the loop goes on."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set (the redirect-free client is bounded by ``webhook_timeout``)."""
        with httpx.Client(follow_redirects=False, trust_env=False) as client:
            while not stop.is_set():
                try:
                    busy = deliver_once(self.engine, self.settings, client)
                except Exception:  # a database hiccup must not end delivery for good
                    log.exception("webhook delivery step failed")
                    busy = False
                if not busy:
                    stop.wait(min(IDLE_SECONDS, self.settings.webhook_poll_seconds))
