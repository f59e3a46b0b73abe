"""Several Rasa replicas and action servers behind nginx, on this machine's loopback.

    python -m bot.cluster [--replicas 2] [--port 8080]        (make scale REPLICAS=2)

Rasa's own scale-out architecture, for real: N Rasa servers and N action servers, sharing
PostgreSQL (conversations and the bureau's records) and Redis (Rasa's ticket lock), behind
Debian's nginx run as a child process with the configuration generated from
deploy/nginx.conf.template. Ctrl-C stops everything. The fault tests and the benchmarks
start the same cluster on free ports, kill parts of it and start them again.

The Rasa replicas run as ``python -m bot.rasa_server run`` (Rasa with the action guard and
the cached response check) with deploy/endpoints.cluster.yml; the environment they get:

SANIC_WORKERS
    Processes per Rasa replica (--workers, default 1). Rasa allows more because the lock
    store is not in memory, and REST works with them, but each worker loads the model
    again, and what lives in one process is split: socket.io's polling transport breaks
    when a session's requests land on different workers (measured: 10 of 10 page sessions
    failed with 2 workers, 0 of 10 with 1), and so does WeChat's "reply with a number".
    Replicas behind nginx's sticky routes use the cores instead, at the same CPU per
    message (bench/load.py --workers 2).
TF_INTRA_OP_PARALLELISM_THREADS, TF_INTER_OP_PARALLELISM_THREADS, OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS
    1 each by default: with one replica per core, TensorFlow's and OpenBLAS's own thread
    pools only make the replicas compete for the same cores, and OpenBLAS's idle threads
    spin. Measured for the MiniLM encoder alone: 27.6 ms of CPU per message with
    OpenBLAS's default threads, 17.0 ms with one.
TICKET_LOCK_LIFETIME
    10 s (Rasa's default: 60). The lock store (bot/lock_store.py) renews a live turn's
    ticket, so this is only how long a ticket outlives a replica killed mid-turn: the
    message nginx re-sends to another replica waits that long, at most.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.servers import DEFAULT_MODEL, LOOPBACK, PROJECT_ROOT, free_port, rasa_http_options

PLACEHOLDER = re.compile(r"\{\{\w+\}\}")
NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.template"
CLUSTER_ENDPOINTS = PROJECT_ROOT / "deploy" / "endpoints.cluster.yml"
DEFAULT_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/bureau"
DEFAULT_TRACKER_STORE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/bureau_tracker"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
DEFAULT_WORK_DIR = PROJECT_ROOT / "var" / "cluster"
REPLICA_ENVIRONMENT = {
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    # numpy's OpenBLAS (the MiniLM featurizer's matrix products): see the docstring.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TICKET_LOCK_LIFETIME": "10",
}


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def _venv_python() -> str:
    return sys.executable


@dataclass
class Service:
    """One process of the cluster, started (and restarted) on a fixed port."""

    name: str
    command: list[str]
    port: int
    health_url: str
    env: dict[str, str]
    log: Path
    cwd: Path = PROJECT_ROOT
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    # Seconds from start to answering its health URL (for Rasa: the model load).
    ready_seconds: float = 0.0

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C reaches us, not it, and a kill reaches its
            # children too (Sanic workers, nginx workers).
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise RuntimeError(f"{self.name} exited ({code}); see {self.log}")
            try:
                with urllib.request.urlopen(self.health_url, timeout=2):
                    self.ready_seconds = time.monotonic() - self.started_at
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise TimeoutError(f"{self.name} did not answer within {timeout:.0f}s; see {self.log}")

    def kill(self) -> None:
        """Die at once, as in a crash (SIGKILL to the whole process group)."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def stop(self, timeout: float = 20) -> None:
        """Ask politely (SIGTERM), then kill."""
        if not self.running:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # Workers of a stopped main process must not outlive it.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.process.pid, signum)


@dataclass
class Cluster:
    """The running set: nginx, the Rasa replicas, the action servers."""

    nginx: Service
    rasa: list[Service]
    actions: list[Service]
    work_dir: Path
    action_proxy_port: int
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """What people reach: the help page, REST, socket.io and WeChat, through nginx."""
        return f"http://{LOOPBACK}:{self.nginx.port}"

    @property
    def rasa_urls(self) -> list[str]:
        """Each replica directly, bypassing nginx (tests that alternate replicas)."""
        return [f"http://{LOOPBACK}:{service.port}" for service in self.rasa]

    @property
    def services(self) -> list[Service]:
        return [self.nginx, *self.rasa, *self.actions]

    def restart(self, service: Service, timeout: float = 240) -> None:
        """Start a stopped or killed service again on its port; return once nginx routes to
        its kind again (nginx leaves a server that refused a connection alone for a moment,
        and answers 502 while it believes every server of an upstream is down)."""
        if service.running:
            service.stop()
        service.start()
        service.wait_until_up(timeout)
        if service in self.actions:
            _wait_for_url(f"http://{LOOPBACK}:{self.action_proxy_port}/health", timeout=30)
        elif service in self.rasa:
            _wait_for_url(f"{self.url}/", timeout=30)

    def stop(self) -> None:
        # nginx first so nothing new arrives, then Rasa, then what Rasa calls; each group
        # stopped in parallel (a Rasa server takes seconds to shut down).
        for group in ([self.nginx], self.rasa, self.actions):
            with ThreadPoolExecutor(len(group)) as pool:
                list(pool.map(Service.stop, group))


