"""The typed async Bird client: the only place in senderctl that speaks HTTP to Bird.

One ``BirdClient`` holds one connection pool and the rate limits for all its calls: per workspace and
per method, as Bird documents them (see ``ratelimit``). Every call goes through ``_call``: rate limit,
send, classify the outcome, retry when that is safe.

When is a retry safe?
- 429 means "not applied": every method is retried, POST included, after ``Retry-After``; the
  workspace's bucket pauses meanwhile. A 429 is always waited out: it does not use up ``max_attempts``
  (only ``max_rate_limited`` answers in a row, far more than Bird ever sends, end the call).
- A connection that could not be opened means the request never left: every method is retried.
- A timeout after sending, a dropped connection or a 5xx leaves the outcome unknown. Reads and
  idempotent writes (PUT, DELETE, and PATCHes that only set values) are retried; a POST is not, and
  ``BirdAmbiguousWriteError`` tells the caller to re-read Bird before deciding (a second POST could buy
  a second number or pay a second registration fee).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import logging
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any, NotRequired, TypeVar
from urllib.parse import quote

import httpx
import phonenumbers
import pydantic_core
from pydantic import BaseModel, TypeAdapter, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.wait import wait_random_exponential
from typing_extensions import TypedDict  # pydantic needs this TypedDict before Python 3.12

from controller.bird import routes
from controller.bird.concurrency import Gate, GradientLimit
from controller.bird.errors import (
    BirdAmbiguousWriteError,
    BirdConfigurationError,
    BirdError,
    BirdHTTPError,
    BirdResponseError,
    BirdTransportError,
    error_class_for_status,
)
from controller.bird.models import (
    Brand,
    BrandCreate,
    BrandUpdate,
    BuyStockItemsRequest,
    Campaign,
    CampaignCreate,
    CampaignUpdate,
    Channel,
    ComplianceRequirement,
    Connector,
    ConnectorCreate,
    Number,
    Reseller,
    StockItem,
    Vertical,
    Vetting,
    VettingCreate,
    WebhookLog,
    WebhookSubscription,
    WebhookSubscriptionCreate,
    WebhookSubscriptionUpdate,
    Workspace,
)
from controller.bird.ratelimit import DEFAULT_GET_RATE, DEFAULT_POST_RATE, Departure, RateLimits

log = logging.getLogger("senderctl.bird")

M = TypeVar("M", bound=BaseModel)

# Bird's maximum page size; we always ask for it, so listing N objects costs ceil(N / 99) requests.
PAGE_SIZE = 99
# Lists Bird pages larger: "Get workspace channels" (limit max 1000), "List webhook subscriptions" (max 100).
PAGE_SIZES = {routes.CHANNELS_LIST: 1000, routes.WEBHOOK_SUBSCRIPTIONS_LIST: 100,
              routes.WEBHOOK_SUBSCRIPTION_LOGS: 100}  # "Webhook subscription logs": at most 100
# Bird "Buy a Number": "You can buy up to 25 numbers at a time".
MAX_NUMBERS_PER_PURCHASE = 25
# Requests one client has on the wire at once: by default a limit that follows Bird's round-trip time
# (controller.bird.concurrency), from 16 (the loopback's need) up to 512; ``max_in_flight`` fixes it.
DEFAULT_MAX_IN_FLIGHT = 16
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-bird-request-id", "messagebird-request-id")

# on_response(method, route_template, status, request_id); status is None when no answer came back.
ResponseHook = Callable[[str, str, int | None, str | None], None]
# Called right before every attempt of a write (any method but GET): the extra headers it returns are
# sent with it, and whatever it raises stops the write unsent (a daemon whose lease has lapsed).
WriteGate = Callable[[], Mapping[str, str]]


JSON_LISTS: dict[str, tuple[type[BaseModel], str]] = {
    "numbers": (Number, routes.NUMBERS_LIST),
    "brands": (Brand, routes.BRANDS_LIST),
    "connectors": (Connector, routes.CONNECTORS_LIST),
    "channels": (Channel, routes.CHANNELS_LIST),
    "campaigns": (Campaign, routes.CAMPAIGNS_LIST),
    "vettings": (Vetting, routes.VETTINGS_LIST),
    "resellers": (Reseller, routes.RESELLERS_LIST),
    "webhook-subscriptions": (WebhookSubscription, routes.WEBHOOK_SUBSCRIPTIONS_LIST),
}


@functools.cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


@functools.cache
def _page_adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    """A whole list page ``{results: [model...], nextPageToken?}``, validated straight from its JSON bytes."""
    page = TypedDict(f"{model.__name__}Page", {"results": list[model],  # type: ignore[misc, valid-type]  # noqa: UP013
                                                "nextPageToken": NotRequired[str | None]})
    return TypeAdapter(page)


def _content(response: httpx.Response) -> bytes:
    return response.content


class _AccessKeyAuth(httpx.Auth):
    """Adds ``Authorization: AccessKey <key>`` to each request; keeps the key out of every repr."""

    def __init__(self, access_key: str) -> None:
        self.__key = access_key

    def auth_flow(self, request: httpx.Request):  # type: ignore[override]
        request.headers["Authorization"] = f"AccessKey {self.__key}"
        yield request

    def __repr__(self) -> str:
        return "AccessKeyAuth(***)"


class _Retry(Exception):
    """Internal: an attempt failed in a way that may be retried. ``final`` is raised if none is left."""

    def __init__(self, final: BirdError, retry_after: float | None = None, *, rate_limited: bool = False) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after
        self.rate_limited = rate_limited


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _request_id(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if name in response.headers:
            return response.headers[name]
    return None


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        # pydantic-core's parser: the same values as json.loads, in about 2/3 of the time (a plan decodes
        # every page of every collection).
        return pydantic_core.from_json(response.content)
    except ValueError:
        return response.text


def _validation_summary(error: ValidationError) -> str:
    # Never pydantic's own str(): it quotes the input values, which may hold a signing key.
    problems = [f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors()[:5]]
    return "; ".join(problems)


def stock_query(country: str | None, number_type: str | None, prefix: str | None) -> dict[str, Any]:
    """Bird's stock search parameters: ``countryCodes`` and ``types`` are lists, ``prefix`` needs a country."""
    return {"countryCodes": [country] if country else None, "types": [number_type] if number_type else None,
            "prefix": prefix}


