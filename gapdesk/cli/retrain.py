"""``gapdesk retrain``: learn from labels and ratings; promote only a better model."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from gapdesk.cli.connections import open_store
from gapdesk.cli.terminal import terminal_json
from gapdesk.settings import Settings

# Exit codes a cron job can tell apart (besides 0: promoted, a candidate, or nothing new).
REFUSED = 3


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retrain = commands.add_parser(
        "retrain",
        help="learn from people's labels and customers' ratings; judge the candidate on "
        "held-out live turns against the current version",
        description="Gathers every label and rating, holds out the newest labelled live "
        "turns, writes what the rest teaches under data/ (NLU examples, the gap model's "
        "live rows), trains a candidate version, and compares both versions on the held-out "
        "turns (GAPDESK_PROMOTE_* settings). Nothing new since the current version: nothing "
        "changes. A refused candidate stays in `gapdesk models list` with its reason. Exit "
        f"codes: 0 done, 2 an error (the current version keeps serving), {REFUSED} refused.",
    )
    mode = retrain.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="print what it would learn from; change nothing"
    )
    mode.add_argument(
        "--promote", action="store_true", help="serve the candidate when it is no worse"
    )
    retrain.add_argument(
        "--wait", action="store_true", help="wait for a retrain already running instead of failing"
    )
    retrain.set_defaults(handler=_cmd_retrain)


def _cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    # scikit-learn and SQLAlchemy: only when used
    from gapdesk.errors import RetrainBusyError
    from gapdesk.registry import Registry
    from gapdesk.retraining import Retrainer
    from gapdesk.storage.migrate import upgrade
    from gapmodel.errors import GapdeskError

    upgrade(settings.database_url)
    store = open_store(settings)
    started = time.monotonic()

    def progress(step: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {step}", file=sys.stderr, flush=True)

    try:
        outcome = Retrainer(settings, store, progress=progress).run(
            dry_run=args.dry_run, promote=args.promote, wait=args.wait
        )
    except RetrainBusyError:  # the running one will say how it went
        raise
    except Exception as exc:
        # Any failure is in the audit log (cron reads no traceback) and exits with 2.
        Registry(store, settings.models_path).audit("retrain_failed", error=str(exc)[:2000])
        if isinstance(exc, GapdeskError):
            raise
        logging.getLogger(__name__).exception("retrain failed")
        raise GapdeskError(
            f"retrain failed ({exc.__class__.__name__}: {exc}); see the log"
        ) from exc
    print(terminal_json({"signals": outcome.signals, "held_out": outcome.judgement}))
    print(outcome.message)
    return REFUSED if outcome.state == "refused" else 0
