"""``rasa run`` with its JWT secret read from the environment, not the command line.

Rasa takes the secret only as ``--jwt-secret``, and a process's arguments can be read
by every user of the machine (``ps``), its environment only by the same user. gapdesk
starts Rasa as ``python -m bot.serve run ...`` with the secret in
``GAPDESK_RASA_JWT_SECRET``; the argument is added inside the process.
"""

from __future__ import annotations

import os
import sys

from rasa.__main__ import main

if __name__ == "__main__":
    secret = os.environ.pop("GAPDESK_RASA_JWT_SECRET", "")
    if not secret:
        sys.exit("bot.serve: GAPDESK_RASA_JWT_SECRET is empty; Rasa's API would be open")
    sys.argv = ["rasa", *sys.argv[1:], "--jwt-secret", secret, "--jwt-method", "HS256"]
    main()
