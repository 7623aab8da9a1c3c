"""Exceptions raised by tomors: one class per kind of error, all under :class:`TomorsError`.

Input errors also derive from :class:`ValueError` and device errors from
:class:`RuntimeError`, so generic handlers keep working.
"""


class TomorsError(Exception):
    """Base class of every tomors error."""


class InvalidGeometryError(TomorsError, ValueError):
    """A grid or geometry parameter is out of range (non-positive spacing, source inside the grid...)."""


class ShapeMismatchError(TomorsError, ValueError):
    """An array does not have the shape the projector expects."""


class NonFiniteError(TomorsError, ValueError):
    """Input data holds NaN or infinite values."""


class InvalidArgumentError(TomorsError, ValueError):
    """An argument (filter name, cut-off, backend name...) is out of range."""


class NoGpuError(TomorsError, RuntimeError):
    """backend="gpu" was asked for but no GPU adapter could be opened."""


class GpuError(TomorsError, RuntimeError):
    """The GPU failed while running (device lost, out of memory)."""


class TomorsIOError(TomorsError, OSError):
    """Reading or writing a file failed, or its content is malformed."""


class DicomError(TomorsIOError):
    """A DICOM file is unreadable, truncated, malformed, inconsistent with its series, over the
    reading limits, or holds something tomors does not support; the message names the file and
    the attribute."""


class TooLargeError(TomorsError, MemoryError):
    """A size asked for (a grid, a sinogram layout, an array a file declares) does not fit this
    machine's memory, or overflows; refused before anything is allocated, with the figure."""


class NetworkError(TomorsError, ConnectionError):
    """A DICOM network peer (a PACS) cannot be reached, refused the association, or answered
    with a failure; the message names the peer (AE@host:port)."""


__all__ = [
    "TomorsError",
    "InvalidGeometryError",
    "ShapeMismatchError",
    "NonFiniteError",
    "InvalidArgumentError",
    "NoGpuError",
    "GpuError",
    "TomorsIOError",
    "DicomError",
    "TooLargeError",
    "NetworkError",
]
