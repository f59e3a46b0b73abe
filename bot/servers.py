"""Start and stop the assistant's two servers: the action server and the Rasa server.

`make run` uses this in the foreground (Ctrl-C stops both); the end-to-end tests use the
same code on free ports, so what is tested is what runs. Both servers listen on the
loopback interface only.

    python -m bot.servers [--rasa-port 5005] [--action-port 5055] [--model models/bureau.tar.gz]

The Rasa server also serves the help page at / (bot/channels/webpage.py). Its HTTP surface:

RASA_ENABLE_API
    "1" turns on Rasa's HTTP API (/model, /conversations/...), off by default. It then
    requires RASA_API_TOKEN: the servers refuse to start without it (the API can read and
    rewrite every conversation). Clients pass it as ``?token=...``.
RASA_CREDENTIALS
    The channels file, default credentials.yml (docs/channels.md: adding Telegram).

CORS admits only the page's own origin (http://127.0.0.1:<rasa port>).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = PROJECT_ROOT / "models" / "bureau.tar.gz"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (for tests that must not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass
class ServerSet:
    """The running pair, with where to reach them and where their logs go."""

    rasa_port: int
    action_port: int
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://{LOOPBACK}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{LOOPBACK}:{self.action_port}"

    def stop(self, timeout: float = 20) -> None:
        """Ask both to stop (SIGTERM), then kill what is still running."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


class ConfigurationError(RuntimeError):
    """The environment asks for something unsafe or impossible; nothing was started."""


def page_origin(rasa_port: int) -> str:
    """The origin the help page is served from, the only one CORS admits."""
    return f"http://{LOOPBACK}:{rasa_port}"


def rasa_http_options(env: dict[str, str], rasa_port: int) -> list[str]:
    """`rasa run` options for the HTTP surface: CORS, and the API only with a token."""
    options = ["--cors", page_origin(rasa_port)]
    if env.get("RASA_ENABLE_API", "").strip() in ("1", "true", "yes"):
        token = env.get("RASA_API_TOKEN", "").strip()
        if not token:
            raise ConfigurationError(
                "RASA_ENABLE_API=1 needs RASA_API_TOKEN: without a token anyone who can "
                "reach the port could read and change every conversation. Set "
                "RASA_API_TOKEN to a long random value (e.g. `openssl rand -hex 32`)."
            )
        # On the command line, so visible to local users in `ps`: rasa run has no other
        # way to take it. Run the servers under their own account on shared machines.
        options += ["--enable-api", "--auth-token", token]
    return options


def server_environment(action_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment both servers run with: loopback binding and the action endpoint."""
    env = dict(os.environ)
    env.update(
        {
            "ACTION_ENDPOINT_URL": f"http://{LOOPBACK}:{action_port}/webhook",
            # rasa_sdk binds to 0.0.0.0 unless told otherwise.
            "SANIC_HOST": LOOPBACK,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
    )
    env.update(extra or {})
    return env


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s; see {log}")


def start_servers(
    rasa_port: int = 5005,
    action_port: int = 5055,
    model: Path = DEFAULT_MODEL,
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180,
) -> ServerSet:
    """Start the action server, then the Rasa server; return once both answer HTTP."""
    if not Path(model).exists():
        raise FileNotFoundError(f"no trained model at {model}: run `make train` first")
    log_dir = Path(log_dir or PROJECT_ROOT / "var" / "log")
    log_dir.mkdir(parents=True, exist_ok=True)
    env = server_environment(action_port, extra_env)
    http_options = rasa_http_options(env, rasa_port)  # may refuse before anything starts
    credentials = env.get("RASA_CREDENTIALS", "").strip() or "credentials.yml"
    servers = ServerSet(rasa_port=rasa_port, action_port=action_port, log_dir=log_dir)
    commands = {
        # Both through our launchers: output redacted (bot.log_redaction), and the Rasa
        # server with bot.rasa_server's guards installed.
        "actions": (
            [
                sys.executable,
                "-m",
                "bot.redacted_run",
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(action_port),
            ],
            f"{servers.action_url}/health",
        ),
        "rasa": (
            [
                sys.executable,
                "-m",
                "bot.rasa_server",
                "run",
                "--model",
                str(model),
                "--interface",
                LOOPBACK,
                "--port",
                str(rasa_port),
                "--credentials",
                credentials,
                "--endpoints",
                "endpoints.yml",
                *http_options,
            ],
            f"{servers.rasa_url}/",
        ),
    }
    try:
        for name, (command, health_url) in commands.items():
            log = log_dir / f"{name}-{rasa_port}.log"
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            servers.processes.append(process)
            _wait_until_up(health_url, process, log, timeout)
    except BaseException:
        servers.stop()
        raise
    return servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the action server and the Rasa server.")
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--action-port", type=int, default=5055)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)

    try:
        servers = start_servers(args.rasa_port, args.action_port, args.model)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Help page:     {servers.rasa_url}/")
    print(f"Action server: {servers.action_url}  (log: {servers.log_dir})")
    print(f"Rasa server:   {servers.rasa_url}  REST: {servers.rasa_url}/webhooks/rest/webhook")
    print("Press Ctrl-C to stop both.")
    try:
        while all(p.poll() is None for p in servers.processes):
            time.sleep(1)
        print("A server stopped unexpectedly; see the logs above.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    finally:
        servers.stop()


if __name__ == "__main__":
    sys.exit(main())
