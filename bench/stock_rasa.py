"""The yardstick: a stock `rasa init` assistant, trained and served on this machine.

`rasa init --no-prompt --init-dir DIR` writes Rasa's example project (moodbot: greet,
mood_great, mood_unhappy, goodbye, bot_challenge) with Rasa's default config and trains it;
`rasa run` serves it as shipped: REST channel, in-memory tracker store and lock store, one
Sanic worker, no action server (its actions.py is all commented out). bench/load.py drives
it with the same closed-loop generator as the bureau's cluster, with its own messages.

    python -m bench.stock_rasa DIR      (init and train only; prints the training time)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.load import Conversation, Turn
from bot.cluster import Service
from bot.servers import LOOPBACK, free_port

RASA = str(Path(sys.executable).parent / "rasa")


def _environment(project: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Its own training cache, never the bureau project's .rasa/cache.
        "RASA_CACHE_DIRECTORY": str(project / ".rasa" / "cache"),
        "RASA_TELEMETRY_ENABLED": "false",
    }


def init_and_train(project: Path, timeout: float = 3600) -> float:
    """Create and train the stock assistant in `project`; return the seconds it took."""
    project.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = subprocess.run(
        [RASA, "init", "--no-prompt", "--init-dir", str(project)],
        cwd=project,
        env=_environment(project),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0 or not list((project / "models").glob("*.tar.gz")):
        raise RuntimeError(f"rasa init failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return seconds


def start(project: Path, log: Path, timeout: float = 300) -> Service:
    """`rasa run` the trained stock assistant on a free loopback port; return when it answers."""
    port = free_port()
    server = Service(
        name="stock-rasa",
        command=[
            RASA,
            "run",
            "--model",
            "models",
            "--interface",
            LOOPBACK,
            "--port",
            str(port),
            "--credentials",
            "credentials.yml",
        ],
        port=port,
        health_url=f"http://{LOOPBACK}:{port}/",
        env=_environment(project),
        log=log,
        cwd=project,
    )
    server.start()
    try:
        server.wait_until_up(timeout)
    except BaseException:
        server.stop()
        raise
    return server


def conversations() -> list[Conversation]:
    """The stock assistant's own small talk, each path of its stories and rules."""
    return [
        [Turn("hello", "How are you"), Turn("I am feeling great", "carry on"), Turn("bye", "Bye")],
        [Turn("hi"), Turn("I am sad"), Turn("yes", "carry on"), Turn("goodbye", "Bye")],
        [
            Turn("hey there"),
            Turn("very bad"),
            Turn("no", "Bye"),
            Turn("are you a bot?", "I am a bot"),
        ],
        [
            Turn("good morning"),
            Turn("perfect"),
            Turn("are you a human?", "I am a bot"),
            Turn("see you later", "Bye"),
        ],
    ]


def main(argv: list[str] | None = None) -> int:
    project = Path((argv or sys.argv[1:] or ["stock-rasa"])[0]).resolve()
    print(f"trained in {init_and_train(project):.1f} s: {project}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
