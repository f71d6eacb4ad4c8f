"""`sanad feedback export`: every 👍/👎 vote, from the bot and the web page, as JSON Lines for evaluation."""

from __future__ import annotations

import argparse
import sys

from qa.commands.common import settings_from
from qa.feedback import FeedbackStore, feedback_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("feedback", help="users' 👍/👎 votes (bot and web) | تقييمات المستخدمين")
    verbs = parser.add_subparsers(dest="verb", required=True)
    export = verbs.add_parser("export", help="write every vote as JSON Lines (question, answer, citation, vote)")
    export.add_argument("--out", help="file to write (default: standard output)")
    parser.set_defaults(func=export_feedback)


def export_feedback(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    path = feedback_path(settings.data_dir)
    if not path.is_file():
        print(f"sanad feedback: no votes file at {path} (set SANAD_DATA_DIR to the bot's or server's data folder).",
              file=sys.stderr)  # fmt: skip
        return 2
    store = FeedbackStore(path)
    try:
        if args.out:
            with open(args.out, "w", encoding="utf-8") as out:
                count = store.export(out)
        else:
            count = store.export(sys.stdout)
    finally:
        store.close()
    print(f"sanad feedback: votes exported: {count}", file=sys.stderr)
    return 0
