"""Single-user latency over REST, server memory after load, model load time.

    make bench      (python -m bench.rest_latency [--messages 100])

Starts the real servers (bot.servers) on free loopback ports against a fresh SQLite
database with the demo data, sends one person's messages across every topic (FAQ answers,
offices, the law, and the status check with verification), one at a time, and prints
p50/p95. Target on the 2-core machine (issue 2): p50 <= 60 ms. Nothing here runs in
`make test`.

The messages go out twice: as chats of about ten messages (a visitor's chat on the web
page), which is the figure held against the target, and as one long conversation. Rasa 3.6
reads back and re-featurises every event of the session on each turn (tracker store, then
each policy's state history), so there a turn costs more the longer the chat has run; the
second line shows how much.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bot.demo_data import DEMO_APPLICATIONS
from bot.servers import PROJECT_ROOT, free_port, start_servers

# A visitor's chat on the web page: a handful of questions, perhaps a status check.
CHAT_LENGTH = 10

QUESTIONS = [
    "how do I collect my child's social security card?",
    "what do I bring to pick up the card",
    "what will staff check at the counter",
    "what does a student need to apply for a card",
    "which insurance can the card reimburse",
    "which medical expenses are covered",
    "how much is reimbursed",
    "any limits on hospitals or drugs?",
    "are rules different in my city",
    "how to keep my kid's card safe",
    "I lost my son's card",
    "what is the legal basis",
    "what does the law say about pension",
    "where is the office in haidian",
    "hello",
    "what can you do",
    "are you a robot",
    "what's the weather tomorrow",
    "thanks",
]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _post(url: str, sender: str, message: str) -> float:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def _chats(count: int) -> list[list[str]]:
    """`count` messages: FAQ questions with a status check (3 messages) after every fifth,
    cut into chats of about CHAT_LENGTH messages without splitting a status check."""
    groups: list[list[str]] = []
    demo = list(DEMO_APPLICATIONS)
    i, total = 0, 0
    while total < count:
        group = [QUESTIONS[i % len(QUESTIONS)]]
        if i % 5 == 4:
            record = demo[(i // 5) % len(demo)]
            group += ["check my application", record.application_number, record.id_tail]
        group = group[: count - total]
        groups.append(group)
        total += len(group)
        i += 1
    chats: list[list[str]] = [[]]
    for group in groups:
        if chats[-1] and len(chats[-1]) + len(group) > CHAT_LENGTH:
            chats.append([])
        chats[-1].extend(group)
    return chats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/bureau.db"
        subprocess.run([sys.executable, "-m", "bot", "demo-data"], cwd=PROJECT_ROOT, check=True,
                       env={**os.environ, "DATABASE_URL": database_url},
                       stdout=subprocess.DEVNULL)
        started = time.monotonic()
        servers = start_servers(free_port(), free_port(), log_dir=Path(tmp),
                                extra_env={"DATABASE_URL": database_url})
        load_seconds = time.monotonic() - started
        try:
            url = f"{servers.rasa_url}/webhooks/rest/webhook"
            chats = _chats(args.messages)
            for warmup in ("hello", "how much is reimbursed"):
                _post(url, f"warmup-{uuid.uuid4().hex}", warmup)
            # One person at a time, in chats of CHAT_LENGTH messages (a new sender id each,
            # as a new visitor of the web page gets)...
            latencies = []
            for chat in chats:
                sender = f"bench-{uuid.uuid4().hex}"
                latencies += [_post(url, sender, message) for message in chat]
            # ...and the same messages as one long conversation: Rasa re-reads and
            # re-featurises the whole session on every turn, so later turns cost more.
            sender = f"bench-{uuid.uuid4().hex}"
            one_chat = [_post(url, sender, message) for chat in chats for message in chat]
            action_pid, rasa_pid = (p.pid for p in servers.processes)
            memory = {"rasa": _rss_mib(rasa_pid), "actions": _rss_mib(action_pid)}
        finally:
            servers.stop()

    print(f"servers up (action server + model load) in {load_seconds:.1f} s")
    p50, p95 = _percentiles(latencies)
    print(f"REST, one user, {len(latencies)} messages in {len(chats)} chats of up to "
          f"{CHAT_LENGTH}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms "
          f"(target p50 <= 60 ms)")
    p50, p95 = _percentiles(one_chat)
    fifth = max(1, len(one_chat) // 5)
    print(f"REST, one user, the same {len(one_chat)} messages in one chat: p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms; first {fifth} p50 {statistics.median(one_chat[:fifth]):.1f} ms, "
          f"last {fifth} p50 {statistics.median(one_chat[-fifth:]):.1f} ms")
    print(f"memory after load and {len(latencies) + len(one_chat)} messages: Rasa server "
          f"{memory['rasa']:.0f} MiB, action server {memory['actions']:.0f} MiB")
    return 0


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


if __name__ == "__main__":
    sys.exit(main())
