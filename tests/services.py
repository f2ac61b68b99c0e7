"""Which outside services the tests found, and which tests were left out for want of one.

Kept apart from conftest.py so that every conftest imports the same record.
"""

from __future__ import annotations

import os
import socket

import pytest

left_out: dict[str, str] = {}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if not _reachable(host, port):
        leave_out(name, f"{host}:{port} is not reachable")


def leave_out(name: str, why: str) -> None:
    """Skip a test that needs ``name`` (said once at the end); in CI, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI but {why}")
    left_out[name] = why
    pytest.skip(f"{name} not available: {why}")
