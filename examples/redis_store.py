"""Two tool-server replicas sharing sessions through Redis.

Each replica has its own RedisStore, as two processes on two hosts would.
They append to one session in turn, one of them restores it, and then the
session is listed, aged out and deleted. Everything goes under a key prefix
of its own, removed at the end.

    pip install 'seqthink[redis]'
    SEQTHINK_REDIS_URL=redis://localhost:6379/0 python examples/redis_store.py
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

from seqthink import RedisStore, Thought
from seqthink.errors import StoreConnectionError

URL = os.environ.get("SEQTHINK_REDIS_URL", "redis://localhost:6379/0")
PREFIX = f"seqthink-example:{uuid.uuid4().hex[:8]}:"


def main() -> None:
    first = RedisStore(URL, prefix=PREFIX)
    second = RedisStore(URL, prefix=PREFIX)  # another replica, another connection
    try:
        first.append("plan", Thought("List what the migration must copy.", 1, 3, next_thought_needed=True))
        second.append(
            "plan", Thought("Copy sessions one by one, checking each.", 2, 3, next_thought_needed=True)
        )
        result = first.append(
            "plan",
            Thought(
                "Or copy in bulk, then check.",
                3,
                3,
                next_thought_needed=True,
                branch_from_thought=1,
                branch_id="bulk",
            ),
        )
    except StoreConnectionError as exc:
        raise SystemExit(f"cannot reach Redis at {URL}: {exc.__cause__}") from None
    print(f"history length {result.thought_history_length}, branches {list(result.branches)}")

    session = second.restore("plan")
    for thought in session.thought_history:
        print(f"  {thought.thought_number}. {thought.thought}")

    async def finish() -> None:  # the async twins run on redis.asyncio, no threads
        await second.aappend("plan", Thought("Checked: one by one it is.", 4, 4, next_thought_needed=False))
        print("thoughts after the async append:", len(await second.arestore("plan")))
        await second.aclose()

    asyncio.run(finish())

    listed = first.list_sessions()
    print("listed:", [(m.session_id, m.total_thoughts, m.branch_ids) for m in listed])
    print("cleanup of sessions idle for a day:", first.cleanup(timedelta(days=1)))
    print("cleanup of sessions idle for any time:", first.cleanup(timedelta(0)))
    print("still there:", first.exists("plan"))
    first.close()
    second.close()


if __name__ == "__main__":
    main()
