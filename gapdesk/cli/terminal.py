"""Text customers wrote, made safe to print to a supervisor's terminal.

The CLI prints stored conversations, whose messages, ids, reasons and briefs come
from customers; a control sequence among them would make the terminal act (recolour,
retitle, clear, reorder) instead of show.
"""

from __future__ import annotations

import json

# Characters that make a terminal act instead of show: C0, DEL and C1 controls (ESC
# and CSI start colour, cursor and OSC title or clipboard sequences; CR and BS
# overwrite the line), and the bidi embedding, override and isolate controls, which
# reorder the text after them on screen. Customers choose the text we print.
_CONTROLS = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
# Tab only moves the cursor right; line breaks are laid out by the caller.
_TERMINAL_ESCAPES = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in _CONTROLS
    if chr(code) not in "\t\n"
}
# json.dumps escapes C0 itself but, with ensure_ascii=False (to keep non-ASCII text
# readable), passes DEL, C1 and bidi controls through; \uXXXX is the same string.
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in _CONTROLS if code >= 0x7F}


def terminal_text(value: object, *, line_break: str = "\\n") -> str:
    """Stored text (a customer's, the bot's, an agent's) made safe to print to a terminal.

    Control characters become visible ASCII escapes (``\\x1b``, ``\\x9b``, ``\\u202e``),
    not Unicode control pictures (U+241B): those exist for C0 and DEL only and need a
    font that has them. (A customer who types a backslash escape looks the same; the
    ``--json`` output and the console keep the exact text.) Each line break becomes
    ``line_break``: the visible ``\\n`` of a one-line field by default, or a newline
    plus an indent, so that no line of a message can pass for a line of the layout.
    """
    text = str(value).replace("\r\n", "\n").translate(_TERMINAL_ESCAPES)
    return text.replace("\n", line_break)


def terminal_json(value: object, indent: int | None = 2) -> str:
    """``value`` as JSON that is safe to print to a terminal and reads back the same."""
    text = json.dumps(value, indent=indent, ensure_ascii=False, default=str)
    return text.translate(_JSON_ESCAPES)
