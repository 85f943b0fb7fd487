"""`orchestrator server ...`: the commands of `prefect server ...`.

server start [--host H] [--port P] [--no-services] [--workers N]
server services start | ls
server database reset [-y] | upgrade [-y] [-r REV] | downgrade [-y] -r REV
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orchestrator import database

logger = logging.getLogger("orchestrator.server")


def confirm(stdout, question: str) -> bool:
    stdout.write(f"{question} [y/N]: ", ending="")
    stdout.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return answer.strip().lower() in {"y", "yes"}


class Command(BaseCommand):
    help = "Start the server, run its services, or manage its database."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True, metavar="{start,services,database}")

        start = commands.add_parser("start", help="Serve the API, websockets and dashboard.")
        start.add_argument("--host", default=None, help="Address to listen on (PREFECT_SERVER_API_HOST).")
        start.add_argument("--port", type=int, default=None, help="Port to listen on (PREFECT_SERVER_API_PORT).")
        start.add_argument("--no-services", action="store_true", help="Serve only; run no background services.")
        start.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processes serving the port (ORCHESTRATOR_SERVER_WORKERS, default 1; above 1 needs REDIS_URL).",
        )
        # Internal: one of the processes `--workers` starts.
        start.add_argument("--worker-process", action="store_true", help=argparse.SUPPRESS)

        services = commands.add_parser("services", help="Run the background services alone.")
        services_commands = services.add_subparsers(dest="services_command", required=True)
        services_commands.add_parser("start", help="Run every enabled service in the foreground.")
        services_commands.add_parser("ls", help="List the services and whether each is enabled.")

        db = commands.add_parser("database", help="Manage the database.")
        db_commands = db.add_subparsers(dest="database_command", required=True)
        reset = db_commands.add_parser("reset", help="Drop all data and apply the schema again.")
        reset.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
        upgrade = db_commands.add_parser("upgrade", help="Apply pending migrations.")
        upgrade.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
        upgrade.add_argument("-r", "--revision", default="head", help="Only 'head' is supported (the default).")
        downgrade = db_commands.add_parser("downgrade", help="Step back to an earlier migration.")
        downgrade.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
        downgrade.add_argument(
            "-r", "--revision", required=True, help="-1 (one step), -N, a migration name (app.0002_x) or 'base'."
        )

    def handle(self, *args, command, **options):
        if command == "start":
            return self.start(options)
        if command == "services":
            return self.services(options["services_command"])
        return self.database(options)

    # -- start ------------------------------------------------------------------------

    def start(self, options) -> None:
        from daphne.endpoints import build_endpoint_description_strings

        from orchestrator import channels, serving
        from orchestrator import workers as worker_processes

        host = options["host"] or settings.ORCHESTRATOR["API_HOST"]
        port = options["port"] or settings.ORCHESTRATOR["API_PORT"]
        child = options["worker_process"]
        workers = 1 if child else options["workers"] or settings.ORCHESTRATOR["SERVER_WORKERS"]
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        if workers > 1 and not settings.REDIS_URL:
            raise CommandError(
                "--workers above 1 needs REDIS_URL: websockets open on one worker must hear state "
                "changes made on another, which only a shared channel layer (Redis) carries"
            )
        if workers > 1 and ":" in host:
            raise CommandError("--workers above 1 listens on IPv4 addresses only")
        database.ensure_not_prefect_database()
        # A worker's first process migrated before starting it; loading the migrations again
        # would only keep them in the worker's memory (about 2 MB).
        if settings.MIGRATE_ON_START and not child:
            database.migrate()

        balancer = socket_fd = board = None
        if child:
            worker_processes.exit_with_parent(int(os.environ.get(worker_processes.PARENT_ENV) or os.getppid()))
            socket_fd = int(os.environ[worker_processes.SOCKET_ENV])
            board = worker_processes.LoadBoard.inherited(int(os.environ[worker_processes.BOARD_ENV]))
            balancer = worker_processes.Balancer(board, int(os.environ[worker_processes.SLOT_ENV]))
        elif workers > 1:
            try:
                socket_fd = worker_processes.listening_socket(host, port).detach()
            except OSError as exc:
                raise CommandError(f"could not listen on {host}:{port} ({exc.strerror})") from exc
            board = worker_processes.LoadBoard.create(workers)
            balancer = worker_processes.Balancer(board, 0)
        if balancer is not None:
            channels.share_listener_counts(board, balancer.slot)
        if socket_fd is not None:
            # Twisted closes the descriptor it adopts; the first process keeps the original for
            # the workers it starts (and restarts).
            endpoints = [worker_processes.endpoint_for(os.dup(socket_fd))]
        else:
            endpoints = build_endpoint_description_strings(host=host, port=port)

        from orchestrator.asgi import application
        from orchestrator.backends.sqlite.checkpoints import serve_checkpoints
        from orchestrator.services import ServiceRunner

        checkpointer = serve_checkpoints(first_process=not child)

        runner = None if options["no_services"] else ServiceRunner()
        group = None
        if workers > 1:
            group = worker_processes.WorkerGroup(
                host, port, workers - 1, socket_fd=socket_fd, board=board, announce=self.stderr.write
            )
        # Twisted only takes over SIGINT when it has its default handler; a server started in
        # the background by a script inherits it ignored and would then not stop on `kill -INT`.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        server = serving.server_class()(
            balancer=balancer,
            application=application,
            endpoints=endpoints,
            signal_handlers=True,
            verbosity=0,
            websocket_timeout=86400,
            application_close_timeout=10,
            ready_callable=None if child else lambda: self._ready(host, port, runner, group, workers, checkpointer),
        )
        # What start-up built (modules, settings, URL patterns: most of the objects the
        # collector tracks) lives as long as the process: set it aside, so that the collector's
        # full passes, which used to stop a busy process for about 65 ms, walk only what
        # requests leave behind (about 9 ms).
        gc.collect()
        gc.freeze()
        try:
            server.run()
        finally:
            if group is not None:
                group.stop()
        if runner is not None:
            runner.stop()
        if checkpointer is not None:
            checkpointer.stop()
        if not server.listening_addresses:
            raise CommandError(f"could not listen on {host}:{port} (is another server using that port?)")
        if child:
            return
        self.stdout.write("Server stopped.")

    def _ready(self, host, port, runner, group, workers, checkpointer) -> None:
        if checkpointer is not None:
            checkpointer.start()
        if group is not None:
            group.start()
        if runner is not None:
            runner.start()
        names = ", ".join(s.name for s in runner.services) if runner else "none (--no-services)"
        self.stdout.write(
            f"Orchestrator is serving on http://{host}:{port}\n"
            f"  API:       http://{host}:{port}/api  (set PREFECT_API_URL to this)\n"
            f"  Dashboard: http://{host}:{port}/\n"
            f"  Database:  {database.describe()}\n"
            f"  Services:  {names}\n"
            f"  Workers:   {workers} process{'es' if workers > 1 else ''}\n"
            "Press Ctrl+C to stop."
        )
        self.stdout.flush()

    # -- services ---------------------------------------------------------------------

    def services(self, subcommand: str) -> None:
        from orchestrator.services import ServiceRunner, all_services

        services = all_services()
        if subcommand == "ls":
            for service in services:
                state = "enabled" if service.enabled else "disabled"
                self.stdout.write(f"{service.name:<24} {state:<9} every {service.loop_seconds:g}s")
            return
        database.ensure_not_prefect_database()
        runner = ServiceRunner(services)
        stop = threading.Event()

        def handle_signal(signum, frame):
            stop.set()

        signal.signal(signal.SIGINT, handle_signal)
        signal.signal(signal.SIGTERM, handle_signal)
        runner.start()
        self.stdout.write("Running services: " + ", ".join(s.name for s in runner.services) + ". Ctrl+C stops them.")
        self.stdout.flush()
        while not stop.wait(0.5):
            pass
        self.stdout.write("Stopping services (each finishes its current step)...")
        runner.stop()
        self.stdout.write("Services stopped.")

    # -- database ---------------------------------------------------------------------

    def database(self, options) -> None:
        action = options["database_command"]
        where = database.describe()
        database.ensure_not_prefect_database()
        if action == "reset":
            if not options["yes"] and not confirm(self.stdout, f"Are you sure you want to reset the {where}?"):
                raise CommandError("Database reset aborted.")
            self.stdout.write(f"Resetting the {where}...")
            database.reset()
            self.stdout.write("Database reset.")
        elif action == "upgrade":
            if options["revision"] not in ("head", None):
                raise CommandError("upgrade only goes to the latest schema ('-r head')")
            if not options["yes"] and not confirm(self.stdout, f"Are you sure you want to upgrade the {where}?"):
                raise CommandError("Database upgrade aborted.")
            self.stdout.write(f"Upgrading the {where}...")
            database.migrate()
            self.stdout.write("Database upgraded.")
        else:
            revision = options["revision"]
            if not options["yes"] and not confirm(
                self.stdout, f"Are you sure you want to downgrade the {where} to {revision}?"
            ):
                raise CommandError("Database downgrade aborted.")
            self.stdout.write(f"Downgrading the {where} to {revision}...")
            for step in database.downgrade(revision):
                self.stdout.write(f"  {step}")
            self.stdout.write("Database downgraded.")
