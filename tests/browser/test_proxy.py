"""``gradtui serve --public-url`` behind a reverse proxy under a path prefix, as the README
sets up nginx: the page, its websocket and a screenshot download all go through the proxy.

textual-serve 1.1.3's page fetches downloads from the site's root (``/download/…``), which
a proxy of one path does not forward; gradtui's page sends them under the public URL.
"""

from __future__ import annotations

from tests.browser.browser import (
    LOAD_S,
    chromium,
    free_port,
    open_page,
    press,
    save_screenshot,
    serve,
    wait_screen,
)
from tests.browser.proxy import proxy


def test_page_keys_and_download_through_a_proxy_under_a_prefix() -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}/gradtui"
    with (
        serve("--public-url", public) as served,
        proxy("gradtui", served.port, port) as asked,
        chromium() as browser,
    ):
        page = open_page(browser, served, url=f"{public}/")
        wait_screen(page, "ExpBackward0", LOAD_S)
        press(page, "n")  # a key through the proxied websocket, and its answer back
        wait_screen(page, "step 2 of")
        url, response = save_screenshot(page)
        assert url.startswith(f"{public}/download/"), url
        assert response.ok, (response.status, url)
        assert "attachment; filename=gradtui_" in response.headers["content-disposition"]
        assert "ExpBackward0" in response.body().decode()
        # Nothing went around the proxy, or outside its prefix (a font host was blocked).
        assert not [u for u in page.blocked if "127.0.0.1" in u], page.blocked
        assert asked and all(path.startswith("/gradtui/") for path in asked), asked
        assert any(path.startswith("/gradtui/ws") for path in asked), asked
