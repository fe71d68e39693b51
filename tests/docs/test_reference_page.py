"""The reference page built from openapi.yaml, read in headless Chromium.

The page is served on loopback and opened in Debian's Chromium, driven by
Playwright. Every request that leaves loopback is blocked and recorded, so the
test shows both that the page needs nothing from the internet and that it
asks for nothing.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from docs_support import CHROMIUM, ROOT, require, require_chromium

SCREENSHOT = ROOT / "reports" / "docs-screenshot.png"
WEBHOOK_SCREENSHOT = ROOT / "reports" / "docs-webhook-screenshot.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Spec = dict[str, Any]
Examples = dict[str, Any]


@dataclass
class ExpectedResponse:
    """What the page must show for one status of an operation."""

    description: str
    headers: dict[str, Any] = field(default_factory=dict)
    examples_by_media_type: dict[str, Examples] = field(default_factory=dict)


@dataclass
class ExpectedOperation:
    """What the page must show for one operation or webhook."""

    operation_id: str
    summary: str
    tag: str
    parameter_examples: dict[str, list[Any]]
    request_examples: Examples
    responses: dict[str, ExpectedResponse]


def _resolve(spec: Spec, node: Any) -> Any:
    """Follow a local ``$ref`` until a node without one is reached."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _examples(spec: Spec, media_type: dict[str, Any]) -> Examples:
    """Return a media type's examples as {label shown on the page: value}."""
    found = {}
    for name, example in media_type.get("examples", {}).items():
        example = _resolve(spec, example)
        found[example.get("summary", name)] = example["value"]
    if "example" in media_type:
        found["Example"] = media_type["example"]
    return found


def _expected_operation(spec: Spec, operation: dict[str, Any]) -> ExpectedOperation:
    """Collect what the page must show for ``operation``."""
    responses = {}
    for status, response in operation["responses"].items():
        response = _resolve(spec, response)
        responses[str(status)] = ExpectedResponse(
            description=response["description"],
            headers={
                name: _resolve(spec, header).get("example")
                for name, header in response.get("headers", {}).items()
            },
            examples_by_media_type={
                media: _examples(spec, body)
                for media, body in response.get("content", {}).items()
            },
        )
    parameter_examples = {}
    for parameter in operation.get("parameters", []):
        parameter = _resolve(spec, parameter)
        examples = parameter.get("examples", {}).values()
        values = [_resolve(spec, example)["value"] for example in examples]
        if "example" in parameter:
            values.append(parameter["example"])
        parameter_examples[parameter["name"]] = values
    request_body = _resolve(spec, operation.get("requestBody", {}))
    request_examples: Examples = {}
    for body in request_body.get("content", {}).values():
        request_examples.update(_examples(spec, body))
    return ExpectedOperation(
        operation_id=operation["operationId"],
        summary=operation["summary"],
        tag=operation["tags"][0],
        parameter_examples=parameter_examples,
        request_examples=request_examples,
        responses=responses,
    )


def expected_operations(spec: Spec) -> list[ExpectedOperation]:
    """Return every operation and webhook of the spec, in document order."""
    operations = []
    for path_items in (spec["paths"], spec.get("webhooks", {})):
        for path_item in path_items.values():
            for method in HTTP_METHODS:
                if method in path_item:
                    operations.append(_expected_operation(spec, path_item[method]))
    return operations


