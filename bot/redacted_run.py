"""Run Rasa's command line with redacted output: `python -m bot.redacted_run run ...`.

bot.servers starts both servers through this, so what Rasa, rasa_sdk, our actions and the
warnings module print goes through bot.log_redaction first. Streams are wrapped before
Rasa configures logging, so its handlers write to the redacting streams.
"""

from __future__ import annotations

import sys

from bot.log_redaction import RedactingStream


def main() -> None:
    sys.stdout = RedactingStream(sys.stdout)
    sys.stderr = RedactingStream(sys.stderr)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
