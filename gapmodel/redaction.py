"""Masking customers' personal data before text is stored.

Card numbers (13-19 digits, with spaces or dashes; mistyped ones too, so no Luhn
check), email addresses and phone numbers (9-15 digits, optionally with a country
code and brackets) are replaced by placeholders. A card's last four digits, amounts,
dates and transfer references are shorter and stay, since flows need them.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\d+])(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE_LIKE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d[\d .-]{6,}\d(?!\w)")

CARD_MASK = "[CARD]"
EMAIL_MASK = "[EMAIL]"
PHONE_MASK = "[PHONE]"


def _mask_phone(match: re.Match[str]) -> str:
    digits = sum(char.isdigit() for char in match.group(0))
    return PHONE_MASK if 9 <= digits <= 15 else match.group(0)


def redact(text: str | None) -> str | None:
    """Text with card numbers, emails and phone numbers masked."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _CARD.sub(CARD_MASK, text)
    return _PHONE_LIKE.sub(_mask_phone, text)
