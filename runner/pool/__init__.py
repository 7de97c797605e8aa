"""The local pool: a resizable executor of pre-initialized worker processes ("sages").

Data flow (compare concurrent/futures/process.py):

|============================ master process ============================|==== sages ====|

 submit() -pickle-> ready sage with a free slot? -yes-> send_bytes -----> pipe 1 -> sage 1
    |                       | no                                                  (runs its
    |                       v                                                      tasks in
    |                pending deque -(manager: on reply/ready)-> send -> pipe n -> sage n order)
    v
 Future <-set_result- manager thread <- wait(pipes, sentinels, wake-up pipe, deadline) <-+
                           |                                                 replies ---+
                           +- reply:    the sage's oldest in-flight task is done
                           +- sentinel: the sage died; its oldest task fails (WorkerCrashed
                           |            or TaskTimeout); the others never started: resent
                           +- deadline: running task past task_timeout: kill sage + children
                           +- every rss_check_interval: RSS past max_worker_rss: recycle
                           +- reconcile: spawn/retire sages towards target_size, dispatch

Why it is built this way:
- One ordered pipe per sage, so the parent knows what each sage runs (pebble's idea). A
  sage reads task k+1 only after replying to task k, and the parent reads every reply
  left in a dead sage's pipe before judging: so only the oldest unanswered task can have
  started. It fails; the tasks queued behind it are resent, never run twice.
- submit() sends from the caller's thread: no thread hop on the hot path. Only the manager
  thread receives, and it completes futures and calls on_event outside the pool lock.
- A send never blocks for long: at most `inflight_per_worker` small messages wait in a
  pipe (they fit in the socket buffer) and a large one is only sent to an idle sage.

Modules: sagepool (SagePool, the API), core (bookkeeping and policies), types (its knobs,
counters and events), handle (one sage process seen from the parent), child (the sage's
loop and wire messages), errors (why a future failed), start (the fork server and what it
preloads), protocol (the contract every backend's pool keeps).
"""

from __future__ import annotations

from runner.pool.errors import (
    ArgumentsNotPicklable,
    InitializerError,
    PoolBroken,
    PoolError,
    RemoteTraceback,
    ResultNotPicklable,
    TaskTimeout,
    WorkerCrashed,
)
from runner.pool.protocol import WorkerPool
from runner.pool.sagepool import SagePool
from runner.pool.start import default_context, start_fork_server
from runner.pool.types import PoolEvent, PoolStats

__all__ = [
    "ArgumentsNotPicklable",
    "InitializerError",
    "PoolBroken",
    "PoolError",
    "PoolEvent",
    "PoolStats",
    "RemoteTraceback",
    "ResultNotPicklable",
    "SagePool",
    "TaskTimeout",
    "WorkerCrashed",
    "WorkerPool",
    "default_context",
    "start_fork_server",
]
