"""Single-user latency over REST, server memory after load, model load time.

    make bench      (python -m bench.rest_latency [--messages 100])

Starts the real servers (bot.servers) on free loopback ports against a fresh SQLite
database with the demo data, sends one person's messages across every topic (FAQ answers,
offices, the law, and the status check with verification), and prints p50/p95. Target on
the 2-core machine (issue 2): p50 <= 60 ms. Nothing here runs in `make test`.
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


def _conversation_messages(count: int) -> list[str]:
    """FAQ questions interleaved with status checks, `count` messages in all."""
    messages: list[str] = []
    demo = list(DEMO_APPLICATIONS)
    i = 0
    while len(messages) < count:
        messages.append(QUESTIONS[i % len(QUESTIONS)])
        if i % 5 == 4:
            record = demo[(i // 5) % len(demo)]
            messages.extend(["check my application", record.application_number, record.id_tail])
        i += 1
    return messages[:count]


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
            sender = f"bench-{uuid.uuid4().hex}"
            for warmup in ("hello", "how much is reimbursed"):
                _post(url, sender, warmup)
            latencies = [_post(url, sender, m) for m in _conversation_messages(args.messages)]
            action_pid, rasa_pid = (p.pid for p in servers.processes)
            memory = {"rasa": _rss_mib(rasa_pid), "actions": _rss_mib(action_pid)}
        finally:
            servers.stop()

    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(f"servers up (action server + model load) in {load_seconds:.1f} s")
    print(f"REST, one user, {len(latencies)} messages: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"max {latencies[-1]:.1f} ms (target p50 <= 60 ms)")
    print(f"memory after load and {len(latencies)} messages: Rasa server "
          f"{memory['rasa']:.0f} MiB, action server {memory['actions']:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
