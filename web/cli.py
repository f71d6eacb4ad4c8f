"""`sanad serve`: the HTTP API and web page; plugged into `sanad` by entry point."""

from __future__ import annotations

import argparse
import logging
import sys

from qa.commands.common import add_corpus_options, add_reader_options, settings_from

INSTALL_HINT = "sanad serve needs the serve extra: pip install 'sanad-qa[serve]'"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="HTTP API and web page | واجهة HTTP وصفحة ويب")
    parser.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: 8080)")
    add_corpus_options(parser)
    add_reader_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args, {"serve_host": ("--host", args.host), "serve_port": ("--port", args.port)})
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
