"""JSON request bodies parsed by orjson, with exactly the results and errors of ``json.loads``.

Why: parsing is the one step of a request that holds the GIL without a break (the C parser of
``json`` never hands it over), so while a big body is parsed on its thread every other request
waits (see :mod:`servey_faas.web.bodies`). orjson
(https://github.com/ijl/orjson) parses RFC 8259 text about twice as fast: ``bench/latency.py``'s
0.9 MiB body in 2.5 ms instead of 5.7 ms here (3.0 ms with the check below).

Where the two differ, ``json.loads`` decides:

- an integer literal outside 64 bits is a ``float`` to orjson (``18446744073709551616`` →
  ``1.8446744073709552e+19``) and an exact ``int`` to Python: text with a run of
  :data:`_LONG_RUN` or more ASCII digits anywhere (strings included) is parsed by ``json.loads``;
  shorter integer literals fit in 64 bits, where both agree;
- everything orjson refuses (``NaN``, ``1e400``, a byte order mark, lone surrogates, UTF-16 and
  UTF-32 text, invalid UTF-8, deep nesting) is parsed again by ``json.loads``, which accepts it or
  raises its own error, so callers see the same results and messages as before;
- ``str`` text (a query string's ``variables``: small, bounded by the URL) goes to ``json.loads``.

orjson is imported when the first body is parsed: its import (about 2 ms in an action's function,
``uuid`` and ``zoneinfo`` with it) is not part of a cold start, and a process serving only GET
requests never pays it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

#: Digits in a row that may be an integer orjson turns into a float: 2**63 has 19 digits, and
#: every integer literal with fewer fits in orjson's signed or unsigned 64-bit integers.
_LONG_RUN = b"0" * 19

#: ``bytes.translate`` table mapping every ASCII digit to ``0`` (and any other byte to itself), so
#: that one ``find`` of :data:`_LONG_RUN` spots a long run of digits (~0.5 ms for 1 MiB).
_DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else byte for byte in range(256))


def loads(text: bytes | str, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """The JSON value in ``text``, as ``json.loads(text, parse_constant=parse_constant)`` gives it.

    :param text: UTF-8 bytes (the fast path) or a ``str``.
    :param parse_constant: called with ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``, as for
        ``json.loads`` (orjson refuses those literals, so they always reach it).
    :raises ValueError: ``json.JSONDecodeError`` or ``UnicodeDecodeError`` from ``json.loads``,
        with its message, for text that is not JSON.
    """
    if isinstance(text, bytes) and text.translate(_DIGITS_TO_ZERO).find(_LONG_RUN) < 0:
        import orjson  # here, not at the top: see the module docstring

        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    if parse_constant is None:
        return json.loads(text)
    return json.loads(text, parse_constant=parse_constant)
