"""`sanad serve`: the HTTP API and web page; plugged into `sanad` by entry point."""

from __future__ import annotations

import argparse
import logging
import sys

from qa.commands.common import UsageError, add_corpus_options, add_reader_options, settings_from
from qa.config import Settings

INSTALL_HINT = "sanad serve needs the serve extra: pip install 'sanad-qa[serve]'"
RAY_INSTALL_HINT = "sanad serve --ray needs the scale extra: pip install 'sanad-qa[scale]'"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="HTTP API and web page | واجهة HTTP وصفحة ويب")
    parser.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: 8080)")
    add_corpus_options(parser)
    add_reader_options(parser)
    scale = parser.add_argument_group("Ray Serve (the scale extra)")
    scale.add_argument("--ray", action="store_true", help="serve on Ray Serve: shard and reader deployments")
    scale.add_argument("--address", help="the Ray cluster to join (`auto`: the one `ray start` began here); "
                       "default: a Ray of this process's own")  # fmt: skip
    scale.add_argument("--shards", type=int, default=2, help="index shards, one deployment each (default: 2)")
    scale.add_argument("--readers", type=int, help="reader replicas (default: autoscaled, web/ray_serve.yaml)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args, {"serve_host": ("--host", args.host), "serve_port": ("--port", args.port)})
    if args.ray:
        return _run_ray(args, settings)
    try:
        import uvicorn

        from web.app import create_app
    except ImportError:  # imported here, so that `sanad --help` works without the extra
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    # Request lines (with their ids) and uvicorn's start-up lines, whatever -v says.
    for name in ("web", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
    failed: list[Exception] = []
    server: uvicorn.Server

    def stop(err: Exception) -> None:
        failed.append(err)
        server.should_exit = True

    app = create_app(settings, on_load_failure=stop)
    config = uvicorn.Config(
        app, host=settings.serve_host, port=settings.serve_port, log_config=None, access_log=False, lifespan="on",
        proxy_headers=False,  # create_app applies SANAD_API_TRUSTED_PROXIES itself
    )
    server = uvicorn.Server(config)
    print(f"sanad serve: http://{settings.serve_host}:{settings.serve_port}/ (loading the index and reader; "
          "/readyz says when ready; Ctrl+C to stop)", file=sys.stderr)  # fmt: skip
    server.run()
    if failed:
        raise failed[0]  # the CLI reports it as one line with its exit code (a bug keeps its traceback)
    return 0 if server.started else 1


def _run_ray(args: argparse.Namespace, settings: Settings) -> int:
    if args.shards < 1 or (args.readers is not None and args.readers < 1):
        raise UsageError("--shards and --readers need at least 1.")
    try:
        from web.ray_cli import run_ray
    except ImportError:  # Ray is the scale extra
        print(RAY_INSTALL_HINT, file=sys.stderr)
        return 2
    from retrieval.shards import ShardingError

    try:
        return run_ray(settings, args.address, args.shards, args.readers)
    except ShardingError as err:
        raise UsageError(f"--shards: {err}") from None
