"""The API client: the one retry decision point, typed errors, paging, tokens, rate limiting.

Everything runs against an in-process fake transport (sign-in discovery, token endpoint and
scripted API answers) with a fake clock, so waits cost nothing and are asserted exactly.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _api_retry, _api_settings, _api_transport
from ansible_collections.mdeops.defender.plugins.module_utils._api import ApiClient, ApiSettings
from ansible_collections.mdeops.defender.plugins.module_utils._api_ratelimit import RateLimiter
from ansible_collections.mdeops.defender.plugins.module_utils._api_retry import parse_retry_after
from ansible_collections.mdeops.defender.plugins.module_utils._api_transport import HttpResponse, TransportError
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "s3cr3t-value-never-printed"
API = "https://api.example.test"
GRAPH = "https://graph.example.test"
LOGIN = "https://login.example.test"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _json(status: int, data, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json", **(headers or {})}, json.dumps(data).encode())


def api_error(status: int, code: str, message: str, headers: dict | None = None) -> HttpResponse:
    return _json(status, {"error": {"code": code, "message": message, "target": "corr-1"}}, headers)


class FakeTransport:
    """Sign-in (discovery + token) plus scripted API answers per path."""

    def __init__(self) -> None:
        self.script: dict[str, list] = {}
        self.calls: list[tuple[str, str, dict, bytes | None]] = []
        self.token_requests: list[dict] = []
        self.token_answer: Callable[[dict], HttpResponse] | None = None

    def add(self, path: str, *answers) -> None:
        self.script.setdefault(path, []).extend(answers)

    def api_calls(self) -> list[str]:
        return [urlsplit(c[1]).path for c in self.calls if not urlsplit(c[1]).path.startswith("/" + TENANT)]

    def __call__(self, method: str, url: str, headers: dict, body: bytes | None) -> HttpResponse:
        self.calls.append((method, url, dict(headers), body))
        parts = urlsplit(url)
        if parts.path == "/%s/v2.0/.well-known/openid-configuration" % TENANT:
            return _json(
                200,
                {
                    "issuer": "%s/%s/v2.0" % (LOGIN, TENANT),
                    "authorization_endpoint": "%s/%s/oauth2/v2.0/authorize" % (LOGIN, TENANT),
                    "token_endpoint": "%s/%s/oauth2/v2.0/token" % (LOGIN, TENANT),
                },
            )
        if parts.path == "/%s/oauth2/v2.0/token" % TENANT:
            form = {k: v[0] for k, v in parse_qs((body or b"").decode()).items()}
            self.token_requests.append(form)
            if self.token_answer is not None:
                return self.token_answer(form)
            return _json(
                200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "token-%d" % len(self.token_requests)}
            )
        queue = self.script.get(parts.path)
        if not queue:
            return api_error(404, "NotFound", "no script for %s" % parts.path)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(
    transport: FakeTransport, clock: FakeClock | None = None, logs: list | None = None, **settings
) -> ApiClient:
    clock = clock or FakeClock()
    opts = dict(
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret=SECRET,
        api_base_url=API,
        graph_base_url=GRAPH,
        authority_host=LOGIN,
        max_retries=3,
    )
    opts.update(settings)
    return ApiClient(
        ApiSettings(**opts),
        transport=transport,
        clock=clock.clock,
        sleep=clock.sleep,
        log=(logs.append if logs is not None else None),
    )


def get_machines(client: ApiClient):
    return client.request(
        "GET", "/api/machines", family="machines", permission="Machine.Read.All", what="listing machines"
    )


# --------------------------------------------------------------------------- retry decision
def test_429_then_success_honours_retry_after():
    t = FakeTransport()
    t.add(
        "/api/machines", api_error(429, "TooManyRequests", "slow down", {"retry-after": "7"}), _json(200, {"value": []})
    )
    clock, logs = FakeClock(), []
    client = make_client(t, clock, logs)
    assert get_machines(client) == {"value": []}
    assert clock.sleeps == [7.0]
    assert len(logs) == 1 and "429" in logs[0] and "Retry-After 7 s" in logs[0] and "retry 1/3" in logs[0]
    assert client.stats.retries == 1


def test_retry_after_is_clamped():
    t = FakeTransport()
    t.add("/api/machines", api_error(429, "TooManyRequests", "x", {"retry-after": "3600"}), _json(200, {"value": []}))
    clock, logs = FakeClock(), []
    get_machines(make_client(t, clock, logs))
    assert clock.sleeps == [_api_retry.MAX_RETRY_AFTER]
    assert "clamped to 60 s" in logs[0]
    t.add("/api/other", api_error(429, "TooManyRequests", "x", {"retry-after": "0"}), _json(200, {}))
    clock2 = FakeClock()
    make_client(t, clock2).request("GET", "/api/other", family="machines", permission="p", what="w")
    assert clock2.sleeps == [1.0]  # never a busy loop


def test_retry_after_http_date():
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=20)
    value = email.utils.format_datetime(when, usegmt=True)
    assert 18 <= parse_retry_after(value) <= 20
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("2.5") is None  # RFC 9110: whole seconds or a date
    assert parse_retry_after(" 7 ") == 7.0


def test_5xx_exhausted_is_api_error_after_bounded_attempts():
    t = FakeTransport()
    t.add("/api/machines", api_error(503, "ServiceUnavailable", "busy"))
    clock, logs = FakeClock(), []
    client = make_client(t, clock, logs)
    with pytest.raises(MdeError) as err:
        get_machines(client)
    assert err.value.reason == "api_error"
    assert err.value.extra["attempts"] == 4 and err.value.extra["http_status"] == 503
    assert "after 4 attempt(s)" in err.value.msg
    assert t.api_calls() == ["/api/machines"] * 4
    assert clock.sleeps == [1.0, 2.0, 4.0]  # exponential backoff
    assert len(logs) == 3 and all("503" in line for line in logs)


def test_429_exhausted_is_api_throttled_and_says_why():
    t = FakeTransport()
    t.add("/api/machines", api_error(429, "TooManyRequests", "quota exceeded", {"retry-after": "900"}))
    clock = FakeClock()
    with pytest.raises(MdeError) as err:
        get_machines(make_client(t, clock, max_retries=2))
    assert err.value.reason == "api_throttled"
    assert "100 calls per minute" in err.value.msg and "asked to wait 900 s" in err.value.msg
    assert clock.sleeps == [60.0, 60.0]


def test_connection_errors_then_success():
    t = FakeTransport()
    t.add(
        "/api/machines",
        TransportError("cannot reach api: refused"),
        TransportError("reset"),
        _json(200, {"value": [1]}),
    )
    clock, logs = FakeClock(), []
    assert get_machines(make_client(t, clock, logs)) == {"value": [1]}
    assert clock.sleeps == [1.0, 2.0]
    assert "refused" in logs[0]


def test_tls_verification_failure_is_not_retried():
    t = FakeTransport()
    t.add("/api/machines", TransportError("TLS certificate verification failed", retryable=False))
    with pytest.raises(MdeError) as err:
        get_machines(make_client(t))
    assert err.value.reason == "api_error" and "TLS" in err.value.msg
    assert t.api_calls() == ["/api/machines"]


def test_401_fails_at_once():
    t = FakeTransport()
    t.add("/api/machines", api_error(401, "Unauthorized", "Unauthorized"))
    clock = FakeClock()
    with pytest.raises(MdeError) as err:
        get_machines(make_client(t, clock))
    assert err.value.reason == "api_unauthorized"
    assert clock.sleeps == [] and t.api_calls() == ["/api/machines"]


def test_403_names_the_permission():
    t = FakeTransport()
    t.add("/api/machines", api_error(403, "Forbidden", "The application does not have the required permissions"))
    with pytest.raises(MdeError) as err:
        get_machines(make_client(t))
    assert err.value.reason == "api_forbidden"
    assert "Machine.Read.All" in err.value.msg and "WindowsDefenderATP" in err.value.msg
    assert err.value.extra["http_status"] == 403 and err.value.extra["error_code"] == "Forbidden"


def test_404_and_400():
    t = FakeTransport()
    t.add("/api/machines/x", api_error(404, "ResourceNotFound", "Machine x was not found"))
    client = make_client(t)
    with pytest.raises(MdeError) as err:
        client.request("GET", "/api/machines/x", family="machines", permission="p", what="get")
    assert err.value.reason == "api_not_found"
    assert (
        client.request("GET", "/api/machines/x", family="machines", permission="p", what="get", allow_404=True) is None
    )
    t.add("/api/advancedqueries/run", api_error(400, "BadRequest", "Syntax error"))
    with pytest.raises(MdeError) as err:
        client.request(
            "POST",
            "/api/advancedqueries/run",
            family="advancedqueries",
            permission="p",
            what="q",
            json_body={"Query": "x"},
        )
    assert err.value.reason == "api_error" and "Syntax error" in err.value.msg


# --------------------------------------------------------------------------- tokens
def test_token_is_reused_across_calls_and_resources_get_their_own():
    t = FakeTransport()
    t.add("/api/machines", _json(200, {"value": []}))
    t.add("/v1.0/security/runHuntingQuery", _json(200, {"schema": [], "results": []}))
    client = make_client(t)
    for _call in range(3):
        get_machines(client)
    client.request(
        "POST",
        "/v1.0/security/runHuntingQuery",
        family="graph_hunting",
        permission="ThreatHunting.Read.All",
        what="hunting",
        json_body={"Query": "x"},
    )
    client.request(
        "POST",
        "/v1.0/security/runHuntingQuery",
        family="graph_hunting",
        permission="ThreatHunting.Read.All",
        what="hunting",
        json_body={"Query": "x"},
    )
    scopes = [r["scope"] for r in t.token_requests]
    assert scopes == ["https://api.securitycenter.microsoft.com/.default", "https://graph.microsoft.com/.default"]
    assert client.stats.tokens == 2
    assert all(r["grant_type"] == "client_credentials" and r["client_secret"] == SECRET for r in t.token_requests)
    bearer = [c[2]["Authorization"] for c in t.calls if urlsplit(c[1]).path == "/api/machines"]
    assert bearer == ["Bearer token-1"] * 3


def test_sign_in_failure_is_api_unauthorized():
    t = FakeTransport()
    t.token_answer = lambda form: _json(
        401,
        {
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x",
            "error_codes": [7000215],
        },
    )
    with pytest.raises(MdeError) as err:
        get_machines(make_client(t))
    assert err.value.reason == "api_unauthorized"
    assert "invalid_client" in err.value.msg and "AADSTS7000215" in err.value.msg
    assert SECRET not in err.value.msg


def test_unknown_tenant_is_api_unauthorized():
    class NoTenant(FakeTransport):
        def __call__(self, method, url, headers, body):
            if "openid-configuration" in url:
                return _json(400, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})
            return super().__call__(method, url, headers, body)

    with pytest.raises(MdeError) as err:
        get_machines(make_client(NoTenant()))
    assert err.value.reason == "api_unauthorized" and TENANT in err.value.msg


def test_certificate_credential_signs_an_assertion(tmp_path):
    from tests.winsim.cloud.server import make_client_certificate

    path, _cert_pem, thumb = make_client_certificate(str(tmp_path), "mde-automation")
    pem = Path(path)
    key_pem = pem.read_text().split("-----BEGIN CERTIFICATE-----")[0]
    t = FakeTransport()
    t.add("/api/machines", _json(200, {"value": []}))
    client = make_client(t, client_secret=None, client_certificate_path=str(pem))
    get_machines(client)
    form = t.token_requests[0]
    assert "client_secret" not in form
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header = json.loads(base64.urlsafe_b64decode(form["client_assertion"].split(".")[0] + "=="))
    assert "x5t#S256" in header  # thumbprint computed from the certificate in the PEM
    # key only + SHA-1 thumbprint
    only_key = tmp_path / "key.pem"
    only_key.write_text(key_pem)
    t2 = FakeTransport()
    t2.add("/api/machines", _json(200, {"value": []}))
    get_machines(
        make_client(t2, client_secret=None, client_certificate_path=str(only_key), client_certificate_thumbprint=thumb)
    )
    header = json.loads(base64.urlsafe_b64decode(t2.token_requests[0]["client_assertion"].split(".")[0] + "=="))
    assert "x5t" in header
    with pytest.raises(MdeError) as err:
        get_machines(make_client(FakeTransport(), client_secret=None, client_certificate_path=str(only_key)))
    assert err.value.reason == "invalid_argument" and "thumbprint" in err.value.msg


# --------------------------------------------------------------------------- paging
def test_paging_follows_next_link():
    t = FakeTransport()
    client = make_client(t)

    pages = iter(
        [
            _json(200, {"value": [{"id": 1}, {"id": 2}], "@odata.nextLink": API + "/api/machines?$top=2&$skip=2"}),
            _json(200, {"value": [{"id": 3}, {"id": 4}], "@odata.nextLink": API + "/api/machines?$top=2&$skip=4"}),
            _json(200, {"value": [{"id": 5}]}),
        ]
    )
    t.script["/api/machines"] = [next(pages), next(pages), next(pages)]
    items = client.get_all(
        "/api/machines", family="machines", permission="Machine.Read.All", what="list", params={"$top": 2}
    )
    assert [i["id"] for i in items] == [1, 2, 3, 4, 5]
    urls = [c[1] for c in t.calls if "/api/machines" in c[1]]
    assert urls == [
        API + "/api/machines?$top=2",
        API + "/api/machines?$top=2&$skip=2",
        API + "/api/machines?$top=2&$skip=4",
    ]


def test_paging_refuses_a_next_link_to_another_host():
    t = FakeTransport()
    t.add("/api/machines", _json(200, {"value": [{"id": 1}], "@odata.nextLink": "https://evil.example/api/machines"}))
    with pytest.raises(MdeError) as err:
        make_client(t).get_all("/api/machines", family="machines", permission="p", what="list")
    assert "another host" in err.value.msg


def test_listing_404_can_mean_empty():
    t = FakeTransport()
    t.add("/api/machines", api_error(404, "NotFound", "no recent machines"))
    client = make_client(t)
    assert client.get_all("/api/machines", family="machines", permission="p", what="l", allow_404_empty=True) == []


def test_odata_quoting_and_urls():
    assert _api_transport.odata_quote("o'brien") == "'o''brien'"
    url = _api_transport.build_url(API, "/api/machines", {"$filter": "healthStatus ne 'Active'", "$top": 10000})
    assert url == API + "/api/machines?$filter=healthStatus%20ne%20'Active'&$top=10000"


# --------------------------------------------------------------------------- rate limiter
def test_rate_limiter_waits_instead_of_tripping_the_limit():
    clock = FakeClock()
    limiter = RateLimiter(clock.clock, clock.sleep)
    for _call in range(30):
        assert limiter.acquire("deviceavinfo") == 0
    waited = limiter.acquire("deviceavinfo")  # the 31st call within a minute
    assert waited == pytest.approx(60.0)
    # per hour: 1,000 calls
    clock2 = FakeClock()
    hourly = RateLimiter(clock2.clock, clock2.sleep)
    for _call in range(1000):
        hourly.acquire("deviceavinfo")
    start = clock2.now
    hourly.acquire("deviceavinfo")
    assert clock2.now - start >= 60  # had to wait for the hour window
    calls = hourly._calls["deviceavinfo"]
    assert sum(1 for x in calls if x > clock2.now - 3600) <= 1000
    assert sum(1 for x in calls if x > clock2.now - 60) <= 30


def test_client_respects_the_limit_over_many_pages():
    t = FakeTransport()
    pages = [
        _json(200, {"value": [{"id": i}], "@odata.nextLink": API + "/api/deviceavinfo?$skip=%d" % (i + 1)})
        for i in range(40)
    ] + [_json(200, {"value": []})]
    t.script["/api/deviceavinfo"] = pages
    clock = FakeClock()
    client = make_client(t, clock)
    client.get_all("/api/deviceavinfo", family="deviceavinfo", permission="Machine.Read.All", what="av")
    times = list(client.limiter._calls["deviceavinfo"])
    for i, when in enumerate(times):
        window = [x for x in times if when - 60 < x <= when]
        assert len(window) <= 30, i
    assert client.summary()["rate_limit_wait"] > 0


# --------------------------------------------------------------------------- settings
def test_clouds_and_overrides():
    gcc_high = ApiSettings(tenant_id="t", client_id="c", client_secret="s", cloud="usgov_gcc_high").endpoints
    assert gcc_high.authority_host == "https://login.microsoftonline.us"
    assert gcc_high.api_base_url == "https://api-gov.securitycenter.microsoft.us"
    assert gcc_high.graph_base_url == "https://graph.microsoft.us"
    dod = ApiSettings(tenant_id="t", client_id="c", client_secret="s", cloud="usgov_dod").endpoints
    assert dod.graph_scope == "https://dod-graph.microsoft.us/.default"
    gcc = ApiSettings(tenant_id="t", client_id="c", client_secret="s", cloud="usgov_gcc").endpoints
    assert gcc.api_base_url == "https://api-gcc.securitycenter.microsoft.us"
    geo = ApiSettings(
        tenant_id="t", client_id="c", client_secret="s", api_base_url="https://eu.api.security.microsoft.com/"
    ).endpoints
    assert geo.api_base_url == "https://eu.api.security.microsoft.com"
    assert geo.api_scope == "https://api.securitycenter.microsoft.com/.default"
    with pytest.raises(MdeError) as err:
        ApiSettings(tenant_id="t", client_id="c", api_base_url="http://plain.example").endpoints  # noqa: B018
    assert err.value.reason == "invalid_argument"


def test_argument_spec_marks_every_secret_no_log():
    spec = _api_settings.API_ARGUMENT_SPEC
    for name in ("client_secret", "client_certificate_key", "client_certificate_passphrase"):
        assert spec[name]["no_log"] is True
    fallbacks = _api_settings.with_env_fallbacks(spec)
    assert fallbacks["client_secret"]["fallback"][1] == ["MDE_CLIENT_SECRET"]
    assert "fallback" not in spec["client_secret"]


# --------------------------------------------------------------------------- urllib3's Retry under open_url
def test_the_retry_decision_is_urllib3_retry():
    from urllib3.util.retry import Retry

    policy = make_client(FakeTransport()).retry_policy()
    assert isinstance(policy.retry, Retry)
    assert policy.retry.total == 3 and set(policy.retry.status_forcelist) == {408, 429, 500, 502, 503, 504}


def _create(client: ApiClient):
    return client.request(
        "POST",
        "/beta/deviceManagement/configurationPolicies",
        family="graph_intune",
        permission="DeviceManagementConfiguration.ReadWrite.All",
        what="creating the policy",
        json_body={"name": "x"},
        expected=(201,),
        idempotent=False,
    )


def test_a_create_is_never_repeated_after_a_server_error():
    t = FakeTransport()
    t.add("/beta/deviceManagement/configurationPolicies", api_error(503, "ServiceUnavailable", "busy"))
    clock = FakeClock()
    with pytest.raises(MdeError) as err:
        _create(make_client(t, clock))
    assert err.value.reason == "api_error" and err.value.extra["http_status"] == 503
    assert t.api_calls() == ["/beta/deviceManagement/configurationPolicies"] and clock.sleeps == []


def test_a_create_is_repeated_after_429_and_when_the_connection_was_never_made():
    t = FakeTransport()
    t.add(
        "/beta/deviceManagement/configurationPolicies",
        api_error(429, "TooManyRequests", "slow down", {"retry-after": "2"}),
        TransportError("cannot reach graph: refused", sent=False),
        _json(201, {"id": "p1"}),
    )
    clock = FakeClock()
    assert _create(make_client(t, clock)) == {"id": "p1"}
    assert clock.sleeps == [2.0, 2.0]


def test_a_create_is_not_repeated_when_the_request_may_have_arrived():
    t = FakeTransport()
    t.add("/beta/deviceManagement/configurationPolicies", TransportError("connection reset by peer", sent=True))
    clock = FakeClock()
    with pytest.raises(MdeError) as err:
        _create(make_client(t, clock))
    assert err.value.reason == "api_error" and "not idempotent" in err.value.msg and "reset" in err.value.msg
    assert len(t.api_calls()) == 1 and clock.sleeps == []


def test_no_retries_when_max_retries_is_zero():
    t = FakeTransport()
    t.add("/api/machines", api_error(503, "ServiceUnavailable", "busy"))
    clock = FakeClock()
    with pytest.raises(MdeError) as err:
        get_machines(make_client(t, clock, max_retries=0))
    assert err.value.extra["attempts"] == 1 and clock.sleeps == [] and len(t.api_calls()) == 1


def test_an_invalid_retry_after_falls_back_to_backoff():
    t = FakeTransport()
    t.add("/api/machines", api_error(503, "ServiceUnavailable", "busy", {"retry-after": "soon"}), _json(200, {}))
    clock, logs = FakeClock(), []
    get_machines(make_client(t, clock, logs))
    assert clock.sleeps == [1.0] and "backoff" in logs[0]


def test_a_connection_refused_is_not_sent_a_reset_may_have_been():
    import socket

    assert _api_transport._maybe_sent(ConnectionRefusedError()) is False
    assert _api_transport._maybe_sent(socket.gaierror()) is False
    assert _api_transport._maybe_sent(ConnectionResetError()) is True
    assert _api_transport._maybe_sent(TimeoutError()) is True


# --------------------------------------------------------------------------- nextLink safety
def _paged(t: FakeTransport, *pages: dict) -> None:
    t.script["/api/machines"] = [_json(200, p) for p in pages]


def _list(client: ApiClient) -> list:
    return client.get_all("/api/machines", family="machines", permission="p", what="listing machines")


@pytest.mark.parametrize(
    "link",
    [
        "http://api.example.test/api/machines?$skip=1",  # plain HTTP: the token would travel in clear
        "https://api.example.test.evil.example/api/machines?$skip=1",  # another host
        "https://evil.example/api/machines",
        "//api.example.test/api/machines",  # no scheme
        "ftp://api.example.test/api/machines",
    ],
)
def test_next_link_only_https_on_the_api_host(link):
    t = FakeTransport()
    _paged(t, {"value": [{"id": 1}], "@odata.nextLink": link})
    with pytest.raises(MdeError) as err:
        _list(make_client(t))
    assert err.value.reason == "api_error" and "not following it with the access token" in err.value.msg
    assert len(t.api_calls()) == 1  # the link was never requested


def test_next_link_to_itself_is_a_loop():
    t = FakeTransport()
    first = API + "/api/machines?$top=1"
    _paged(t, {"value": [{"id": 1}], "@odata.nextLink": first})
    with pytest.raises(MdeError) as err:
        make_client(t).get_all("/api/machines", family="machines", permission="p", what="l", params={"$top": 1})
    assert "repeats a page already read" in err.value.msg and len(t.api_calls()) == 1


def test_next_links_that_cycle_are_a_loop():
    t = FakeTransport()
    a, b = API + "/api/machines?$skip=1", API + "/api/machines?$skip=2"
    _paged(
        t,
        {"value": [{"id": 0}], "@odata.nextLink": a},
        {"value": [{"id": 1}], "@odata.nextLink": b},
        {"value": [{"id": 2}], "@odata.nextLink": a},
    )
    with pytest.raises(MdeError) as err:
        _list(make_client(t))
    assert "repeats a page already read" in err.value.msg and len(t.api_calls()) == 3


def test_pages_are_bounded():
    t = FakeTransport()
    _paged(t, *({"value": [], "@odata.nextLink": API + "/api/machines?$skip=%d" % i} for i in range(1, 50)))
    client = make_client(t)
    client.max_pages = 5
    with pytest.raises(MdeError) as err:
        _list(client)
    assert "more than 5 pages" in err.value.msg and len(t.api_calls()) == 5


@pytest.mark.parametrize("link", [42, ["https://api.example.test/x"], {"href": "x"}, True])
def test_a_next_link_that_is_not_a_string_fails_clearly(link):
    t = FakeTransport()
    _paged(t, {"value": [{"id": 1}], "@odata.nextLink": link})
    with pytest.raises(MdeError) as err:
        _list(make_client(t))
    assert err.value.reason == "api_error" and "@odata.nextLink" in err.value.msg and "not a URL" in err.value.msg


# --------------------------------------------------------------------------- answers of the wrong shape
def test_a_list_where_an_object_is_expected_is_an_api_error_quoting_it():
    t = FakeTransport()
    t.add("/api/machines/ws01", _json(200, [{"id": "ws01"}]))
    with pytest.raises(MdeError) as err:
        make_client(t).request("GET", "/api/machines/ws01", family="machines", permission="p", what="get ws01")
    assert err.value.reason == "api_error"
    assert "a list where a JSON object was expected" in err.value.msg and '"id": "ws01"' in err.value.msg


@pytest.mark.parametrize("value", [{"id": 1}, "machines", [1, 2]])
def test_a_collection_whose_value_is_not_a_list_of_objects_is_an_api_error(value):
    t = FakeTransport()
    _paged(t, {"value": value})
    with pytest.raises(MdeError) as err:
        _list(make_client(t))
    assert err.value.reason == "api_error" and "not a list of objects" in err.value.msg


def test_a_body_that_is_not_json_is_quoted():
    t = FakeTransport()
    t.add("/api/machines", HttpResponse(200, {"content-type": "text/html"}, b"<html>proxy login</html>"))
    with pytest.raises(MdeError) as err:
        get_machines(make_client(t))
    assert err.value.reason == "api_error" and "proxy login" in err.value.msg
