"""The objects a server holds from start-up, kept out of the cyclic garbage collector's work.

A server builds everything it keeps (imported modules, the app, its schemas and caches) before its
first request, then allocates and frees request objects for its whole life. CPython's collector
traverses every object of a generation it collects, and the oldest generation is collected again
once the objects promoted into it since its last collection reach a quarter of it
(https://devguide.python.org/internals/garbage-collector/): a big JSON body (tens of thousands of
dicts and lists, alive while its request is worked on) promotes that many. Each such collection
then traverses the whole start-up heap while holding the GIL: 15 ms on average and 25 ms at worst
for the demo app under ``bench/latency.py``, during which no other request moves.

``gc.freeze()`` (https://docs.python.org/3/library/gc.html#gc.freeze) moves every tracked object
to a permanent generation that collections skip: they then traverse only what was allocated since.
Frozen objects are still freed when their reference count drops to zero; only garbage cycles
among them (the start-up's own, if any) are never collected.
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> None:
    """Move every object alive now out of the collector's way (``gc.freeze()``, see the module
    docstring); call once, when a server has built its app and is about to serve. Takes
    microseconds: nothing is traversed."""
    gc.freeze()
