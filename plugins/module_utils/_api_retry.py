# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""THE retry decision of the API client, on urllib3's ``Retry``. PRIVATE to this collection.

The client sends through Ansible's ``open_url``; what to do after each failed attempt is decided
by one :class:`RetryPolicy` per request, which keeps urllib3's ``Retry`` object (the policy
requests and urllib3 use themselves) and asks it:

* which answers deserve another attempt: connection errors, 408, 429, 500, 502, 503, 504
  (docs/sources.md §7.7: 429 = throttled, 500 = try again); for a request that is not
  idempotent (creating an Intune policy) only 429 and connection errors where the request
  never left the controller, so nothing is ever created twice;
* how long to wait: ``Retry-After`` (seconds or HTTP date) when the server sends it,
  otherwise urllib3's exponential backoff; this module clamps the wait to
  1..``MAX_RETRY_AFTER`` s (Retry-After) or 1..``BACKOFF_CAP`` s (backoff), never 0 (no busy loop);
* when to stop: after ``max_retries`` retries (urllib3's ``total``).

Sleeping is left to the caller (the client's injectable ``sleep``), so unit tests run on a fake
clock; the caller logs one line per retry and raises :func:`exhausted_error` at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._api_ratelimit import Family
from ._api_transport import HttpResponse, TransportError, error_details, path_of, redact_url
from ._errors import MdeError

try:
    from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, ProtocolError
    from urllib3.response import HTTPResponse as _Urllib3Response
    from urllib3.util.retry import Retry

    HAS_URLLIB3 = True
    URLLIB3_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - urllib3 comes with requests, which msal needs
    HAS_URLLIB3 = False
    URLLIB3_IMPORT_ERROR = _exc

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "HAS_URLLIB3",
    "MAX_RETRY_AFTER",
    "RETRY_STATUSES",
    "Decision",
    "RetryPolicy",
    "exhausted_error",
    "parse_retry_after",
]

#: Longest wait the client accepts from a ``Retry-After`` header (seconds).
MAX_RETRY_AFTER = 60.0
#: Backoff without ``Retry-After``: urllib3's backoff_factor * 2**(retry - 1), at least 1 s, capped.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
#: Shortest wait between two attempts (seconds).
MIN_WAIT = 1.0
#: HTTP statuses worth another attempt (idempotent requests).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: ... and for requests that are not idempotent: the server refused to process them.
UNSAFE_RETRY_STATUSES = frozenset({429})


@dataclass(frozen=True)
class Decision:
    """What to do after an attempt: ``retry`` after ``wait`` seconds (``why`` for the log), or stop.

    ``exhausted``: the answer deserved another attempt but none is left (or the request may have
    reached the server and is not idempotent): the caller raises :func:`exhausted_error`.
    """

    retry: bool
    wait: float = 0.0
    why: str = ""
    exhausted: bool = False


def _fmt(seconds: float) -> str:
    return ("%d" % seconds) if float(seconds).is_integer() else ("%.1f" % seconds)


def _urllib3_response(resp: HttpResponse) -> Any:
    return _Urllib3Response(body=b"", headers=resp.headers, status=resp.status, preload_content=False)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (urllib3's parser: delta-seconds or HTTP date).

    None when absent or not valid (RFC 9110 allows whole seconds or a date only).
    """
    if value is None or not str(value).strip():
        return None
    try:
        return float(Retry(total=0).parse_retry_after(str(value)))
    except InvalidHeader:
        return None


class RetryPolicy:
    """The retry decision for ONE request (all its attempts), backed by urllib3's ``Retry``."""

    def __init__(self, max_retries: int, *, idempotent: bool = True, max_retry_after: float = MAX_RETRY_AFTER) -> None:
        self.max_retries = max(0, int(max_retries))
        self.idempotent = idempotent
        self.max_retry_after = max_retry_after
        # allowed_methods=None: any verb; whether a verb may be repeated is decided by `idempotent`
        # (POST is how the APIs run a read-only hunting query).
        self.retry = Retry(
            total=self.max_retries,
            read=None if idempotent else 0,
            allowed_methods=None,
            status_forcelist=RETRY_STATUSES if idempotent else UNSAFE_RETRY_STATUSES,
            backoff_factor=BACKOFF_BASE,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )

    @property
    def attempts(self) -> int:
        """Attempts made so far (1 + the retries granted)."""
        return len(self.retry.history) + 1

    def after_error(self, method: str, url: str, error: TransportError) -> Decision:
        """The decision after a request that got no HTTP answer."""
        if not error.retryable:
            return Decision(False)
        # urllib3's own classes tell its Retry whether the request may have reached the server.
        as_urllib3 = ProtocolError(str(error)) if error.sent else ConnectTimeoutError(str(error))
        try:
            self.retry = self.retry.increment(method, url, error=as_urllib3)
        except (MaxRetryError, ProtocolError, ConnectTimeoutError):
            return Decision(False, exhausted=True)
        wait = min(max(self.retry.get_backoff_time(), MIN_WAIT), BACKOFF_CAP)
        return Decision(True, wait, "backoff %s s" % _fmt(wait))

    def after_response(self, method: str, url: str, resp: HttpResponse) -> Decision:
        """The decision after an HTTP answer (a success is never retried)."""
        if resp.status < 400 or not self.retry.is_retry(method, resp.status, "retry-after" in resp.headers):
            return Decision(False)
        answer = _urllib3_response(resp)
        try:
            self.retry = self.retry.increment(method, url, response=answer)
        except MaxRetryError:
            return Decision(False, exhausted=True)
        try:
            asked = self.retry.get_retry_after(answer)
        except InvalidHeader:
            asked = None
        if asked is not None:
            wait = min(max(asked, MIN_WAIT), self.max_retry_after)
            why = "Retry-After %s s" % _fmt(asked) + (" (clamped to %s s)" % _fmt(wait) if wait != asked else "")
            return Decision(True, wait, why)
        wait = min(max(self.retry.get_backoff_time(), MIN_WAIT), BACKOFF_CAP)
        return Decision(True, wait, "backoff %s s" % _fmt(wait))


def exhausted_error(
    method: str,
    url: str,
    family: Family | None,
    policy: RetryPolicy,
    resp: HttpResponse | None,
    problem: str | None,
) -> MdeError:
    """The typed error after the last attempt: ``api_throttled`` after 429s, ``api_error`` otherwise."""
    tries = policy.attempts
    where = "%s %s" % (method, path_of(url))
    if resp is None:
        unsafe = ""
        if not policy.idempotent and tries <= policy.max_retries:
            unsafe = (
                "; the request may have reached the server and is not repeated automatically because it is not "
                "idempotent: rerun, the module reads the current state first"
            )
        return MdeError(
            "api_error",
            "%s failed after %d attempt(s): %s%s" % (where, tries, problem, unsafe),
            http_status=-1,
            attempts=tries,
            url=redact_url(url),
        )
    code, message = error_details(resp)
    if resp.status == 429:
        limits = ""
        if family and family.per_minute:
            limits = " (documented limit: %d calls per minute%s)" % (
                family.per_minute,
                ", %d per hour" % family.per_hour if family.per_hour else "",
            )
        asked = parse_retry_after(resp.headers.get("retry-after"))
        longer = ""
        if asked is not None and asked > policy.max_retry_after:
            longer = "; the server asked to wait %s s, longer than the %s s this client waits" % (
                _fmt(asked),
                _fmt(policy.max_retry_after),
            )
        return MdeError(
            "api_throttled",
            "%s was throttled (429 Too Many Requests) %d time(s)%s%s. %s" % (where, tries, limits, longer, message),
            http_status=429,
            error_code=code,
            attempts=tries,
            url=redact_url(url),
        )
    return MdeError(
        "api_error",
        "%s answered %d %s after %d attempt(s)%s"
        % (where, resp.status, code or "", tries, ": " + message if message else ""),
        http_status=resp.status,
        error_code=code,
        attempts=tries,
        url=redact_url(url),
    )
