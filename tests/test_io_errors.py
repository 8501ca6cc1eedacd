"""I/O errors in the filesystem store (issue 3, point 2).

ENOSPC, EIO, EROFS and EACCES are injected at each file-system call of each
operation (save of new thoughts, first save, append to a stored session and
to a new one, delete, cleanup, restore, list_sessions, exists), once
(transient) and at every call from there on (persistent), using
``faults.Faults``. For each injection:

* a call that raises must raise a SeqthinkError (never CorruptSessionError for
  an I/O error) that keeps the injected OSError in its cause chain, and the
  disk must be at the previous commit;
* a call that returns despite the fault must have done its whole job;
* a fault after the operation's commit (the rename onto session.json, or of
  the session folder away) cannot leave the previous commit: the rename is
  visible and, under a persistent fault, cannot even be undone. There, a
  failed fsync of that folder must raise (the change is not durable; the next
  call must make it so, which the last test checks), and any other failure
  (releasing the lock, removing the deleted folder) must not raise, since
  nothing was lost (see ``after_commit``). Cleanup deletes several sessions
  and may stop between them: each session must be whole, before or after;
* the in-memory session is unchanged by the failed call;
* once the fault clears, the same call on the same store object succeeds, the
  disk holds the new state, and no temp file is left.

In durable mode every errno is injected at every call; in non-durable mode,
whose calls are a subset of durable mode's (no fsyncs), the errno rotates
from call to call. Real fsyncs are skipped under the harness (``sync=False``):
they are still counted and failed, but durability is not the question here,
except in the last test, which judges it with ``faults.Disk``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from pathlib import PurePath
from typing import TYPE_CHECKING

import pytest
from faults import (
    SCENARIOS,
    Call,
    Disk,
    Faults,
    Seen,
    Workload,
    chain,
    describe,
    expected_states,
    materialize,
    state_of,
    stored_on_disk,
    temp_files,
    tombs,
)

from seqthink import FileSystemStore, SessionStore, ThinkingSession
from seqthink.errors import CorruptSessionError, SeqthinkError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork, SIGKILL and flock are POSIX")

ERRNOS = (errno.ENOSPC, errno.EIO, errno.EROFS, errno.EACCES)
OPERATIONS = [
    "save_new",
    "first_save",
    "append",
    "append_new",
    "delete",
    "cleanup",
    "restore",
    "list",
    "exists",
]


def prepare(base: Path, factory: Callable[[], Workload]) -> Workload:
    """A fresh workload with its starting state committed in ``base/sessions``."""
    workload = factory()
    base.mkdir(parents=True)
    workload.setup(FileSystemStore(base / "sessions", durable=False))
    return workload


def count_calls(base: Path, factory: Callable[[], Workload], durable: bool) -> list[Call]:
    """The trace of the workload's (single) step, run without faults."""
    workload = prepare(base, factory)
    step = workload.steps[0]
    step.think()
    with Faults(base, sync=False) as faults:
        step.call(FileSystemStore(base / "sessions", durable=durable))
    shutil.rmtree(base)
    return faults.trace


def commit_point(trace: list[Call]) -> Call | None:
    """The rename that committed the operation: onto session.json (save) or of the folder away (delete)."""
    for call in trace:
        name = PurePath(call.target or "").name
        if (
            call.name in {"rename", "replace"}
            and call.ok
            and (name == "session.json" or name.startswith(".deleted-"))
        ):
            return call
    return None


def after_commit(trace: list[Call], n: int) -> str:
    """How a failure at call ``n`` relates to the operation's commit.

    "before": no commit yet; the call must raise and keep the previous state, or
    return having done all of it. "sync": the fsync of the folder the commit
    renamed in, or of a folder above it that a first commit must also make
    durable (or the open for it), failed; the new state is visible and not
    durable, so the call must raise, and the next call must make it durable
    (see the fsync test below). "close": closing such a folder after its fsync;
    either way is fine. "after": anything else after the commit (releasing the
    lock, removing the deleted folder): nothing is lost, so the call must not
    raise.
    """
    commit = commit_point(trace)
    failed = next(c for c in trace if c.index == n)
    if commit is None or commit.index > n:
        return "before"
    folder = PurePath(commit.target or "").parent
    synced = {str(folder), *(str(p) for p in folder.parents)}
    if failed.path in synced and (
        (failed.name == "open" and failed.flags & os.O_DIRECTORY) or failed.name in {"fsync", "fdatasync"}
    ):
        return "sync"
    return "close" if failed.path in synced and failed.name == "close" else "after"


