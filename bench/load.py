"""Closed-loop load over REST: the bureau's cluster against a stock `rasa init` assistant.

    make bench        (python -m bench.load [--users 1 10 50 200] [--duration 30])
    python -m bench.load --url http://127.0.0.1:8080 --users 10     (a server already running)

Each virtual user holds one conversation at a time, with a sender id of its own, and sends
its next message only when the reply to the last one is in (closed loop): FAQ questions,
the status check with verification, office look-ups. In the same run, on the same machine,
a stock assistant (bench/stock_rasa.py: `rasa init`, Rasa's default config, trained in a
temporary folder, served by `rasa run`) is driven the same way with its own messages.
Printed: p50/p95/p99 latency, throughput and errors per level, the ratios at each level,
model load time, peak memory per replica, training time. Targets (issue, 2 cores, 50 users):
throughput >= 2x the stock assistant's, p95 no worse than its p95; 1 user p50 <= 50 ms.

An error is a failed request (connection, HTTP status >= 400, a body that is not a JSON
list) or a turn with no reply at all; "wrong" counts replies that lack what the turn must
say (the verified status answer names the masked holder). "cpu ms" is the CPU time all of a
system's server processes used per answered message (for the bureau: nginx, replicas,
action servers and their PostgreSQL backends): unlike msg/s, it hardly moves when other
work shares the machine. Nothing here runs in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.demo_data import DEMO_APPLICATIONS
from bot.identifiers import mask_name

LEVELS = (1, 10, 50, 200)
REQUEST_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Turn:
    """One message and, optionally, text its reply must contain."""

    text: str
    expect: str | None = None


Conversation = Sequence[Turn]


def bureau_conversations() -> list[Conversation]:
    """Realistic conversations with the bureau's assistant, cycled through by the users."""
    ready = [a for a in DEMO_APPLICATIONS if a.status.value != "rejected"]
    status_checks = [
        [
            Turn("hi"),
            Turn("I'd like to check my application status"),
            Turn(record.application_number),
            Turn(record.id_tail, expect=mask_name(record.holder_name)),
            Turn("thanks"),
        ]
        for record in ready
    ]
    faq = [
        [
            Turn("hello"),
            Turn("how do I collect my child's social security card?"),
            Turn("what do I bring to pick up the card"),
            Turn("which medical expenses are covered"),
            Turn("thank you, bye"),
        ],
        [
            Turn("what does a student need to apply for a card"),
            Turn("how much is reimbursed"),
            Turn("I lost my son's card"),
            Turn("what is the legal basis"),
        ],
    ]
    offices = [
        [
            Turn("where is the office in haidian"),
            Turn("when is the bureau open"),
            Turn("office address in chaoyang"),
            Turn("thanks"),
        ],
    ]
    # Interleaved so that at any moment the users are spread over every kind of turn.
    mixed: list[Conversation] = []
    for group in itertools.zip_longest(status_checks, faq, offices):
        mixed.extend(c for c in group if c is not None)
    return mixed


@dataclass
class LevelResult:
    """What one load level measured."""

    label: str
    users: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    wrong: int = 0
    # CPU time the servers used while measured (user + system, every process of the set):
    # unlike throughput, hardly affected by other work on a shared machine.
    server_cpu_seconds: float = math.nan

    @property
    def cpu_ms_per_message(self) -> float:
        return (
            1000 * self.server_cpu_seconds / len(self.latencies_ms)
            if self.latencies_ms
            else math.nan
        )

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the successful requests' latencies (ms)."""
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "users": self.users,
            "requests": self.requests,
            "throughput_per_s": round(self.throughput, 2),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "errors": dict(self.errors),
            "wrong": self.wrong,
            "server_cpu_ms_per_message": round(self.cpu_ms_per_message, 1),
        }