def _wait_for_url(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def render_nginx_config(
    template: str,
    *,
    prefix: Path,
    public_port: int,
    action_port: int,
    rasa_ports: list[int],
    action_ports: list[int],
) -> str:
    """deploy/nginx.conf.template with its {{placeholders}} filled in."""

    def servers(ports: list[int]) -> str:
        # max_fails/fail_timeout: after one refused connection nginx leaves a dead server
        # alone for 2 s instead of trying it first for every request.
        return "\n".join(
            f"        server {LOOPBACK}:{port} max_fails=1 fail_timeout=2s;" for port in ports
        )

    # nginx started by root runs its workers as "nobody", who may not enter a private
    # temporary directory; this nginx only ever listens on loopback.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    values = {
        "user_directive": user,
        "prefix": str(prefix),
        "public_port": str(public_port),
        "action_port": str(action_port),
        "rasa_servers": servers(rasa_ports),
        "action_servers": servers(action_ports),
    }
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    left = PLACEHOLDER.findall(template)
    if left:
        raise ValueError(f"nginx template placeholders bot.cluster does not fill in: {left}")
    return template


def ensure_postgres_database(url: str) -> None:
    """Create the database of a PostgreSQL URL if it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            ).scalar()
            if not exists:
                connection.execute(text(f"CREATE DATABASE \"{parsed.database}\" ENCODING 'UTF8'"))
    finally:
        admin.dispose()


def prepare_records(database_url: str, demo_data: bool) -> None:
    """Bring the bureau's schema up to date (and load the demo data) as staff would."""
    ensure_postgres_database(database_url)
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)}
    steps = [["db", "upgrade"]] + ([["demo-data"]] if demo_data else [])
    for step in steps:
        result = subprocess.run(
            [_venv_python(), "-m", "bot", *step],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"`python -m bot {' '.join(step)}` failed:\n{result.stdout}{result.stderr}"
            )


def redis_environment(redis_url: str, key_prefix: str) -> dict[str, str]:
    """The REDIS_* variables deploy/endpoints.cluster.yml reads."""
    parsed = urlsplit(redis_url)
    if parsed.scheme != "redis":
        raise ValueError(f"not a redis:// URL: {redis_url}")
    if not key_prefix.isalnum():
        raise ValueError("the Redis key prefix must be alphanumeric (Rasa ignores others)")
    return {
        "REDIS_HOST": parsed.hostname or LOOPBACK,
        "REDIS_PORT": str(parsed.port or 6379),
        "REDIS_PASSWORD": unquote(parsed.password or ""),
        "REDIS_DB": parsed.path.strip("/") or "1",
        "REDIS_KEY_PREFIX": key_prefix,
    }


