"""seqthink: a place for LLM agents to think step by step.

Numbered thoughts, revisions of earlier thoughts and named branches, kept in
sessions that are saved, restored, deleted and aged out by a store.

    >>> import seqthink
    >>> session = seqthink.ThinkingSession("demo")
    >>> session.think("First, restate the problem.").thought_history_length
    1
"""

from seqthink import errors
from seqthink._filesystem import FileSystemStore, default_root
from seqthink._memory import MemoryStore
from seqthink._rules import DEFAULT_MAX_THOUGHT_LENGTH, MAX_BRANCH_ID_LENGTH, MAX_NUMBER
from seqthink._session import Clock, SessionMetadata, SessionRecord, ThinkingSession
from seqthink._store import SessionStore
from seqthink._thought import Thought, ThoughtResult

__all__ = [
    "DEFAULT_MAX_THOUGHT_LENGTH",
    "MAX_BRANCH_ID_LENGTH",
    "MAX_NUMBER",
    "Clock",
    "FileSystemStore",
    "MemoryStore",
    "RedisStore",
    "SessionMetadata",
    "SessionRecord",
    "SessionStore",
    "ThinkingSession",
    "Thought",
    "ThoughtResult",
    "default_root",
    "errors",
]

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from seqthink._redis import RedisStore


def __getattr__(name: str) -> object:
    # RedisStore needs redis-py, an optional extra: import it only when asked for.
    if name == "RedisStore":
        from seqthink._redis import RedisStore  # noqa: PLC0415 - on demand

        return RedisStore
    raise AttributeError(f"module 'seqthink' has no attribute {name!r}")