async def post_message(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> list:
    """The assistant's replies to one REST message; raises :class:`Failure` if it failed."""
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        body = await response.read()
        if response.status >= 400:
            raise Failure(f"http_{response.status}")
    try:
        replies = json.loads(body)
    except ValueError:
        raise Failure("not_json") from None
    if not isinstance(replies, list):
        raise Failure("not_a_list")
    return replies


class Failure(Exception):
    """A request that failed, named by kind (http_502, not_json...)."""


def failure_kind(error: BaseException) -> str:
    return str(error) if isinstance(error, Failure) else type(error).__name__


async def _virtual_user(
    session: aiohttp.ClientSession,
    url: str,
    conversations: Sequence[Conversation],
    start_index: int,
    deadline: float,
    result: LevelResult | None,
) -> None:
    """Hold conversations back to back until the deadline; record each turn in `result`."""
    for index in itertools.count(start_index):
        conversation = conversations[index % len(conversations)]
        sender = f"bench-{uuid.uuid4().hex}"  # one person per conversation
        for turn in conversation:
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            try:
                replies = await post_message(session, url, sender, turn.text)
            except (Failure, aiohttp.ClientError, asyncio.TimeoutError) as error:
                kind = failure_kind(error)
            else:
                kind = "" if replies else "no_reply"
            elapsed_ms = (time.perf_counter() - started) * 1000
            if result is None:
                continue
            if kind:
                result.errors[kind] += 1
                continue
            result.latencies_ms.append(elapsed_ms)
            said = "\n".join(str(m.get("text", "")) for m in replies if isinstance(m, dict))
            if turn.expect and turn.expect not in said:
                result.wrong += 1


async def measure(
    base_url: str,
    users: int,
    seconds: float,
    conversations: Sequence[Conversation],
    label: str = "",
    warmup_seconds: float = 3.0,
    server_pids: Callable[[], list[int]] = list,
) -> LevelResult:
    """Run `users` closed-loop users for a warm-up, then for `seconds`, measuring the latter.

    `server_pids` names the processes whose CPU time is counted (their children too).
    """
    url = f"{base_url}/webhooks/rest/webhook"
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    result = LevelResult(label=label, users=users, seconds=seconds)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup_seconds > 0:
            deadline = time.monotonic() + warmup_seconds
            await asyncio.gather(
                *(
                    _virtual_user(session, url, conversations, i, deadline, None)
                    for i in range(users)
                )
            )
        cpu_before = cpu_seconds(server_pids())
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(
                _virtual_user(session, url, conversations, i * 7, deadline, result)
                for i in range(users)
            )
        )
        # The last requests finish after the deadline: count the time they took.
        result.seconds = time.monotonic() - started
        result.server_cpu_seconds = cpu_seconds(server_pids()) - cpu_before
    return result


def run_levels(
    base_url: str,
    levels: Sequence[int],
    seconds: float,
    conversations: Sequence[Conversation],
    label: str,
    report: Callable[[LevelResult], None] = lambda r: None,
    server_pids: Callable[[], list[int]] = list,
) -> list[LevelResult]:
    results = []
    for users in levels:
        result = asyncio.run(
            measure(base_url, users, seconds, conversations, label, server_pids=server_pids)
        )
        report(result)
        results.append(result)
    return results


def format_row(result: LevelResult) -> str:
    errors = sum(result.errors.values())
    detail = f" {dict(result.errors)}" if errors else ""
    return (
        f"{result.label:<8} {result.users:>5} {result.requests:>8} {result.throughput:>8.1f} "
        f"{result.percentile(50):>8.1f} {result.percentile(95):>8.1f} "
        f"{result.percentile(99):>8.1f} {result.cpu_ms_per_message:>7.1f} {errors:>6} "
        f"{result.wrong:>5}{detail}"
    )


HEADER = (
    f"{'system':<8} {'users':>5} {'requests':>8} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
    f"{'p99 ms':>8} {'cpu ms':>7} {'errors':>6} {'wrong':>5}"
)


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children (Sanic workers)."""
    total = 0.0
    for process in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
    return total


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (Sanic workers, nginx workers)."""
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return found + [grandchild for child in found for grandchild in _children(child)]


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of the processes and their descendants, so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in {p for root in pids for p in (root, *_children(root))}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def postgres_backend_pids(database_url: str) -> list[int]:
    """The PostgreSQL server processes serving connections to this URL's database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> "
                        "pg_backend_pid()"
                    ),
                    {"d": url.database},
                ).scalars()
            )
    finally:
        engine.dispose()


def cluster_pids(cluster, database_url: str) -> Callable[[], list[int]]:
    """Everything the bureau's set runs on: nginx, replicas, action servers, its PG backends."""
    return lambda: [
        *(s.process.pid for s in cluster.services if s.running),
        *postgres_backend_pids(database_url),
    ]


