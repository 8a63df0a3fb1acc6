"""Errors a user can act on. The CLI catches ``GanreproError`` once, prints its one-line message
(which names the key, file or checksum at fault) and exits with status 2, without a traceback.
Anything else is a bug and keeps its traceback.
"""


class GanreproError(Exception):
    """Base of every error the user can fix (bad params, a missing or malformed file)."""


class ParamsError(GanreproError, ValueError):
    """params.yaml breaks the schema or a semantic rule; the message names the key."""


class MissingInput(GanreproError, FileNotFoundError):
    """A file a step needs is not there; the message names it and the step that makes it."""


class InputError(GanreproError, ValueError):
    """A file given by the user is malformed (e.g. a probabilities .npy); the message says how."""


class DataError(GanreproError):
    """Base of the data-set errors."""


class DownloadError(DataError):
    """No mirror produced a file that passed its checksum (or the output dir is unusable)."""


class DataFormatError(DataError, ValueError):
    """A raw or prepared data file is malformed; the message names the file."""


class CorruptCheckpoint(GanreproError):
    """A checkpoint or resume state that cannot be read or belongs to other params/seed."""


class InceptionWeightsMissing(MissingInput):
    """The Inception-v3 weights file is not where it was expected."""