def check_outcome(
    name: str,
    result: object,
    raised: Exception | None,
    seen: dict[str, Seen],
    states: list[dict[str, Seen]],
    code: int,
    when: str,
) -> list[str]:
    """What is wrong with how the faulty call ended and what it left on disk (``when``: see after_commit)."""
    before, after = states
    problems = []
    if raised is not None:
        if not isinstance(raised, SeqthinkError) or isinstance(raised, CorruptSessionError):
            problems.append(f"raised {raised!r}, not a SeqthinkError for an I/O error")
        if not any(isinstance(e, OSError) and e.errno == code for e in chain(raised)):
            problems.append(f"{raised!r} does not keep the OSError as its cause")
    if name == "cleanup":  # several sessions, each deleted whole or not at all
        wrong = {s: f for s, f in seen.items() if f not in (before[s], after[s])}
        gone = {s for s, f in seen.items() if before[s] is not None and f is None}
        if raised is None and not (isinstance(result, list) and set(result) == gone):
            problems.append(f"cleanup returned {result!r} but deleted {sorted(gone)}")
    else:
        expected = before if raised is not None and when == "before" else after
        wrong = {s: f for s, f in seen.items() if f != expected[s]}
        if when == "sync" and raised is None:
            problems.append("returned, though the fsync that makes its commit durable failed")
        if when == "after" and raised is not None:
            problems.append("raised, though it had committed and nothing was lost")
    problems += [
        f"{'raised' if raised else 'returned'}, and {s} is {describe(f, states, s)}" for s, f in wrong.items()
    ]
    if raised is None and name == "delete" and result is not True:
        problems.append(f"delete returned {result!r} for a stored session")
    stored = sorted(s for s, f in before.items() if f is not None)
    if raised is None and name == "list" and result != stored:  # never silently short
        problems.append(f"list_sessions returned {result!r}, not {stored}")
    if raised is None and name == "exists" and result is not True:
        problems.append(f"exists returned {result!r} for a stored session")
    if (
        raised is None
        and name == "restore"
        and not (isinstance(result, ThinkingSession) and state_of(result) == before["s1"])
    ):
        problems.append(f"restore returned {result!r}, not the stored state")
    return problems


def inject(
    base: Path,
    factory: Callable[[], Workload],
    states: list[dict[str, Seen]],
    *,
    durable: bool,
    n: int,
    code: int,
    persistent: bool,
) -> list[str]:
    """Inject ``code`` at call ``n`` of the workload's step; the problems found, each naming the call."""
    workload = prepare(base, factory)
    root = base / "sessions"
    store = FileSystemStore(root, durable=durable)
    step = workload.steps[0]
    step.think()
    memory = {s: state_of(session) for s, session in workload.sessions.items()}
    result: object = None
    raised: Exception | None = None
    with Faults(base, fail_at=n, errno=code, persistent=persistent, sync=False) as faults:
        try:
            result = step.call(store)
        except Exception as exc:  # judged below
            raised = exc
    at = next((str(c) for c in faults.trace if c.index == n), f"#{n} (never reached)")
    where = f"{errno.errorcode[code]} {'from' if persistent else 'at'} call {at}"
    seen = stored_on_disk(root, workload.session_ids)
    when = after_commit(faults.trace, n) if faults.injected else "before"
    problems = check_outcome(step.label, result, raised, seen, states, code, when)
    if {s: state_of(session) for s, session in workload.sessions.items()} != memory:
        problems.append("the session in memory changed")
    again = step.call
    if step.label == "append" and seen == states[1]:
        # The thought was committed (the call failed after its commit, or returned): an
        # append again would record a second thought, so the store's working is shown by
        # reading the session back.
        def again(store: SessionStore) -> object:
            return store.restore("s1")

    try:  # the fault has cleared (real fsyncs still skipped, for speed)
        with Faults(base, sync=False):
            again(store)
    except Exception as exc:
        problems.append(f"with the fault cleared, {step.label} failed: {exc!r}")
    seen = stored_on_disk(root, workload.session_ids)
    problems += [
        f"with the fault cleared, {step.label} left {s} {describe(f, states, s)}"
        for s, f in seen.items()
        if f != states[1][s]
    ]
    if temp_files(root):
        problems.append(f"temp files left after a successful {step.label}: {temp_files(root)}")
    if step.label == "cleanup" and tombs(root):
        problems.append(f"deleted folders left after a successful cleanup: {tombs(root)}")
    shutil.rmtree(base)
    return [f"{where}: {problem}" for problem in problems]


@pytest.mark.parametrize("persistent", [False, True], ids=["transient", "persistent"])
@pytest.mark.parametrize("durable", [True, False], ids=["durable", "non-durable"])
@pytest.mark.parametrize("name", OPERATIONS)
def test_injected_errors(tmp_path: Path, name: str, durable: bool, persistent: bool) -> None:
    """ENOSPC/EIO/EROFS/EACCES at any call: a SeqthinkError, the previous commit kept, then recovery.

    See the module docstring for what each injection checks.
    """
    factory = SCENARIOS[name]
    states = expected_states(factory)
    count = max(c.index for c in count_calls(tmp_path / "count", factory, durable))
    problems = []
    for n in range(1, count + 1):
        for code in ERRNOS if durable else ERRNOS[n % len(ERRNOS) : n % len(ERRNOS) + 1]:
            base = tmp_path / f"{n}-{code}"
            problems += inject(base, factory, states, durable=durable, n=n, code=code, persistent=persistent)
    assert [] == problems