def main(argv: list[str] | None = None) -> int:
    from bench import stock_rasa
    from bot.cluster import prepare_records, random_key_prefix, start_cluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=list(LEVELS))
    parser.add_argument("--duration", type=float, default=30, help="seconds per level")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="SANIC_WORKERS per replica")
    parser.add_argument("--model", type=Path, help="the bureau's model (default: models/)")
    parser.add_argument("--url", help="only drive this running bureau server, nothing else")
    parser.add_argument(
        "--stock-dir", type=Path, help="reuse a `rasa init` folder trained before (skips training)"
    )
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the bureau's replicas (TF threads...)",
    )
    args = parser.parse_args(argv)
    extra_env = dict(item.split("=", 1) for item in args.env)

    print(HEADER, flush=True)

    def report(result: LevelResult) -> None:
        print(format_row(result), flush=True)

    if args.url:
        run_levels(args.url, args.users, args.duration, bureau_conversations(), "bureau", report)
        return 0

    summary: dict = {"cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        tmp_path = Path(tmp)
        database_url = os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/bureau_bench"
        )
        prepare_records(database_url, demo_data=True)
        started = time.monotonic()
        cluster = start_cluster(
            args.replicas,
            **({"model": args.model} if args.model else {}),
            database_url=database_url,
            tracker_store_url=database_url,
            lock_key_prefix=random_key_prefix(),
            work_dir=tmp_path / "cluster",
            sanic_workers=args.workers,
            extra_env=extra_env,
        )
        summary["bureau_start_seconds"] = round(time.monotonic() - started, 1)
        summary["bureau_model_load_seconds"] = [round(s.ready_seconds, 1) for s in cluster.rasa]
        try:
            ours = run_levels(
                cluster.url,
                args.users,
                args.duration,
                bureau_conversations(),
                "bureau",
                report,
                cluster_pids(cluster, database_url),
            )
            summary["bureau_peak_rss_mib"] = [
                round(peak_rss_mib(s.process.pid)) for s in cluster.rasa
            ]
            summary["action_server_peak_rss_mib"] = [
                round(peak_rss_mib(s.process.pid)) for s in cluster.actions
            ]
        finally:
            cluster.stop()

        stock: list[LevelResult] = []
        if not args.skip_stock:
            project = args.stock_dir
            if project is None:
                project = tmp_path / "stock"
                summary["stock_training_seconds"] = round(stock_rasa.init_and_train(project), 1)
            server = stock_rasa.start(project, tmp_path / "stock.log")
            summary["stock_model_load_seconds"] = round(server.ready_seconds, 1)
            try:
                stock = run_levels(
                    server.url,
                    args.users,
                    args.duration,
                    stock_rasa.conversations(),
                    "stock",
                    report,
                    lambda: [server.process.pid],
                )
                summary["stock_peak_rss_mib"] = round(peak_rss_mib(server.process.pid))
            finally:
                server.stop()

    print()
    for key, value in summary.items():
        print(f"{key}: {value}")
    if stock:
        print("\nbureau / stock     throughput   p95 (lower is better for bureau)")
        for ours_level, stock_level in zip(ours, stock, strict=True):
            ratio = ours_level.throughput / stock_level.throughput if stock_level.throughput else 0
            p95 = ours_level.percentile(95) / stock_level.percentile(95)
            print(f"  {ours_level.users:>4} users      {ratio:>6.2f}x      {p95:>6.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "summary": summary,
                    "bureau": [r.as_dict() for r in ours],
                    "stock": [r.as_dict() for r in stock],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
