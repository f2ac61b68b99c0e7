"""``rasa run`` with its JWT secret read from the environment, not the command line.

Rasa takes the secret only as ``--jwt-secret``, and a process's arguments can be read
by every user of the machine (``ps``), its environment only by the same user. gapdesk
starts Rasa as ``python -m bot.serve run ...`` with the secret in
``GAPDESK_RASA_JWT_SECRET``; the argument is added inside the process. Before Rasa
starts, every log record it will make is set to be masked (``bot/log_redaction.py``),
and action server responses are validated with a validator built once
(``bot/action_results.py``).
"""

from __future__ import annotations

import os
import sys


def rasa_argv(arguments: list[str], secret: str) -> list[str]:
    """Rasa's command line with the secret added.

    The ``--option=value`` form: a generated secret may begin with "-" (one in 64 of
    them does), and argparse would read ``--jwt-secret -x...`` as a missing value.
    """
    return ["rasa", *arguments, f"--jwt-secret={secret}", "--jwt-method=HS256"]


if __name__ == "__main__":
    from rasa.__main__ import main

    from bot import action_results, log_redaction

    log_redaction.install()
    action_results.install()
    secret = os.environ.pop("GAPDESK_RASA_JWT_SECRET", "")
    if not secret:
        sys.exit("bot.serve: GAPDESK_RASA_JWT_SECRET is empty; Rasa's API would be open")
    sys.argv = rasa_argv(sys.argv[1:], secret)
    main()
