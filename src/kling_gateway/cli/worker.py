"""``kling-gateway worker``: the background worker on its own, without serving requests."""

from __future__ import annotations

import argparse
import signal

from kling_gateway import logs
from kling_gateway.config import Settings
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.db import close_database, open_database
from kling_gateway.storage.encryption import configure_keyring
from kling_gateway.storage.migrations import migrate
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.worker.loop import Worker


def run_worker(args: argparse.Namespace) -> int:
    """Finish tasks and deliver callbacks until SIGTERM or SIGINT."""
    logs.configure(args.log_format)
    settings = Settings.from_env()
    configure_keyring(settings)
    open_database(settings.database_url)
    migrate()
    worker = Worker(settings, Upstreams.from_settings(settings, StoredChannelBook()))
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    worker.run()
    close_database()
    return 0
