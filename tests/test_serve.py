"""The web page, end to end in a real headless Chromium driven by Playwright."""

import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from conftest import smooth_photo
from metastyle.adapt import AdaptConfig
from metastyle.server import App, make_server

CHROMIUM = os.environ.get("METASTYLE_CHROMIUM", "/usr/bin/chromium")
# As root, without a sandbox; no background traffic (this machine has no network to offer it).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "work").mkdir()
    app = App(config=AdaptConfig(steps=15, size=32, style_size=32, batch=1), device="cpu", max_upload_bytes=300_000, work=tmp_path / "work")
    httpd = make_server(app, "127.0.0.1", 0)  # a free loopback port
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", app
    httpd.shutdown()
    httpd.server_close()
    app.worker.shutdown()


def test_upload_pick_a_painting_watch_progress_download_and_reuse(browser, server, tmp_path):
    url, app = server
    photo = smooth_photo(tmp_path / "photo.png", size=(60, 40))
    page = browser.new_page()
    polls = []
    page.on("response", lambda r: polls.append(r.json()) if "/api/jobs/" in r.url and r.url.count("/") == 5 else None)
    page.goto(url)
    page.set_input_files("#photo", str(photo))
    page.select_option("#builtin", "irises")
    page.click("#start")
    expect(page.locator("#result")).to_be_visible(timeout=120_000)
    assert any(p["status"] == "adapting" and 0 < p["step"] <= 15 for p in polls)  # progress was shown live
    expect(page.locator("#status")).to_have_text("Done")
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "download.png"
    info.value.save_as(saved)
    assert Image.open(saved).size == (60, 40)

    # The adapted model is cached and offered for reuse: no adaptation the second time.
    page.reload()
    expect(page.locator("#model option")).to_have_count(2)
    page.set_input_files("#photo", str(photo))
    page.select_option("#model", index=1)
    polls.clear()
    page.click("#start")
    expect(page.locator("#status")).to_have_text("Done", timeout=60_000)
    assert not any(p["status"] == "adapting" for p in polls)
    page.close()


def test_bad_uploads_get_clear_messages(browser, server, tmp_path):
    url, _ = server
    page = browser.new_page()
    page.goto(url)
    (tmp_path / "notes.png").write_text("not an image")
    page.set_input_files("#photo", str(tmp_path / "notes.png"))
    page.select_option("#builtin", "irises")
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("not an image")
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(400_000))
    page.set_input_files("#photo", str(big))
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("limited to")
    page.set_input_files("#photo", str(smooth_photo(tmp_path / "p.png")))
    page.select_option("#builtin", "")
    page.fill("#mix", "a.safetensors:0.5,b.safetensors:0.2")
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("sum to 1")
    page.close()


def test_the_server_enforces_the_upload_limit_itself(server):
    url, _ = server
    body = b"--x\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\n" + b"0" * 400_000 + b"\r\n--x--\r\n"
    request = urllib.request.Request(f"{url}/api/jobs", data=body, headers={"Content-Type": "multipart/form-data; boundary=x"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 413 and "limited" in json.loads(info.value.read())["error"]
