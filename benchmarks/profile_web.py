"""Where a page's time goes, in one process: each page of `make bench-web` rendered N times
through Django's test client on the bench-web data set (production settings), printing ms per
request and queries per request; `--profile NAME` prints cProfile's top functions for one page.

Usage: .venv/bin/python benchmarks/profile_web.py [--scale 10] [--n 50] [--only A,B]
[--profile "Sales"] [--dump DIR]. `--dump` writes each page's HTML (CSRF tokens blanked) to
DIR/<page>.html, to compare a change's pages with the code before it byte for byte (run it
from a worktree of the old commit too, then `diff -r`). `--best-of R` keeps the fastest of R
batches; the `calls` column (Python function calls for one request) is a count, the same on a
busy machine as on an idle one, to compare two commits when the times are noisy. The data set
must exist (make bench-web builds it)."""

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path

import bench_web
from _setup import django_on_bench_database


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--best-of", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--callers", default="", help="who calls the functions matching this")
    parser.add_argument("--dump", default="", help="write each page's HTML into this folder")
    args = parser.parse_args(argv)
    url = bench_web.database_url(args.scale)
    env = bench_web.server_env(url)
    for name in ("SECRET_KEY", "CACHE_URL", "LOG_LEVEL", "LOG_FORMAT", "ALLOWED_HOSTS", "VAR_DIR"):
        os.environ[name] = env[name]
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.web_settings"
    django_on_bench_database(url=url, migrate=False)
    import web_data
    from django.db import connection
    from django.template.backends import django as django_backend
    from django.test import Client

    # Time spent rendering templates (outermost render only), beside the whole request.

    rendering = {"seconds": 0.0, "depth": 0}
    original_render = django_backend.Template.render

    def timed_render(self, context=None, request=None):
        rendering["depth"] += 1
        started = time.perf_counter()
        try:
            return original_render(self, context, request)
        finally:
            rendering["depth"] -= 1
            if not rendering["depth"]:
                rendering["seconds"] += time.perf_counter() - started

    django_backend.Template.render = timed_render
    people = web_data.cached(args.scale)
    if people is None:
        raise SystemExit("no data set: run make bench-web first")
    cookies = bench_web.sessions(people)
    measured = bench_web.pages(people)
    if args.only or args.profile:
        wanted = set(filter(None, [*args.only.split(","), args.profile]))
        measured = [p for p in measured if p[0] in wanted]
    heads = ("ms/req", "cpu ms", "queries", "db ms", "render ms", "calls")
    print(f"{'page':24} " + " ".join(f"{head:>8}" for head in heads))
    for name, who, path in measured:
        client = Client(headers={"X-Forwarded-Proto": "https"}, HTTP_HOST="127.0.0.1")
        if cookies[who]:
            key, value = cookies[who].split("=", 1)
            client.cookies[key] = value
        for _ in range(3):
            response = client.get(path)
            assert response.status_code == 200, (name, response.status_code)
        if args.dump:
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "csrf", response.text)
            html = re.sub(r'"X-CSRFToken": "[^"]*"', "csrf", html)
            html = re.sub(r'name="checkout_key" value="[^"]*"', "checkout_key", html)
            Path(args.dump).mkdir(parents=True, exist_ok=True)
            Path(args.dump, f"{name}.html").write_text(html)
        captured = []

        def record(execute, sql, params, many, context, captured=captured):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                captured.append((time.perf_counter() - started, sql))

        with connection.execute_wrapper(record):
            client.get(path)
        # Python function calls for one request: a count, not a time, so it is the same on a
        # busy machine as on an idle one (compare two commits with it when the times are noisy).
        counter = cProfile.Profile()
        counter.enable()
        client.get(path)
        counter.disable()
        calls = pstats.Stats(counter).total_calls
        profiler = cProfile.Profile() if name == args.profile else None
        # --best-of R: R batches of n requests, the fastest batch's figures (a busy or
        # throttled machine only ever makes a batch slower).
        best = None
        for _ in range(args.best_of):
            rendering["seconds"] = 0.0
            cpu_started = time.process_time()
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            for _ in range(args.n):
                client.get(path)
            if profiler:
                profiler.disable()
            batch = (
                (time.process_time() - cpu_started) / args.n * 1000,
                (time.perf_counter() - started) / args.n * 1000,
                rendering["seconds"] / args.n * 1000,
            )
            best = batch if best is None or batch < best else best
        cpu, elapsed, render_ms = best
        db_ms = sum(t for t, _sql in captured) * 1000
        print(
            f"{name:24} {elapsed:8.2f} {cpu:8.2f} {len(captured):8} {db_ms:8.2f}"
            f" {render_ms:9.2f} {calls:8}",
            flush=True,
        )
        if profiler:
            for seconds, sql in captured:
                print(f"   {seconds * 1000:6.2f} ms  {sql[:400]}")
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats(args.sort).print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top // 2)
            if args.callers:
                stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