def check_e164(number: str) -> str:
    """``number`` if it is a valid E.164 phone number, else ValueError saying why."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{number!r} is not an E.164 phone number: {exc}") from None
    if not number.startswith("+") or not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{number!r} is not a valid E.164 phone number (expected e.g. +14155550100)")
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if formatted != number:
        raise ValueError(f"{number!r} is not in E.164 form; did you mean {formatted}?")
    return number


class BirdClient:
    """Async client for Bird's numbers, 10DLC, channels and webhook-subscription APIs.

    Use as ``async with BirdClient(url, key) as bird: ...`` (or call ``aclose()``). ``request_count``
    counts requests actually sent, retries included; ``on_response`` is called after every attempt.
    """

    def __init__(
        self,
        base_url: str,
        access_key: str,
        *,
        get_rate: float = DEFAULT_GET_RATE,
        post_rate: float = DEFAULT_POST_RATE,
        requests_per_second: float | None = None,
        timeout: float = 10.0,
        max_attempts: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
        burst: float | None = None,
        backoff_initial: float = 0.25,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
        max_rate_limited: int = 100,
        on_response: ResponseHook | None = None,
        before_write: WriteGate | None = None,
        user_agent: str = "senderctl",
        max_in_flight: int | None = None,
    ) -> None:
        if not access_key:
            raise BirdConfigurationError(
                "No Bird access key: set BIRD_ACCESS_KEY to an access key of your Bird organization."
            )
        if not base_url.startswith(("http://", "https://")):
            raise BirdConfigurationError(f"Bird URL must start with http:// or https://, got {base_url!r}")
        if max_attempts < 1:
            raise BirdConfigurationError(f"max_attempts must be at least 1, got {max_attempts}")
        if max_in_flight is not None and max_in_flight < 1:
            raise BirdConfigurationError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_rate_limited = max_rate_limited
        self.on_response = on_response
        self.before_write = before_write
        self.request_count = 0
        self.rate_limited_count = 0  # 429 answers received (each one waited out and retried)
        self.bird_now: float | None = None  # Bird's clock: the newest Date header it answered with
        if requests_per_second is not None:  # one figure for both methods (tests, benchmarks)
            get_rate = post_rate = requests_per_second
        self.limits = RateLimits(get_rate, post_rate, burst=burst)
        self._jitter = wait_random_exponential(multiplier=backoff_initial, max=backoff_max)
        self.concurrency = (GradientLimit() if max_in_flight is None
                            else GradientLimit(minimum=max_in_flight, maximum=max_in_flight))
        self._in_flight = Gate(lambda: self.concurrency.current)
        self._workspace_gates: dict[tuple[str, str], Gate] = {}
        self._access_key_auth = _AccessKeyAuth(access_key)
        self._user_agent = user_agent
        self._transport = transport
        self._tls: Any = None
        # httpx reads the proxy variables of the environment for every client it makes (0.17 ms each, and
        # 150 ms from Bird a plan makes hundreds): read once here; without any, each client skips the read.
        self._trust_env = bool(urllib.request.getproxies())
        self._opened: list[httpx.AsyncClient] = []
        self._connections: list[httpx.AsyncClient] = [self._connection()]  # idle, the warmest last

    def _connection(self) -> httpx.AsyncClient:
        """One HTTP client per request in flight, each keeping its one connection alive; made when the
        limit first needs it.

        Not one client with a pool of connections: httpcore's pool re-examines every connection (and
        counts its idle ones once per idle connection) each time a request comes or goes, which cost more
        CPU than decoding the pages of a no-op plan. A given transport (in-process ASGI) is shared."""
        if self._transport is not None and self._opened:
            return self._opened[0]
        kw: dict[str, Any] = {"transport": self._transport} if self._transport is not None else {}
        if self._transport is None:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()  # loaded once, not once per connection
            kw.update(verify=self._tls, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
        if self._transport is None and not self._trust_env:
            kw["trust_env"] = False  # no proxy to find; the TLS context above was made with the environment's
        http = httpx.AsyncClient(
            base_url=self.base_url, auth=self._access_key_auth, timeout=self.timeout,
            headers={"Accept": "application/json", "User-Agent": self._user_agent}, follow_redirects=False, **kw)
        self._opened.append(http)
        return http

    def _workspace_gate(self, scope: str, method: str) -> Gate:
        """The slots one workspace's reads (or writes) may hold: what its rate can use at the measured round
        trip, so its requests waiting for rate tokens leave the other slots to other workspaces."""
        key = (scope, self.limits.method_class(method))
        gate = self._workspace_gates.get(key)
        if gate is None:
            rate = self.limits.rates[key[1]]
            gate = self._workspace_gates[key] = Gate(lambda: min(self.concurrency.current,
                                                                 self.concurrency.workspace_cap(rate)))
        return gate

    def __repr__(self) -> str:
        return f"BirdClient(base_url={self.base_url!r}, limits={self.limits!r})"

    __str__ = __repr__

    async def __aenter__(self) -> BirdClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for connection in self._opened:
            await connection.aclose()

    # ------------------------------------------------------------------------------------ the engine

    async def _call(
        self,
        method: str,
        route: str,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        decode: Callable[[httpx.Response], Any] | None = None,
    ) -> Any:
        """Send one logical request (with the retries it qualifies for); the decoded JSON answer (or what
        ``decode`` makes of a successful answer)."""
        path = route.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        scope = (path_params or {}).get("workspaceId") or (path_params or {}).get("organizationId") or ""
        retrying = AsyncRetrying(
            stop=self._stopper(),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            reraise=True,
            sleep=asyncio.sleep,
            before_sleep=self._log_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(
                        method, route, path, params, body, idempotent, attempt.retry_state.attempt_number, scope,
                        decode or _decode,
                    )
        except _Retry as exhausted:
            raise exhausted.final from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _stopper(self) -> Callable[[RetryCallState], bool]:
        """Stop after ``max_attempts`` failures that were not 429s, or ``max_rate_limited`` 429s."""
        limited = 0

        def stop(state: RetryCallState) -> bool:
            nonlocal limited
            outcome = state.outcome
            exc = outcome.exception() if outcome is not None else None
            if isinstance(exc, _Retry) and exc.rate_limited:
                limited += 1
                return limited >= self.max_rate_limited
            return state.attempt_number - limited >= self.max_attempts

        return stop

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        backoff = self._jitter(state)
        if isinstance(exc, _Retry) and exc.rate_limited:
            # The bucket is paused for the Retry-After already; the jitter spreads the retries out.
            return backoff / 4
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            # Honour Retry-After (capped), plus a little jitter so parallel callers do not return together.
            return min(exc.retry_after, self.max_retry_after) + backoff / 4
        return backoff

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        if isinstance(exc, _Retry):
            log.warning("retrying in %.2fs (attempt %d of %d): %s", delay, state.attempt_number + 1,
                        self.max_attempts, exc.final)

    @contextlib.asynccontextmanager
    async def _slot(self, scope: str, method: str) -> AsyncIterator[tuple[httpx.AsyncClient, Departure]]:
        """One of the requests in flight: its HTTP client (the most recently used, whose connection is
        warm), once the workspace's rate limit lets it go, and the rate token's ``Departure``. The slot is
        taken before the rate token, so a request holding a token goes out at once: the tokens' spacing is
        the requests' spacing."""
        workspace = self._workspace_gate(scope, method)
        await workspace.acquire()
        try:
            await self._in_flight.acquire()
            try:
                departure = await self.limits.acquire(scope, method)
                shared = self._transport is not None
                http = self._opened[0] if shared else (self._connections.pop() if self._connections
                                                      else self._connection())
                try:
                    yield http, departure
                finally:
                    if not shared:
                        self._connections.append(http)
            finally:
                self._in_flight.release()
        finally:
            workspace.release()

    async def _attempt(
        self,
        method: str,
        route: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        idempotent: bool,
        attempt_number: int,
        scope: str = "",
        decode: Callable[[httpx.Response], Any] = _decode,
    ) -> Any:
        try:
            # The overall deadline also covers transports that enforce none (in-process ASGI); it starts
            # once the request has its slot and its rate token.
            async with self._slot(scope, method) as (http, departure), asyncio.timeout(self.timeout):
                # Asked last, once the slot and the rate token are ours: nothing waits between it and the send.
                headers = self.before_write() if self.before_write is not None and method != "GET" else None
                self.request_count += 1
                sent = time.monotonic()
                try:
                    # The rate window counts the request from when it is written (a paused event loop or a
                    # new connection's handshake sends it later than its token).
                    response = await http.request(method, path, params=params, json=body, headers=headers,
                                                  extensions={"trace": departure.trace})
                except BaseException:
                    self.concurrency.dropped()
                    raise
                # The round trip, as the event loop saw it: Bird's distance plus any wait for our own CPU.
                answered = time.monotonic()
                self.concurrency.sample(answered - sent, self._in_flight.holders, answered)
            self._in_flight.wake()  # the limit may have grown
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never reached Bird: safe to send again whatever the method.
            self._notify(method, route, None, None)
            reason = f"could not connect ({type(exc).__name__})"
            raise _Retry(BirdTransportError(method=method, route=route, path=path, reason=reason,
                                            attempts=attempt_number)) from None
        except (httpx.TransportError, TimeoutError) as exc:
            self._notify(method, route, None, None)
            kind = "timed out" if isinstance(exc, TimeoutError | httpx.TimeoutException) else "connection lost"
            reason = f"{kind} after the request was sent ({type(exc).__name__})"
            if not idempotent:
                raise BirdAmbiguousWriteError(method=method, route=route, path=path, reason=reason) from None
            raise _Retry(BirdTransportError(method=method, route=route, path=path, reason=reason,
                                            attempts=attempt_number)) from None

        status = response.status_code
        request_id = _request_id(response)
        self._note_date(response.headers.get("date"))
        self._notify(method, route, status, request_id)
        log.debug("bird %s %s -> %s (attempt %d, request id %s)", method, route, status, attempt_number, request_id)
        if status < 300:
            return decode(response)
        decoded = _decode(response)
        if method == "DELETE" and status == 404 and attempt_number > 1:
            # An earlier attempt whose answer was lost did delete it: the goal is reached.
            return None
        error_kwargs = dict(status=status, method=method, route=route, path=path, body=decoded,
                            request_id=request_id, attempts=attempt_number)
        if status == 429:
            self.rate_limited_count += 1
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            # Without a Retry-After, one second: Bird's limits are per second.
            wait = min(retry_after if retry_after is not None else 1.0, self.max_retry_after)
            self.limits.pause(scope, method, wait)
            raise _Retry(error_class_for_status(status)(**error_kwargs), wait, rate_limited=True)
        if status >= 500 or status == 408:
            if not idempotent:
                raise BirdAmbiguousWriteError(
                    method=method, route=route, path=path, reason=f"Bird answered {status}", status=status,
                    body=decoded, request_id=request_id,
                )
            raise _Retry(error_class_for_status(status)(**error_kwargs),
                         parse_retry_after(response.headers.get("retry-after")))
        raise error_class_for_status(status)(**error_kwargs)

    def _note_date(self, header: str | None) -> None:
        """Keep the newest time Bird's answers stated (RFC 9110 Date): how old Bird's own dates are is told
        by Bird's clock, not ours (the emulator's clock moves only when told)."""
        if not header:
            return
        with contextlib.suppress(TypeError, ValueError, IndexError):
            stated = email.utils.parsedate_to_datetime(header).timestamp()
            self.bird_now = stated if self.bird_now is None else max(self.bird_now, stated)

    def _notify(self, method: str, route: str, status: int | None, request_id: str | None) -> None:
        if self.on_response is not None:
            try:
                self.on_response(method, route, status, request_id)
            except Exception:  # a metrics hook must never break a reconcile
                log.exception("on_response hook failed for %s %s", method, route)

    def _parse(self, model: type[M], data: Any, method: str, route: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise BirdResponseError(method=method, route=route, problem=_validation_summary(exc)) from None

    async def _get(self, model: type[M], route: str, path_params: Mapping[str, str]) -> M:
        return self._parse(model, await self._call("GET", route, path_params), "GET", route)

    async def _paginate(
        self,
        model: type[M],
        route: str,
        path_params: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int | None = None,
    ) -> AsyncIterator[M]:
        """Every item of a Bird list, following ``nextPageToken`` until a page comes without one."""
        async for page in self._pages(model, route, path_params, params, page_size=page_size):
            for item in page:
                yield item

    async def _pages(
        self,
        model: type[M],
        route: str,
        path_params: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int | None = None,
    ) -> AsyncIterator[list[M]]:
        """A Bird list page by page (one request each, Bird's largest page unless `page_size` says
        otherwise), so a caller can stop after any page."""
        largest = PAGE_SIZES.get(route, PAGE_SIZE)
        page_size = largest if page_size is None else page_size
        if not 1 <= page_size <= largest:
            raise ValueError(f"page size must be 1..{largest}, got {page_size}")
        query: dict[str, Any] = {k: v for k, v in (params or {}).items() if v is not None}
        query["limit"] = page_size
        seen_tokens: set[str] = set()
        while True:
            results, token = self._page(await self._call("GET", route, path_params, params=query), route)
            items = [self._parse(model, item, "GET", route) for item in results]
            del results  # not held while the caller waits for the next page (see json_pages)
            yield items
            if not token:
                return
            if token in seen_tokens:
                raise BirdResponseError(method="GET", route=route, problem="pagination token repeated (loop)")
            seen_tokens.add(token)
            query["pageToken"] = token

    async def json_pages(self, what: str, **path_params: str) -> AsyncIterator[list[dict[str, Any]]]:
        """A whole Bird list as JSON dicts, page by page (``what``: numbers, brands, connectors, campaigns,
        vettings, resellers, webhook-subscriptions). Each page is validated against the model and dumped back
        with Bird's field names in one call each (what observing thousands of objects costs most)."""
        model, route = JSON_LISTS[what]
        adapter = _list_adapter(model)
        query: dict[str, Any] = {"limit": PAGE_SIZES.get(route, PAGE_SIZE)}
        seen_tokens: set[str] = set()
        while True:
            parsed, token = self._validated_page(
                await self._call("GET", route, path_params, params=query, decode=_content), model, route)
            page = adapter.dump_python(parsed, mode="json", by_alias=True)
            # Dropped before the yield: a generator waiting for its next page would otherwise hold this
            # page's models too (hundreds of lists are read at once).
            del parsed
            yield page
            if not token:
                return
            if token in seen_tokens:
                raise BirdResponseError(method="GET", route=route, problem="pagination token repeated (loop)")
            seen_tokens.add(token)
            query["pageToken"] = token

    def _validated_page(self, content: bytes, model: type[BaseModel], route: str) -> tuple[list[Any], str | None]:
        """A page's items as models, and its next page's token. Validated from the JSON bytes in one pass
        (no intermediate dicts: a plan reads every page of every collection); a page that fails is decoded
        and checked again step by step, for the error message that names what is wrong."""
        try:
            page = _page_adapter(model).validate_json(content)
            return page["results"], page.get("nextPageToken")
        except ValidationError:
            pass
        results, token = self._page(pydantic_core.from_json(content) if content else None, route)
        try:
            return _list_adapter(model).validate_python(results), token
        except ValidationError as exc:
            raise BirdResponseError(method="GET", route=route, problem=_validation_summary(exc)) from None

    @staticmethod
    def _page(data: Any, route: str) -> tuple[list[Any], str | None]:
        """``results`` and ``nextPageToken`` of one page (checked by hand: pages are hot, items are
        validated one by one anyway)."""
        results = data.get("results") if isinstance(data, Mapping) else None
        token = data.get("nextPageToken") if isinstance(data, Mapping) else None
        if not isinstance(results, list) or not (token is None or isinstance(token, str)):
            raise BirdResponseError(method="GET", route=route,
                                    problem="expected a page {results: [...], nextPageToken?}")
        return results, token

    def _list_from(self, model: type[M], data: Any, method: str, route: str) -> list[M]:
        """Items of an answer that may be ``{"results": [...]}``, a bare list, or a single object."""
        if isinstance(data, Mapping) and isinstance(data.get("results"), list):
            items = data["results"]
        elif isinstance(data, list):
            items = data
        else:
            items = [data]
        return [self._parse(model, item, method, route) for item in items]

    # --------------------------------------------------------------------------------------- numbers

    def stock_items(
        self,
        organization_id: str,
        *,
        country: str | None = None,
        type: str | None = None,  # noqa: A002 - Bird's query parameter name
        prefix: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> AsyncIterator[StockItem]:
        """The organization's number stock (``numbers-stock-items``), filtered like Bird filters it."""
        return self._paginate(StockItem, routes.NUMBERS_STOCK_ITEMS, {"organizationId": organization_id},
                              stock_query(country, type, prefix), page_size=limit)

    def stock_item_pages(
        self,
        workspace_id: str,
        *,
        country: str,
        type: str | None = None,  # noqa: A002 - Bird's query parameter name
        prefix: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> AsyncIterator[list[StockItem]]:
        """The organization's stock searched from one of its workspaces (Bird "Search Available Numbers"),
        one page (one request) at a time: N numbers cost ceil(N / 99) requests, and the caller decides after
        each page whether it needs more. ``prefix`` may be a whole E.164 number (with ``limit=1``: is that
        number in stock?)."""
        return self._pages(StockItem, routes.WORKSPACE_NUMBERS_STOCK_ITEMS, {"workspaceId": workspace_id},
                           stock_query(country, type, prefix), page_size=limit)

    def list_numbers(self, workspace_id: str) -> AsyncIterator[Number]:
        """Every number the workspace owns, 99 per request."""
        return self._paginate(Number, routes.NUMBERS_LIST, {"workspaceId": workspace_id})

    async def get_number(self, workspace_id: str, number_id: str) -> Number:
        """One owned number, read from Bird's documented long-code route (``numberString``, ``countryCode``)."""
        return await self._get(Number, routes.NUMBER_LONG_CODE_GET,
                               {"workspaceId": workspace_id, "longCodeNumberId": number_id})

    async def buy_stock_items(self, workspace_id: str, stock_item_ids: list[str]) -> list[Number]:
        """Buy up to 25 numbers of the organization's stock by stock item id (Bird "Buy a Number",
        ``POST /workspaces/{workspaceId}/numbers-long-code``). Charges the wallet; never retried on an
        unknown outcome (``BirdAmbiguousWriteError``): list the numbers to see what was bought.

        Bird documents the 201 but not its body: the numbers it names are returned, an answer item that is
        not a number is left out (never an error: the purchase is made), so a caller reads the list for
        any number it does not find here."""
        if not stock_item_ids:
            return []
        if len(stock_item_ids) > MAX_NUMBERS_PER_PURCHASE:
            raise ValueError(f"Bird buys at most {MAX_NUMBERS_PER_PURCHASE} numbers per call, got "
                             f"{len(stock_item_ids)}")
        body = BuyStockItemsRequest(numberStockItemIds=stock_item_ids)
        data = await self._call("POST", routes.NUMBERS_LONG_CODE_BUY, {"workspaceId": workspace_id},
                                body=body.to_body())
        items = data.get("results") if isinstance(data, Mapping) else data
        bought = []
        for item in items if isinstance(items, list) else []:
            try:
                bought.append(Number.model_validate(item))
            except ValidationError:
                log.warning("Bird's answer to a purchase holds an item that is not a number; the numbers are "
                            "read from the workspace's list instead")
        return bought

    async def compliance_requirements(self, workspace_id: str, endpoint_id: str) -> list[ComplianceRequirement]:
        """What a number (a long code's endpoint id is its number id) still needs before it may send, as Bird
        evaluates it. The page documents no page size: none is sent, and any nextPageToken is followed."""
        route, path_params = routes.ENDPOINT_COMPLIANCE_REQUIREMENTS, {"workspaceId": workspace_id,
                                                                       "endpointId": endpoint_id}
        query: dict[str, Any] = {}
        out: list[ComplianceRequirement] = []
        while True:
            results, token = self._page(await self._call("GET", route, path_params, params=query), route)
            out += [self._parse(ComplianceRequirement, item, "GET", route) for item in results]
            if not token or token == query.get("pageToken"):
                return out
            query["pageToken"] = token

    async def cancel_number(self, workspace_id: str, number_id: str) -> datetime | None:
        """Cancel the number's monthly subscription (cancelling twice changes nothing, so retried); the end of
        the period already paid, until which Bird keeps the number and its charge (the answer's
        `endpointSubscription.endAt`, https://docs.bird.com/api/numbers-api/api-reference/manage-endpoint-
        subscriptions/cancel-number-subscription), or None when Bird does not say."""
        answer = await self._call("POST", routes.NUMBER_CANCEL, {"workspaceId": workspace_id, "numberId": number_id},
                                  idempotent=True)
        ends = ((answer or {}).get("endpointSubscription") or {}).get("endAt") if isinstance(answer, dict) else None
        try:
            return datetime.fromisoformat(ends.replace("Z", "+00:00")) if isinstance(ends, str) else None
        except ValueError:
            return None

    # ----------------------------------------------------------------------------------------- 10DLC

    def list_workspaces(self, organization_id: str) -> AsyncIterator[Workspace]:
        """The organization's workspaces (what `senderctl dump` walks)."""
        return self._paginate(Workspace, routes.WORKSPACES_LIST, {"organizationId": organization_id})

    async def tcr_verticals(self) -> list[Vertical]:
        """The campaign registry's verticals, as Bird lists them (one request; the list is not paginated)."""
        data = await self._call("GET", routes.NUMBERS_TCR_VERTICALS, {})
        return self._list_from(Vertical, data, "GET", routes.NUMBERS_TCR_VERTICALS)

    def list_brands(self, workspace_id: str) -> AsyncIterator[Brand]:
        return self._paginate(Brand, routes.BRANDS_LIST, {"workspaceId": workspace_id})

    async def get_brand(self, workspace_id: str, brand_id: str) -> Brand:
        return await self._get(Brand, routes.BRAND_GET, {"workspaceId": workspace_id, "brandId": brand_id})

    async def create_brand(self, workspace_id: str, brand: BrandCreate) -> Brand:
        """Register a brand (PENDING until the registry decides). Charges a registration fee."""
        data = await self._call("POST", routes.BRAND_CREATE, {"workspaceId": workspace_id}, body=brand.to_body())
        return self._parse(Brand, data, "POST", routes.BRAND_CREATE)

    async def update_brand(
        self, workspace_id: str, brand_id: str, changes: BrandUpdate | Mapping[str, Any]
    ) -> Brand:
        """Change brand fields (only those given are sent). May charge a resubmission fee, so an unknown
        outcome is not retried."""
        update = changes if isinstance(changes, BrandUpdate) else BrandUpdate.model_validate(dict(changes))
        path_params = {"workspaceId": workspace_id, "brandId": brand_id}
        data = await self._call("PATCH", routes.BRAND_UPDATE, path_params, body=update.to_body(), idempotent=False)
        return self._parse(Brand, data, "PATCH", routes.BRAND_UPDATE)

    async def delete_brand(self, workspace_id: str, brand_id: str) -> None:
        await self._call("DELETE", routes.BRAND_DELETE, {"workspaceId": workspace_id, "brandId": brand_id})

    def list_vettings(self, workspace_id: str, brand_id: str) -> AsyncIterator[Vetting]:
        return self._paginate(Vetting, routes.VETTINGS_LIST, {"workspaceId": workspace_id, "brandId": brand_id})

    async def create_vetting(self, workspace_id: str, brand_id: str, vetting: VettingCreate) -> Vetting:
        path_params = {"workspaceId": workspace_id, "brandId": brand_id}
        data = await self._call("POST", routes.VETTING_CREATE, path_params, body=vetting.to_body())
        return self._parse(Vetting, data, "POST", routes.VETTING_CREATE)

    def list_campaigns(self, workspace_id: str, brand_id: str) -> AsyncIterator[Campaign]:
        return self._paginate(Campaign, routes.CAMPAIGNS_LIST, {"workspaceId": workspace_id, "brandId": brand_id})

    async def get_campaign(self, workspace_id: str, brand_id: str, campaign_id: str) -> Campaign:
        path_params = {"workspaceId": workspace_id, "brandId": brand_id, "campaignId": campaign_id}
        return await self._get(Campaign, routes.CAMPAIGN_GET, path_params)

    async def create_campaign(self, workspace_id: str, brand_id: str, campaign: CampaignCreate) -> Campaign:
        """Register a campaign on an approved brand. Charges a fee and a three-month minimum."""
        path_params = {"workspaceId": workspace_id, "brandId": brand_id}
        data = await self._call("POST", routes.CAMPAIGN_CREATE, path_params, body=campaign.to_body())
        return self._parse(Campaign, data, "POST", routes.CAMPAIGN_CREATE)

    async def update_campaign(self, workspace_id: str, brand_id: str, campaign_id: str,
                              changes: CampaignUpdate | Mapping[str, Any]) -> Campaign:
        """Update a campaign in place (only the fields given are sent). A DECLINED/REJECTED campaign is
        resubmitted for review, for a fee, so an unknown outcome is not retried."""
        update = changes if isinstance(changes, CampaignUpdate) else CampaignUpdate.model_validate(dict(changes))
        path_params = {"workspaceId": workspace_id, "brandId": brand_id, "campaignId": campaign_id}
        data = await self._call("PATCH", routes.CAMPAIGN_UPDATE, path_params, body=update.to_body(),
                                idempotent=False)
        return self._parse(Campaign, data, "PATCH", routes.CAMPAIGN_UPDATE)

    async def delete_campaign(self, workspace_id: str, brand_id: str, campaign_id: str) -> None:
        """Delete a campaign; Bird refuses while a channel of it is active."""
        path_params = {"workspaceId": workspace_id, "brandId": brand_id, "campaignId": campaign_id}
        await self._call("DELETE", routes.CAMPAIGN_DELETE, path_params)

    def list_resellers(self, workspace_id: str) -> AsyncIterator[Reseller]:
        return self._paginate(Reseller, routes.RESELLERS_LIST, {"workspaceId": workspace_id})

    # -------------------------------------------------------------------------------------- channels

    def list_connectors(self, workspace_id: str) -> AsyncIterator[Connector]:
        return self._paginate(Connector, routes.CONNECTORS_LIST, {"workspaceId": workspace_id})

    async def get_connector(self, workspace_id: str, connector_id: str) -> Connector:
        path_params = {"workspaceId": workspace_id, "connectorId": connector_id}
        return await self._get(Connector, routes.CONNECTOR_GET, path_params)

    async def create_connector(self, workspace_id: str, connector: ConnectorCreate) -> Connector:
        """Install a connector (for SMS: number + campaign → a channel, see ``Connector.channel_id``)."""
        data = await self._call("POST", routes.CONNECTOR_CREATE, {"workspaceId": workspace_id},
                                body=connector.to_body())
        return self._parse(Connector, data, "POST", routes.CONNECTOR_CREATE)

    async def delete_connector(self, workspace_id: str, connector_id: str) -> None:
        await self._call("DELETE", routes.CONNECTOR_DELETE, {"workspaceId": workspace_id, "connectorId": connector_id})

    def list_channels(self, workspace_id: str) -> AsyncIterator[Channel]:
        return self._paginate(Channel, routes.CHANNELS_LIST, {"workspaceId": workspace_id})

    async def get_channel(self, workspace_id: str, channel_id: str) -> Channel:
        return await self._get(Channel, routes.CHANNEL_GET, {"workspaceId": workspace_id, "channelId": channel_id})

    # -------------------------------------------------------------------------------------- webhooks

    def list_webhook_subscriptions(self, organization_id: str, workspace_id: str) -> AsyncIterator[WebhookSubscription]:
        path_params = {"organizationId": organization_id, "workspaceId": workspace_id}
        return self._paginate(WebhookSubscription, routes.WEBHOOK_SUBSCRIPTIONS_LIST, path_params)

    def list_webhook_logs(self, organization_id: str, workspace_id: str, subscription_id: str,
                          execution_status: str | None = None) -> AsyncIterator[WebhookLog]:
        """A subscription's delivery logs (Bird keeps them seven days), optionally of one executionStatus."""
        path_params = {"organizationId": organization_id, "workspaceId": workspace_id,
                       "webhookSubscriptionId": subscription_id}
        return self._paginate(WebhookLog, routes.WEBHOOK_SUBSCRIPTION_LOGS, path_params,
                              {"executionStatus": execution_status})

    async def get_webhook_subscription(
        self, organization_id: str, workspace_id: str, subscription_id: str
    ) -> WebhookSubscription:
        path_params = {"organizationId": organization_id, "workspaceId": workspace_id,
                       "webhookSubscriptionId": subscription_id}
        return await self._get(WebhookSubscription, routes.WEBHOOK_SUBSCRIPTION_GET, path_params)

    async def create_webhook_subscription(
        self, organization_id: str, workspace_id: str, subscription: WebhookSubscriptionCreate
    ) -> WebhookSubscription:
        path_params = {"organizationId": organization_id, "workspaceId": workspace_id}
        data = await self._call("POST", routes.WEBHOOK_SUBSCRIPTION_CREATE, path_params, body=subscription.to_body())
        return self._parse(WebhookSubscription, data, "POST", routes.WEBHOOK_SUBSCRIPTION_CREATE)

    async def update_webhook_subscription(
        self,
        organization_id: str,
        workspace_id: str,
        subscription_id: str,
        changes: WebhookSubscriptionUpdate | Mapping[str, Any],
    ) -> WebhookSubscription:
        """Change url / signingKey / status / eventFilters. Setting values twice is harmless: retried."""
        update = (changes if isinstance(changes, WebhookSubscriptionUpdate)
                  else WebhookSubscriptionUpdate.model_validate(dict(changes)))
        path_params = {"organizationId": organization_id, "workspaceId": workspace_id,
                       "webhookSubscriptionId": subscription_id}
        data = await self._call("PATCH", routes.WEBHOOK_SUBSCRIPTION_UPDATE, path_params, body=update.to_body(),
                                idempotent=True)
        return self._parse(WebhookSubscription, data, "PATCH", routes.WEBHOOK_SUBSCRIPTION_UPDATE)

    async def delete_webhook_subscription(self, organization_id: str, workspace_id: str, subscription_id: str) -> None:
        path_params = {"organizationId": organization_id, "workspaceId": workspace_id,
                       "webhookSubscriptionId": subscription_id}
        await self._call("DELETE", routes.WEBHOOK_SUBSCRIPTION_DELETE, path_params)


__all__ = ["BirdClient", "BirdHTTPError", "PAGE_SIZE", "check_e164", "parse_retry_after"]
