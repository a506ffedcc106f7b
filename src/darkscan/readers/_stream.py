"""Bytes of a plain or gzipped event file, decompressed ahead of the parser on a second thread.

Shared by the LHE and HepMC3 readers. zlib releases the GIL while it inflates, and so do the
parsers' compiled parts (the LHE event parser, HepMC3's C++ reader while it works on a buffer), so
reading a ``.gz`` file costs about the larger of decompression and parsing instead of their sum.
Errors of the stream (a corrupt or truncated gzip member) are raised in the reading thread as
:class:`~darkscan.errors.InputFileError` naming the file.
"""

from __future__ import annotations

import queue
import threading
import zlib
from pathlib import Path

from darkscan.errors import InputFileError

__all__ = ["ByteSource", "READ_BYTES"]

#: bytes read per I/O call on a plain file (a gzipped one reads an eighth of it, ~5× that inflated)
READ_BYTES = 8 << 20

_builtin_open = open


class ByteSource:
    """Chunks of a file's (decompressed) bytes; ``read()`` gives b"" at the end. Close it when done."""

    _AHEAD = 4  # decompressed chunks buffered ahead of the parser

    def __init__(self, path: Path, *, what: str) -> None:
        self.path = path
        try:
            self._handle = _builtin_open(path, "rb")
        except FileNotFoundError:
            raise InputFileError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputFileError(f"{path}: is a directory, not {what}") from None
        magic = self._handle.read(2)
        self._handle.seek(0)
        self.gzipped = magic == b"\x1f\x8b"
        self._queue: queue.Queue[bytes | BaseException] | None = None
        self._stop = threading.Event()
        if self.gzipped:
            self._queue = queue.Queue(maxsize=self._AHEAD)
            self._thread = threading.Thread(target=self._inflate, name=f"gunzip {path.name}", daemon=True)
            self._thread.start()

    def _inflate(self) -> None:
        """Decompressed chunks into the queue, then b"" (end) or the exception that stopped it."""
        inflater = zlib.decompressobj(wbits=31)
        try:
            while not self._stop.is_set():
                raw = self._handle.read(READ_BYTES // 8)
                if not raw:
                    if not inflater.eof:
                        tail = inflater.flush()
                        if not inflater.eof:
                            raise InputFileError(f"{self.path}: gzip stream is truncated (file cut short)")
                        self._put(tail)
                    self._put(b"")
                    return
                out = inflater.decompress(raw)
                while inflater.eof and inflater.unused_data:
                    rest = inflater.unused_data  # next gzip member
                    inflater = zlib.decompressobj(wbits=31)
                    out += inflater.decompress(rest)
                if out:
                    self._put(out)
        except zlib.error as exc:
            self._put(InputFileError(f"{self.path}: corrupt gzip data ({exc})"))
        except BaseException as exc:  # handed to the reading thread, which raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)  # type: ignore[union-attr]
                return
            except queue.Full:
                continue

    def read(self) -> bytes:
        """The next chunk (b"" at the end of the file)."""
        if self._queue is None:
            return self._handle.read(READ_BYTES)
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._queue.put(item)  # every later read raises it too
            raise item
        if not item:
            self._queue.put(item)
        return item

    def close(self) -> None:
        self._stop.set()
        if self._queue is not None:
            self._thread.join()
        self._handle.close()

    def __enter__(self) -> ByteSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
