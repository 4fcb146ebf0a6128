"""The error tree. Every error a person may see carries what they need to act.

VerityError
├── ConfigError                 a setting is missing or wrong
├── CatalogError                the catalog database refused or is out of date
│   ├── ConcurrentUpdate        someone else committed this document first
│   └── SourceConflict          a source name already belongs to another folder
├── VectorIndexError            the vector index refused or does not fit the model
│   ├── IndexBusy               another process holds the embedded index
│   └── RolloverRefused         a gated rebuild retrieved worse than the live collection
├── GeneratorUnavailable        the answer generator (an LLM endpoint) did not answer in time
├── NotFound                    an answer or conversation id that does not exist
├── Unauthorized                no API key, or one that is unknown or revoked
├── Forbidden                   a key whose role may not do this
├── Conflict                    the operation clashes with one in progress (a rebuild)
├── InvalidRequest              well-formed, but breaks a business rule (an uncited resolution)
└── IngestError                 one file could not become a document version
    ├── RejectedFile            refused before parsing (size, type, link, name, encoding)
    ├── ParseError              the parser failed or found nothing
    ├── ParseTimeout            the parser ran past its time limit (killed)
    ├── ParseMemoryExceeded     the parser ran past its memory cap (killed)
    └── FileUnstable            the file changed or vanished while being read
"""

from __future__ import annotations

from schemas.records import ReasonCode

#: Failures that may pass on a retry of the same bytes; all others are final for those bytes.
TRANSIENT_REASONS = frozenset(
    {ReasonCode.PARSE_TIMEOUT, ReasonCode.PARSE_MEMORY, ReasonCode.IO_ERROR, ReasonCode.UNSTABLE}
)

__all__ = ["TRANSIENT_REASONS", "ReasonCode"]


class VerityError(Exception):
    """Base of every error Verity raises on purpose."""


class ConfigError(VerityError):
    """A setting is missing or wrong."""


class NoCatalog(ConfigError):
    """A command that reads the catalog found none where the settings point."""


class CatalogError(VerityError):
    """The catalog database refused an operation."""


class ConcurrentUpdate(CatalogError):
    """Another writer committed a version of this document first; retry from the start."""


class SourceConflict(CatalogError):
    """A source name is already registered for another folder."""


class VectorIndexError(VerityError):
    """The vector index refused an operation or does not fit the model."""


class IndexBusy(VectorIndexError):
    """Another process holds the embedded index directory."""


class RolloverRefused(VectorIndexError):
    """A gated rebuild was not swapped in: it retrieved the gate's questions worse."""


class NotFound(VerityError):
    """An id (answer, conversation) that names nothing."""


class Unauthorized(VerityError):
    """No API key, or a key that is unknown or revoked."""


class Forbidden(VerityError):
    """The key's role may not do this."""


class Conflict(VerityError):
    """The operation clashes with one in progress."""


class InvalidRequest(VerityError):
    """The request fits its schema but breaks a business rule."""


class GeneratorUnavailable(VerityError):
    """The answer generator did not answer (timeout, connection refused, HTTP error)."""


class IngestError(VerityError):
    """One file could not become a document version."""

    reason: ReasonCode = ReasonCode.PARSE_ERROR

    def __init__(self, message: str, reason: ReasonCode | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def transient(self) -> bool:
        """True when retrying the same bytes may succeed."""
        return self.reason in TRANSIENT_REASONS


class RejectedFile(IngestError):
    """Refused before parsing: size, type, link, name or encoding."""


class ParseError(IngestError):
    """The parser failed or found no text."""


class ParseTimeout(ParseError):
    """The parser ran past its time limit and was killed."""

    reason = ReasonCode.PARSE_TIMEOUT


class ParseMemoryExceeded(ParseError):
    """The parser ran past its memory cap and was killed."""

    reason = ReasonCode.PARSE_MEMORY


class FileUnstable(IngestError):
    """The file changed or vanished while it was being read or parsed."""

    reason = ReasonCode.UNSTABLE
