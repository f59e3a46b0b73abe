"""The cluster the fault tests break: two Rasa replicas and two action servers behind
nginx (bot.cluster), sharing a PostgreSQL database of their own and Redis.

Started once for this package (two model loads in parallel take 30-70 s on two busy
cores) and stopped after its last test. Tests that kill a part start it again before
they end, so the order of the tests does not matter.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.cluster import Cluster, prepare_records, random_key_prefix, start_cluster
from bot.servers import DEFAULT_MODEL
from tests.conftest import DEFAULT_TEST_POSTGRES_URL


@pytest.fixture(scope="package")
def cluster_database_url() -> Iterator[str]:
    """A PostgreSQL database for the cluster's records and conversations, dropped after."""
    base = make_url(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL)
    name = f"bureau_faults_{secrets.token_hex(6)}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="package")
def cluster(cluster_database_url, wechat_token, tmp_path_factory) -> Iterator[Cluster]:
    assert DEFAULT_MODEL.exists(), "no trained model: run `make train` (make test does)"
    prepare_records(cluster_database_url, demo_data=True)
    running = start_cluster(
        2,
        database_url=cluster_database_url,
        tracker_store_url=cluster_database_url,
        lock_key_prefix=random_key_prefix(),
        work_dir=tmp_path_factory.mktemp("cluster"),
        extra_env={"WECHAT_TOKEN": wechat_token},
    )
    yield running
    running.stop()


@pytest.fixture
def healthy_cluster(cluster) -> Iterator[Cluster]:
    """The cluster with every part running, before and after the test."""
    _restart_what_is_down(cluster)
    yield cluster
    _restart_what_is_down(cluster)


def _restart_what_is_down(cluster: Cluster) -> None:
    for service in cluster.services:
        if not service.running:
            cluster.restart(service)


def run(coroutine):
    """Run a test's async body (no pytest-asyncio here)."""
    return asyncio.run(coroutine)


def cluster_logs(cluster: Cluster) -> str:
    return "\n".join(
        Path(log).read_text(errors="replace") for log in sorted(cluster.work_dir.glob("logs/*"))
    )