def start_cluster(
    replicas: int = 2,
    *,
    model: Path = DEFAULT_MODEL,
    database_url: str = DEFAULT_DATABASE_URL,
    tracker_store_url: str = DEFAULT_TRACKER_STORE_URL,
    redis_url: str = DEFAULT_REDIS_URL,
    lock_key_prefix: str = "bureau",
    work_dir: Path = DEFAULT_WORK_DIR,
    public_port: int | None = None,
    sanic_workers: int = 1,
    action_servers: int | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Cluster:
    """Start action servers and Rasa replicas in parallel, then nginx; return when all answer.

    The records database must already hold the schema (see :func:`prepare_records`); the
    tracker store's PostgreSQL database is created if missing (Rasa creates its table).
    """
    if not Path(model).exists():
        raise FileNotFoundError(f"no trained model at {model}: run `make train` first")
    if replicas > 1 and make_url(tracker_store_url).get_backend_name() != "postgresql":
        raise ValueError("several replicas need a shared PostgreSQL tracker store")
    ensure_postgres_database(tracker_store_url)

    work_dir = Path(work_dir)
    logs = work_dir / "logs"
    for directory in (
        logs,
        *(work_dir / "tmp" / d for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
    ):
        directory.mkdir(parents=True, exist_ok=True)

    public_port = public_port or free_port()
    action_proxy_port = free_port()
    action_count = action_servers or replicas
    base_env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # rasa_sdk binds to 0.0.0.0 unless told otherwise.
        "SANIC_HOST": LOOPBACK,
        "DATABASE_URL": database_url,
        **REPLICA_ENVIRONMENT,
        **(extra_env or {}),
    }

    actions = []
    for index in range(action_count):
        port = free_port()
        actions.append(
            Service(
                name=f"actions-{index}",
                # As bot.servers starts it: Rasa's CLI with redacted output.
                command=[
                    _venv_python(),
                    "-m",
                    "bot.redacted_run",
                    "run",
                    "actions",
                    "--actions",
                    "actions",
                    "--port",
                    str(port),
                ],
                port=port,
                health_url=f"http://{LOOPBACK}:{port}/health",
                env=base_env,
                log=logs / f"actions-{index}.log",
            )
        )

    rasa_env = {
        **base_env,
        "ACTION_ENDPOINT_URL": f"http://{LOOPBACK}:{action_proxy_port}/webhook",
        "TRACKER_STORE_URL": tracker_store_url,
        "SANIC_WORKERS": str(sanic_workers),
        **redis_environment(redis_url, lock_key_prefix),
    }
    http_options = rasa_http_options(rasa_env, public_port)  # CORS: the page's origin is nginx
    credentials = rasa_env.get("RASA_CREDENTIALS", "").strip() or "credentials.yml"
    rasa = []
    for index in range(replicas):
        port = free_port()
        rasa.append(
            Service(
                name=f"rasa-{index}",
                command=[
                    _venv_python(),
                    "-m",
                    "bot.rasa_server",
                    "run",
                    "--model",
                    str(model),
                    "--interface",
                    LOOPBACK,
                    "--port",
                    str(port),
                    "--credentials",
                    credentials,
                    "--endpoints",
                    str(CLUSTER_ENDPOINTS),
                    *http_options,
                ],
                port=port,
                health_url=f"http://{LOOPBACK}:{port}/",
                env=rasa_env,
                log=logs / f"rasa-{index}.log",
            )
        )

    config = work_dir / "nginx.conf"
    config.write_text(
        render_nginx_config(
            NGINX_TEMPLATE.read_text(encoding="utf-8"),
            prefix=work_dir,
            public_port=public_port,
            action_port=action_proxy_port,
            rasa_ports=[s.port for s in rasa],
            action_ports=[s.port for s in actions],
        )
    )
    nginx = Service(
        name="nginx",
        command=[nginx_binary(), "-p", str(work_dir), "-c", str(config), "-g", "daemon off;"],
        port=public_port,
        health_url=f"http://{LOOPBACK}:{public_port}/",
        env=base_env,
        log=logs / "nginx.log",
    )
    cluster = Cluster(
        nginx=nginx,
        rasa=rasa,
        actions=actions,
        work_dir=work_dir,
        action_proxy_port=action_proxy_port,
        environment=rasa_env,
    )
    try:
        backends = [*actions, *rasa]
        for service in backends:
            service.start()
        with ThreadPoolExecutor(len(backends)) as pool:
            for future in [pool.submit(s.wait_until_up, timeout) for s in backends]:
                future.result()
        nginx.start()
        nginx.wait_until_up(30)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="SANIC_WORKERS per replica")
    parser.add_argument("--port", type=int, default=8080, help="nginx's public port")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="the bureau's records (schema upgraded, demo data loaded)",
    )
    parser.add_argument("--tracker-store-url", default=DEFAULT_TRACKER_STORE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--no-demo-data", action="store_true")
    args = parser.parse_args(argv)

    print("Preparing the records database...", flush=True)
    prepare_records(args.database_url, demo_data=not args.no_demo_data)
    print(
        f"Starting {args.replicas} Rasa replica(s), {args.replicas} action server(s) and "
        f"nginx (logs: {args.work_dir / 'logs'})...",
        flush=True,
    )
    # SIGTERM (e.g. from a supervisor) stops the cluster like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    cluster = None
    try:
        cluster = start_cluster(
            args.replicas,
            model=args.model,
            database_url=args.database_url,
            tracker_store_url=args.tracker_store_url,
            redis_url=args.redis_url,
            work_dir=args.work_dir,
            public_port=args.port,
            sanic_workers=args.workers,
        )
        for service in cluster.rasa:
            print(
                f"  {service.name}: {LOOPBACK}:{service.port} "
                f"(model loaded in {service.ready_seconds:.1f} s)"
            )
        for service in cluster.actions:
            print(f"  {service.name}: {LOOPBACK}:{service.port}")
        print(f"Help page: {cluster.url}/   REST: {cluster.url}/webhooks/rest/webhook")
        print("Press Ctrl-C to stop everything.", flush=True)
        while all(service.running for service in cluster.services):
            time.sleep(1)
        stopped = [service.name for service in cluster.services if not service.running]
        print(f"Stopped unexpectedly: {', '.join(stopped)}; see the logs.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    finally:
        if cluster is not None:
            cluster.stop()


def random_key_prefix() -> str:
    """A Redis key prefix of its own (tests and benchmarks share the machine's Redis)."""
    return "bureau" + secrets.token_hex(4)


if __name__ == "__main__":
    sys.exit(main())
