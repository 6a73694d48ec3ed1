"""User-facing error classes, each with its own exit code.

A user error (bad file, bad config, schema failure, bad code list) is shown as one line without a
traceback; anything else is a bug and keeps its traceback. Messages name the file, column and row
counts and say how to fix the problem. They never contain patient-level values.
"""

from __future__ import annotations


class NpcRiskError(Exception):
    """Base class for errors caused by the user's inputs rather than by a bug."""

    exit_code = 9  # 1 is Python's own for an uncaught bug; 2 is a command-line usage error
    kind = "error"


class InputFileError(NpcRiskError):
    """An extract file or folder is missing, unreadable or of an unknown table."""

    exit_code = 3
    kind = "input error"


class SchemaError(NpcRiskError):
    """A table lacks a required column, or the extract as a whole breaks the data contract."""

    exit_code = 4
    kind = "schema error"


class ConfigError(NpcRiskError):
    """A pipeline configuration file is missing, malformed or out of range."""

    exit_code = 5
    kind = "config error"


class CodelistError(NpcRiskError):
    """A code list is missing, has a bad hash, bad codes, duplicates, or is empty."""

    exit_code = 6
    kind = "code list error"


class ModelError(NpcRiskError):
    """A model file is missing, of the wrong format, or incompatible with the features."""

    exit_code = 7
    kind = "model error"


class OutputError(NpcRiskError):
    """The output location cannot be written (permissions, a file in the way)."""

    exit_code = 8
    kind = "output error"


class LockError(NpcRiskError):
    """Another run holds the output folder's lock (OUTPUT/.npc-risk.lock).

    Its own code (10; 9 is the base class's fallback) so that a cron wrapper can tell "a run was
    already going" (try later, nothing is wrong) from a failure."""

    exit_code = 10
    kind = "locked"


class StaleError(NpcRiskError):
    """`npc-risk status --max-age-hours N`: no run published in the last N hours (or none at all).

    Its own code (11) for a monitoring check: the nightly job has not succeeded lately."""

    exit_code = 11
    kind = "stale"


EXIT_CODES = {cls.__name__: cls.exit_code for cls in (
    NpcRiskError, InputFileError, SchemaError, ConfigError, CodelistError, ModelError, OutputError,
    LockError, StaleError,
)}
