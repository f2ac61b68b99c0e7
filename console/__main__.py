"""``python -m console``: serve the console on GAPDESK_CONSOLE_URL's host and port.

``gapdesk up`` (``make run``) starts it this way beside Rasa and the action server.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import uvicorn

from console.app import create_app
from gapdesk.settings import load_settings


def main() -> None:
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call to Rasa
    address = urlsplit(settings.console_url)
    uvicorn.run(
        create_app(settings),
        host=address.hostname or "127.0.0.1",
        port=address.port or 8000,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # the client address (login throttling) is the socket's
        timeout_graceful_shutdown=3,  # open live pages must not hold up a stop
    )


if __name__ == "__main__":
    main()