# --- a failed fsync ------------------------------------------------------------------------------------


def written(trace: list[Call], fd: int, opened: int, until: int) -> bytes:
    """The bytes written to descriptor ``fd`` by calls between ``opened`` and ``until``."""
    return b"".join(
        c.data for c in trace if c.name == "write" and c.fd == fd and opened < c.index < until and c.ok
    )


def opening(trace: list[Call], call: Call) -> Call:
    """The ``open`` that made the descriptor ``call`` used."""
    return max(
        (c for c in trace if c.name == "open" and c.result == call.fd and c.index < call.index),
        key=lambda c: c.index,
    )


def rewrite_problems(trace: list[Call], failed: Call, retry_from: int) -> list[str]:
    """After the file fsync ``failed``, the retry must write its content anew: new file, fsynced, renamed."""
    opened = opening(trace, failed).index
    content = written(trace, -1 if failed.fd is None else failed.fd, opened, failed.index)
    later = [c for c in trace if c.index > failed.index]
    # The store names a temp file ".{final name}.{random}.tmp"; while it does, hold the retry to that name.
    temp = PurePath(failed.path or "")
    named = re.fullmatch(r"\.(.+)\.[0-9a-f]+\.tmp", temp.name)
    final = None if named is None else str(temp.parent / named.group(1))
    if any(c.name in {"fsync", "fdatasync", "write"} and c.path == failed.path for c in later):
        return [f"{failed}: the same file was written or fsynced again"]
    for new in (c for c in later if c.name == "open" and c.ok and c.index >= retry_from):
        if new.path == failed.path or not new.flags & os.O_CREAT:
            continue
        closed = next(
            (c.index for c in later if c.name == "close" and c.fd == new.result and c.index > new.index),
            1 << 62,
        )
        synced = any(
            c.name in {"fsync", "fdatasync"} and c.fd == new.result and c.ok and new.index < c.index < closed
            for c in later
        )
        renamed = any(
            c.name in {"rename", "replace"} and c.path == new.path and c.ok and final in {None, c.target}
            for c in later
        )
        fd = -1 if new.result is None else new.result
        if written(trace, fd, new.index, closed) == content and synced and renamed:
            return []
    return [f"{failed}: the retry wrote no new, fsynced file with the same content renamed to {final}"]


@pytest.mark.parametrize("name", ["save_new", "first_save"])
def test_a_failed_fsync_is_never_retried_on_the_same_file(tmp_path: Path, name: str) -> None:
    """After an fsync fails with EIO, the next save writes the data again from memory, durably.

    For each fsync of a durable save: inject EIO there once, then save again
    with the same store and session. A failed file fsync must be followed by
    a new temp file with the same content, fsynced and renamed into place (the
    failed file is never written or fsynced again). Then, with the trace
    replayed on ``faults.Disk`` (a failed file fsync loses that file's unsynced
    data for good; a failed folder fsync is taken as if it had not happened,
    the lenient reading), every image a power loss could leave after the
    second save returned must hold the new state.
    """
    factory = SCENARIOS[name]
    states = expected_states(factory)
    fsyncs = [c.index for c in count_calls(tmp_path / "count", factory, durable=True) if c.name == "fsync"]
    problems = []
    files = 0  # file (not folder) fsyncs checked
    for n in fsyncs:
        base = tmp_path / str(n)
        workload = prepare(base, factory)
        disk = Disk.scan(base, poison_dirs=False)
        store = FileSystemStore(base / "sessions", durable=True)
        step = workload.steps[0]
        step.think()
        with Faults(base, fail_at=n, errno=errno.EIO, sync=False) as faults:
            with contextlib.suppress(SeqthinkError):
                step.call(store)
            retry_from = faults.calls + 1
            step.call(store)
        failed = next(c for c in faults.trace if c.index == n)
        if not opening(faults.trace, failed).flags & os.O_DIRECTORY:
            problems += rewrite_problems(faults.trace, failed, retry_from)
            files += 1
        disk.replay(faults.trace)
        for index, (image, policy) in enumerate(disk.images().items()):
            materialize(image, base / "image" / str(index))
            seen = stored_on_disk(base / "image" / str(index) / "sessions", workload.session_ids)
            problems += [
                f"EIO at {failed}, second save returned, then power lost ({policy}): "
                f"{s} is {describe(f, states, s)}"
                for s, f in seen.items()
                if f != states[1][s]
            ][:1]
        shutil.rmtree(base)
    assert [] == problems
    assert files >= 2
