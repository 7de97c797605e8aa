from __future__ import annotations

import errno
import random
import socket

import pytest
import requests
from github import BadCredentialsException, GithubException, RateLimitExceededException, UnknownObjectException

from runner.core.retry import Deferral, RetryPolicy, classify, is_rate_limited, retry_after_s


class WorkerCrashed(Exception):
    transient = True


class NotTransientAfterAll(ConnectionError):
    transient = False


def http_error(status: int, headers: dict[str, str] | None = None) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return requests.HTTPError(f"HTTP {status}", response=response)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(),
        ConnectionRefusedError(),
        BrokenPipeError(),
        TimeoutError(),
        TimeoutError(),
        socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution"),
        OSError(errno.ECONNRESET, "reset"),
        OSError(errno.ETIMEDOUT, "timed out"),
        OSError(errno.ENETUNREACH, "unreachable"),
        WorkerCrashed("worker 123 died"),
        GithubException(502, {"message": "Bad Gateway"}),
        GithubException(500, None),
        GithubException(429, {"message": "slow down"}),
        GithubException(403, {"message": "x"}, headers={"Retry-After": "30"}),
        GithubException(403, {"message": "x"}, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"}),
        RateLimitExceededException(403, {"message": "API rate limit exceeded"}, headers={}),
        requests.ConnectionError("refused"),
        requests.ReadTimeout("slow"),
        requests.ConnectTimeout("slow"),
        http_error(503),
        Deferral("breaker open"),
    ],
    ids=repr,
)
def test_transient(exc: BaseException):
    assert classify(exc) == "transient"


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        KeyError("x"),
        RuntimeError("boom"),
        PermissionError(errno.EACCES, "denied"),
        FileNotFoundError(errno.ENOENT, "missing"),
        OSError(errno.ENOSPC, "disk full"),
        OSError("no errno"),
        NotTransientAfterAll("explicitly permanent"),
        BadCredentialsException(401, {"message": "Bad credentials"}),
        GithubException(403, {"message": "Resource not accessible by integration"}),
        UnknownObjectException(404, {"message": "Not Found"}),
        GithubException(422, {"message": "Validation Failed"}),
        http_error(404),
        http_error(401),
    ],
    ids=repr,
)
def test_permanent(exc: BaseException):
    assert classify(exc) == "permanent"


def test_classification_ignores_message_text():
    assert classify(ValueError("connection reset by peer; timeout; rate limit")) == "permanent"
    assert classify(GithubException(403, {"message": "API rate limit exceeded"})) == "permanent"


def test_rate_limit_detection_uses_type_and_headers():
    assert is_rate_limited(RateLimitExceededException(403, None, headers={}))
    assert is_rate_limited(GithubException(429, None))
    assert is_rate_limited(http_error(429))
    assert is_rate_limited(GithubException(403, None, headers={"X-RateLimit-Remaining": "0"}))
    assert not is_rate_limited(GithubException(403, None, headers={"X-RateLimit-Remaining": "12"}))
    assert not is_rate_limited(GithubException(502, None))


def test_retry_after_reads_retry_after_then_reset_header():
    assert retry_after_s(GithubException(403, None, headers={"Retry-After": "42"})) == 42.0
    reset = GithubException(403, None, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"})
    assert retry_after_s(reset, now=940.0) == 60.0
    assert retry_after_s(reset, now=2000.0) == 0.0
    assert retry_after_s(http_error(503, {"Retry-After": "5"})) == 5.0
    assert retry_after_s(Deferral("breaker open", retry_after_s=12.5)) == 12.5
    assert retry_after_s(GithubException(502, None)) is None
    assert retry_after_s(ValueError()) is None


def test_next_delay_is_exponential_capped_and_jittered_down_only():
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, jitter=0.5, rng=random.Random(7))
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (50, 4.0), (5000, 4.0)]:
        for _ in range(50):
            delay = policy.next_delay(attempt)
            assert ceiling * 0.5 <= delay <= ceiling


def test_next_delay_is_reproducible_with_a_seeded_rng():
    first = RetryPolicy(rng=random.Random(42))
    second = RetryPolicy(rng=random.Random(42))
    assert [first.next_delay(n) for n in range(1, 6)] == [second.next_delay(n) for n in range(1, 6)]


def test_no_jitter_gives_exact_delays():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=30.0, jitter=0.0)
    assert [policy.next_delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


def test_should_retry_transient_until_attempts_run_out():
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(ConnectionResetError(), 1)
    assert policy.should_retry(ConnectionResetError(), 2)
    assert not policy.should_retry(ConnectionResetError(), 3)
    assert not policy.should_retry(ValueError(), 1)
    assert not policy.should_retry(Deferral("breaker open"), 1)


def test_plan_retries_with_backoff_and_honours_retry_after():
    policy = RetryPolicy(max_attempts=3, jitter=0.0, base_delay_s=0.5, max_wait_s=60)
    assert policy.plan(ConnectionResetError(), 1).action == "retry"
    assert policy.plan(ConnectionResetError(), 1).delay_s == 0.5
    plan = policy.plan(GithubException(403, None, headers={"Retry-After": "20"}), 1)
    assert (plan.action, plan.delay_s) == ("retry", 20.0)


def test_plan_defers_long_waits_rate_limits_out_of_attempts_and_deferrals():
    policy = RetryPolicy(max_attempts=3, max_wait_s=60)
    far_reset = GithubException(403, None, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5000"})
    assert policy.plan(far_reset, 1, now=1000.0).action == "defer"
    assert policy.plan(GithubException(429, None), 3).action == "defer"
    assert policy.plan(Deferral("breaker open"), 1).action == "defer"


def test_plan_fails_permanent_errors_and_exhausted_transient_ones():
    policy = RetryPolicy(max_attempts=2)
    assert policy.plan(ValueError("bad input"), 1).action == "fail"
    assert policy.plan(GithubException(422, None), 1).action == "fail"
    assert policy.plan(ConnectionResetError(), 2).action == "fail"


@pytest.mark.parametrize("kwargs", [dict(max_attempts=0), dict(jitter=1.5), dict(base_delay_s=5, max_delay_s=1)])
def test_invalid_policy_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
