#!/usr/bin/env python3
"""asyncio: connecting a pipe object whose fd is closed raises OSError (EBADF)
as it should, but the half-built transport then warns "unclosed transport"
when it is collected and closes the caller's pipe object (spec C1: refused,
nothing else happens).

_UnixReadPipeTransport.__init__ (and the write pipe's) stores the pipe
before os.fstat(); when fstat raises, nothing clears self._pipe, so
__del__ issues a ResourceWarning and calls pipe.close().  The file-type
check just below clears _pipe before raising ValueError; the fstat error
takes another way out.  By the time the object is collected the fd number
may belong to another file, which pipe.close() then closes.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import gc
import os
import warnings

from _repro import finish, read_pipe, write_pipe


class Pipe:
    """A pipe object as connect_read_pipe wants one, that records close()."""

    def __init__(self, fd):
        self.fd = fd
        self.closed_by = []

    def fileno(self):
        return self.fd

    def close(self):
        self.closed_by.append("close()")


loop = asyncio.new_event_loop()
r, w = os.pipe()
os.close(r)  # the fd number is now closed
pipe = Pipe(r)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for connect in (read_pipe, write_pipe):
        try:
            connect(loop, pipe)
            print("%s: accepted" % connect.__name__)
        except OSError as exc:
            print("%s: refused with %r" % (connect.__name__, exc))
    gc.collect()
unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
print("after collection: %d ResourceWarning(s) %s; pipe.close() called %d time(s)"
      % (len(unclosed), unclosed[:1], len(pipe.closed_by)))
finish(loop, unclosed and pipe.closed_by, fds=(w,))