def _plain(markdown: str) -> str:
    """Return the text a reader sees of a one-paragraph Markdown description."""
    return re.sub(r"\s+", " ", markdown.replace("`", "").replace("**", "")).strip()


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without writing a log line per request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_url(built_page: Path) -> Iterator[str]:
    """Serve the built page on a free loopback port for the module's tests."""
    handler = functools.partial(_QuietHandler, directory=str(built_page.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{built_page.name}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class BrowserLog:
    """What the browser reported while the page was open."""

    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    loopback_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser(page_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Yield (page, log): Chromium on a fresh profile, remote requests blocked."""
    require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (requirements/dev.txt)")

    log = BrowserLog()

    def route(request_route: Any) -> None:
        address = urlsplit(request_route.request.url)
        if address.scheme in ("http", "https", "ws", "wss") and (
            address.hostname not in LOOPBACK_HOSTS
        ):
            log.blocked_requests.append(request_route.request.url)
            request_route.abort("blockedbyclient")
            return
        log.loopback_requests.append(request_route.request.url)
        request_route.continue_()

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(5_000)
            page.on(
                "console",
                lambda message: (
                    log.console_errors.append(message.text)
                    if message.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda error: log.console_errors.append(str(error)))
            page.goto(page_url, wait_until="load")
            yield page, log
        finally:
            context.close()


def _open_operation(page: Any, operation: ExpectedOperation) -> Any:
    """Click the operation in the sidebar and return its section of the page."""
    item = page.locator(".menu-item-type-operation").filter(
        has=page.get_by_text(operation.summary, exact=True)
    )
    if not item.is_visible():
        page.locator(".menu-item-type-group").filter(
            has=page.get_by_text(operation.tag, exact=True)
        ).first.click()
    href = item.locator("a").first.get_attribute("href")
    assert href is not None
    assert href.lower().endswith("/" + operation.operation_id.lower())

    item.click()
    section = page.locator(f'[data-section-id="{href.removeprefix("#")}"]')
    section.locator("h2").first.wait_for()
    assert section.locator("h2").first.inner_text().startswith(operation.summary)
    return section


def _shown_json(viewer: Any, expected: Any) -> Any:
    """Return the JSON a viewer shows, waiting briefly for it to become ``expected``."""
    deadline = time.monotonic() + 2.0
    while True:
        shown = json.loads(viewer.inner_text())
        if shown == expected or time.monotonic() > deadline:
            return shown
        time.sleep(0.05)


def _check_examples(page: Any, panel: Any, examples: Examples) -> None:
    """Select each example in ``panel``'s picker and compare the JSON shown."""
    picker = panel.locator('button[aria-label="Example"]')
    viewer = panel.locator('[data-testid="json-viewer"]')
    if picker.count() == 0:
        # With a single example there is nothing to pick.
        assert len(examples) == 1
        (value,) = examples.values()
        assert _shown_json(viewer, value) == value
        return

    for label, value in examples.items():
        if picker.get_attribute("aria-expanded") != "true":
            picker.click()
        offered = page.get_by_role("menuitem").all_inner_texts()
        assert sorted(offered) == sorted(examples)
        page.get_by_role("menuitem", name=label, exact=True).click()
        assert picker.inner_text() == label
        assert _shown_json(viewer, value) == value, label


def _choose_media_type(
    page: Any, samples: Any, media_type: str, response: ExpectedResponse
) -> None:
    """Show ``media_type`` in the samples panel, checking the ones it offers."""
    offered = list(response.examples_by_media_type)
    chooser = samples.locator('[aria-label="Response media type"]')
    if chooser.evaluate("element => element.tagName") == "SELECT":
        # One media type: Redoc shows it in a disabled select.
        assert chooser.locator("option").all_text_contents() == offered
        return

    if chooser.get_attribute("aria-expanded") != "true":
        chooser.click()
    assert page.get_by_role("menuitem").all_inner_texts() == offered
    page.get_by_role("menuitem", name=media_type, exact=True).click()
    assert chooser.inner_text() == media_type


def _check_responses(page: Any, section: Any, operation: ExpectedOperation) -> None:
    """Check every status: its description, headers, media types and examples."""
    statuses = re.compile(r"^\d{3}$")
    middle = section.locator('[data-testid="middle-panel"]').filter(
        has=page.get_by_role("tablist", name="Response status")
    )
    samples = section.locator('[data-component-name="Panel/Panel"]').filter(
        has=page.get_by_text("Response", exact=True)
    )
    status_tabs = middle.get_by_role("tablist", name="Response status")
    assert status_tabs.get_by_role("tab").all_inner_texts() == list(operation.responses)
    with_bodies = [
        status
        for status, response in operation.responses.items()
        if response.examples_by_media_type
    ]
    if with_bodies:
        shown = samples.get_by_role("button", name=statuses).all_inner_texts()
        assert shown == with_bodies

    for status, response in operation.responses.items():
        status_tabs.get_by_role("tab", name=status, exact=True).click()
        assert _plain(response.description) in _plain(middle.inner_text())
        for header, example in response.headers.items():
            assert header in middle.inner_text()
            assert json.dumps(example) in middle.inner_text(), (status, header)

        if not response.examples_by_media_type:
            continue
        samples.get_by_role("button", name=status, exact=True).click()
        for media_type, examples in response.examples_by_media_type.items():
            _choose_media_type(page, samples, media_type, response)
            if examples:
                _check_examples(page, samples, examples)


def test_reference_page_shows_every_operation_example_and_response(
    browser: Any, page_url: str, spec: Spec
) -> None:
    page, log = browser
    operations = expected_operations(spec)
    assert [operation.operation_id for operation in operations] == [
        "getJob",
        "listJobs",
        "downloadJobFile",
        "jobFinishedWebhook",
    ]

    page.get_by_role("heading", name=re.compile(spec["info"]["title"])).wait_for()
    for operation in operations:
        section = _open_operation(page, operation)
        for name, values in operation.parameter_examples.items():
            request = (
                section.locator('[data-testid="middle-panel"]')
                .filter(has_not=page.get_by_role("tablist", name="Response status"))
                .filter(has=page.get_by_text(name, exact=True))
            )
            for value in values:
                assert str(value) in request.inner_text(), (name, value)
        if operation.request_examples:
            payload = section.locator('[data-component-name="Panel/Panel"]').filter(
                has=page.get_by_text("Payload", exact=True)
            )
            _check_examples(page, payload, operation.request_examples)
        _check_responses(page, section, operation)
        if operation.operation_id == "jobFinishedWebhook":
            assert "Webhook" in section.locator("h2").first.inner_text()
            WEBHOOK_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(WEBHOOK_SCREENSHOT))

    # The screenshot shows the first operation as a new reader meets it.
    page.goto(page_url)
    page.reload()
    _open_operation(page, operations[0])
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    assert log.console_errors == []
    assert log.blocked_requests == []
    # The page itself went through the same filter, so the filter was active.
    assert page_url in log.loopback_requests
    assert SCREENSHOT.stat().st_size > 10_000


def test_reference_page_loads_nothing_remote(redocly: Any, built_page: Path) -> None:
    html = built_page.read_text(encoding="utf-8")

    assert redocly.fetched_urls(html) == []
    assert "cdn.redoc.ly" not in html
    # telemetry: off in redocly.yaml reaches the page's own options.
    assert '"disableTelemetry":true' in html
