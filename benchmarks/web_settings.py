"""Production settings with one more URL, /hello/, for `make bench-web`: the fastest a page can
be through the same middleware (benchmarks/web_urls.py)."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "benchmarks.web_urls"
