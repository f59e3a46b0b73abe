"""The Rasa server with this project's changes installed, then Rasa's own CLI.

    python -m bot.rasa_server run --model models/bureau.tar.gz ...   (same arguments as rasa)

Installed first, in this process (and so in every Sanic worker forked from it):

- bot.action_guard: an apology with the hotline, instead of silence, when a custom action
  cannot run (action server down, 5xx, hung);
- bot.action_results: action server responses checked against Rasa's schema by a validator
  built once, instead of re-checking the schema itself on every call (~20 ms each);
- bot.action_connections: connections to the action server kept open between calls;
- bot.event_types: stored events turned back into objects without a walk of every class;
- bot.turn_admission: at most TURN_CONCURRENCY turns in progress, the others in line;
- then bot.redacted_run: the output streams redacted (ID numbers), and Rasa's CLI.

The first five wrap one Rasa 3.6 method each; tests/faults and bench/ exercise them on the
real servers.
"""

from __future__ import annotations

from bot import (
    action_connections,
    action_guard,
    action_results,
    event_types,
    redacted_run,
    turn_admission,
)


def install() -> None:
    action_guard.install()
    action_results.install()
    action_connections.install()
    event_types.install()
    turn_admission.install()


def main() -> None:
    install()
    redacted_run.main()


if __name__ == "__main__":
    main()
