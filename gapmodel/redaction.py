"""Masking customers' personal data before text is stored.

Card numbers (13-19 digits, in one run or in the groups printed on cards, mistyped
ones too, so no Luhn check), IBANs, email addresses (any script) and phone numbers
(international, national with a leading 0, North American; 9-15 digits) are replaced
by placeholders. A card's last four digits, amounts, dates and transfer references are
shorter and stay, since flows need them. Every pattern runs in linear time: a hostile
100 KB message is redacted in milliseconds.
"""

from __future__ import annotations

import re

# The lookbehind makes a match start only at the beginning of a run of address
# characters, so a long run without "@" is scanned once, not once per position.
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.\w{2,24}")
# Card numbers: 13-19 digits in one run, or in the groups printed on cards
# (4-4-4-4[-3], Amex 4-6-5) separated by spaces, dots or dashes. Never joined across
# other numbers such as dates.
_CARD = re.compile(
    r"(?<!\d)"
    r"(?:\d{13,19}"
    r"|\d{4}(?:[ .-]{1,2}\d{4}){3}(?:[ .-]{1,2}\d{1,3})?"
    r"|\d{4}[ .-]{1,2}\d{6}[ .-]{1,2}\d{5})"
    r"(?!\d)"
)
# IBANs and phone numbers never start after a dash: a uuid's groups (rating buttons
# carry one) can read as either.
_IBAN = re.compile(
    r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE
)
_PHONE = re.compile(
    "|".join(
        (
            r"(?:\+|(?<![\w-])00)\d{1,3}(?:[ -]?\(?\d{1,5}\)?){2,5}",  # +44 20 7946 0880, 0044 ...
            # national: (020) 7946 0880
            r"(?:\(0\d{1,4}\)|(?<![\w-])0\d{2,4})(?:[ -]?\d{2,4}){2,3}\b",
            r"(?:\(\d{3}\)[ .-]?|(?<![\w-])\d{3}[ .-])\d{3}[ .-]\d{4}\b",  # (555) 123-4567
        )
    )
)

CARD_MASK = "[CARD]"
IBAN_MASK = "[IBAN]"
EMAIL_MASK = "[EMAIL]"
PHONE_MASK = "[PHONE]"
# Every placeholder redact() writes: what readers of stored text must not take for words.
MASKS = (CARD_MASK, IBAN_MASK, EMAIL_MASK, PHONE_MASK)


def _mask_phone(match: re.Match[str]) -> str:
    digits = sum(char.isdigit() for char in match.group(0))
    return PHONE_MASK if 9 <= digits <= 15 else match.group(0)


def redact(text: str | None) -> str | None:
    """Text with card numbers, IBANs, emails and phone numbers masked."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _IBAN.sub(IBAN_MASK, text)  # before cards: an IBAN holds a long digit run
    text = _CARD.sub(CARD_MASK, text)
    return _PHONE.sub(_mask_phone, text)
