"""A prepared statement sent without waiting for its answer, on a pooled psycopg2 connection.

psycopg2's ``execute`` sends a statement and blocks until the whole answer is in; a site
check has client work that does not need the overlay's answer (the environmental
capacity under the site) and could run while the server computes it. libpq can do that
(``PQsendQueryPrepared`` now, ``PQgetResult`` later), and psycopg2 hands out the libpq
connection of any of its connections (``connection.pgconn_ptr``): :func:`send_prepared`
sends on it through the libpq psycopg2 itself loaded, and :class:`Sent.rows` reads the
answer when it is needed.

The connection stays psycopg2's (the pool's checks, the read replica's settings, its
disposal); it must be in autocommit (the statement is its own transaction, as in
:func:`~blueprint.layers.engine.postgis.overlay_read`) and idle, and is left idle again:
every result is read to the end (or the connection closed) before it is given back.
The answer comes in libpq's binary format and is decoded here by column type (text,
integers, double precision, bytea; json as its bytes, for the caller to parse), value for
value what psycopg2 makes of the text form (doubles: the exact binary value, which the text
form also is at the server's default ``extra_float_digits`` since PostgreSQL 12; bytea: a
memoryview, as psycopg2 gives).
Anything unexpected (no libpq found, an error, a column of another type) raises
:class:`NotSent`; the caller then runs the statement the ordinary way, which answers or
fails as it always did.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

__all__ = ["NotSent", "Sent", "libpq", "send_prepared"]

_PGRES_TUPLES_OK = 2
_CONNECTION_OK = 0
_TEXT_OIDS = {25, 1043, 1042, 19}  # text, varchar, bpchar, name
_INT = {20: struct.Struct(">q"), 23: struct.Struct(">i"), 21: struct.Struct(">h")}
_FLOAT8, _FLOAT4, _BYTEA, _JSON = 701, 700, 17, 114
_F8, _F4 = struct.Struct(">d"), struct.Struct(">f")


class NotSent(Exception):
    """The statement could not be sent or read this way (run it the ordinary way)."""


@lru_cache(maxsize=1)
def libpq() -> ctypes.CDLL | None:
    """The libpq psycopg2 is linked with (the same library, already loaded), or None."""
    try:
        import psycopg2._psycopg  # noqa: F401 - loads libpq
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if "libpq" in line}
        found = sorted(p for p in paths if "/libpq" in p and ".so" in p)
        if len(found) != 1:
            return None
        lib = ctypes.CDLL(found[0])
    except (OSError, ImportError):
        return None
    vp, i, cp = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "PQsendQueryPrepared": (i, [vp, cp, i, ctypes.POINTER(cp), ctypes.POINTER(i),
                                    ctypes.POINTER(i), i]),
        "PQgetResult": (vp, [vp]), "PQresultStatus": (i, [vp]), "PQclear": (None, [vp]),
        "PQntuples": (i, [vp]), "PQnfields": (i, [vp]), "PQfname": (cp, [vp, i]),
        "PQftype": (ctypes.c_uint, [vp, i]),
        "PQgetvalue": (ctypes.POINTER(ctypes.c_char), [vp, i, i]),
        "PQgetlength": (i, [vp, i, i]), "PQgetisnull": (i, [vp, i, i]),
        "PQstatus": (i, [vp]), "PQerrorMessage": (cp, [vp]),
        "PQresultErrorMessage": (cp, [vp]), "PQisBusy": (i, [vp]),
    }
    for name, (restype, argtypes) in signatures.items():
        func = getattr(lib, name, None)
        if func is None:
            return None
        func.restype, func.argtypes = restype, argtypes
    return lib


class Sent:
    """A statement on its way: :meth:`rows` waits for and decodes its answer, once.

    :meth:`abandon` reads and drops the answer (or closes the connection), for a caller
    that failed before reading it.
    """

    def __init__(self, lib: ctypes.CDLL, dbapi: Any, encoding: str) -> None:
        self._lib, self._dbapi, self._encoding = lib, dbapi, encoding
        self._pg = ctypes.c_void_p(dbapi.pgconn_ptr)
        self._done = False

    def rows(self) -> list[Any]:
        """The answer's rows (named tuples, as SQLAlchemy's rows read by name)."""
        if self._done:
            raise NotSent("the answer was already read")
        self._done = True
        lib, pg = self._lib, self._pg
        out: list[Any] | None = None
        error = None
        while True:
            res = lib.PQgetResult(pg)
            if not res:
                break
            try:
                if out is None and error is None:
                    if lib.PQresultStatus(res) == _PGRES_TUPLES_OK:
                        out = self._decode(res)
                    else:
                        error = (lib.PQresultErrorMessage(res) or b"").decode(
                            "utf-8", "replace").strip()
            except NotSent as exc:
                error = str(exc)
            finally:
                lib.PQclear(res)
        if lib.PQstatus(pg) != _CONNECTION_OK:
            self._dbapi.close()  # the pool replaces a closed connection
            raise NotSent("the connection broke")
        if error is not None or out is None:
            raise NotSent(error or "no answer")
        return out

    def abandon(self) -> None:
        """Read the answer to the end and drop it (the connection idle again)."""
        if self._done:
            return
        try:
            self.rows()
        except NotSent:
            pass

    def _decode(self, res: int) -> list[Any]:
        lib, encoding = self._lib, self._encoding
        nrows, ncols = lib.PQntuples(res), lib.PQnfields(res)
        names = [lib.PQfname(res, c).decode("ascii") for c in range(ncols)]
        decoders = [_decoder(int(lib.PQftype(res, c)), encoding) for c in range(ncols)]
        row_type = _row_type(tuple(names))
        getvalue, getlength, isnull = lib.PQgetvalue, lib.PQgetlength, lib.PQgetisnull
        columns = list(enumerate(decoders))
        rows = []
        for r in range(nrows):
            values = []
            for c, decode in columns:
                n = getlength(res, r, c)
                if n:  # a NULL has length 0: asked only then
                    values.append(decode(getvalue(res, r, c)[:n]))
                else:
                    values.append(None if isnull(res, r, c) else decode(b""))
            rows.append(row_type(*values))
        return rows


@lru_cache(maxsize=16)
def _row_type(names: tuple[str, ...]) -> Any:
    return NamedTuple("Row", [(n, Any) for n in names])  # type: ignore[misc]


def _decoder(oid: int, encoding: str) -> Any:
    if oid in _TEXT_OIDS:
        return lambda b: b.decode(encoding)
    if oid in _INT:
        unpack = _INT[oid].unpack
        return lambda b: unpack(b)[0]
    if oid == _FLOAT8:
        return lambda b: _F8.unpack(b)[0]
    if oid == _FLOAT4:
        return lambda b: _F4.unpack(b)[0]
    if oid == _BYTEA:
        return memoryview  # psycopg2 gives a memoryview for bytea
    if oid == _JSON:  # its binary form is its text: the caller parses it
        return bytes
    raise NotSent(f"a column of type {oid}")


def send_prepared(dbapi: Any, name: str, params: Sequence[Any]) -> Sent:
    """Send ``EXECUTE name (params)`` on the psycopg2 connection ``dbapi`` (autocommit,
    idle, ``name`` prepared on it) and return at once. ``params`` are bytes (sent as
    binary: bytea), ints, floats or lists of ints (sent as text, as psycopg2 quotes
    them)."""
    lib = libpq()
    if lib is None or getattr(dbapi, "pgconn_ptr", None) is None:
        raise NotSent("libpq is not reachable")
    if not dbapi.autocommit or dbapi.closed or getattr(dbapi, "async_", False):
        raise NotSent("the connection is not a blocking one idle in autocommit")
    n = len(params)
    values = (ctypes.c_char_p * n)()
    lengths = (ctypes.c_int * n)()
    formats = (ctypes.c_int * n)()
    for k, value in enumerate(params):
        if isinstance(value, bytes):
            raw, fmt = value, 1
        elif isinstance(value, bool):
            raise NotSent("a boolean parameter")
        elif isinstance(value, int):
            raw, fmt = str(value).encode("ascii"), 0
        elif isinstance(value, float):
            raw, fmt = repr(value).encode("ascii"), 0
        elif isinstance(value, list | tuple) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            raw, fmt = ("{" + ",".join(str(v) for v in value) + "}").encode("ascii"), 0
        else:
            raise NotSent(f"a parameter of type {type(value).__name__}")
        values[k], lengths[k], formats[k] = raw, len(raw), fmt
    pg = ctypes.c_void_p(dbapi.pgconn_ptr)
    if lib.PQisBusy(pg) or not lib.PQsendQueryPrepared(pg, name.encode("ascii"), n, values,
                                                       lengths, formats, 1):
        raise NotSent((lib.PQerrorMessage(pg) or b"").decode("utf-8", "replace").strip())
    return Sent(lib, dbapi, _python_encoding(dbapi.encoding))


@lru_cache(maxsize=8)
def _python_encoding(pg_encoding: str) -> str:
    """The Python codec of a PostgreSQL client encoding, as psycopg2 decodes text with."""
    from psycopg2.extensions import encodings

    return str(encodings.get(pg_encoding, "utf-8"))
