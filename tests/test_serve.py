"""`metastyle serve`: the page end to end in a headless Chromium (Playwright), and the bad
requests every server meets, sent over raw sockets, each answered 4xx with the server alive after."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_photo, stripes
from metastyle.adapt import AdaptConfig
from metastyle.errors import MetastyleError
from metastyle.files import cache_dir
from metastyle.models import load_model, save_model
from metastyle.pipeline import adapted_dir
from metastyle.server import App, make_server
from metastyle.start import shipped_start
from metastyle.transformer import TransformerNet
from metastyle.vgg import WEIGHTS_SHA256, load_weights

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the browser tests skip; the others run
    sync_playwright = None

CHROMIUM = os.environ.get("METASTYLE_CHROMIUM", "/usr/bin/chromium")
# As root, without a sandbox; no background traffic (this machine has no network to offer it).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
TINY = AdaptConfig(steps=15, size=32, style_size=32, batch=1)  # seconds, not a minute, per adaptation
LIMIT = 300_000  # bytes per upload in these tests


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        pytest.skip("the browser tests need playwright: pip install -e '.[test]'")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (or set METASTYLE_CHROMIUM)")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        except Exception as error:
            pytest.skip(f"{CHROMIUM} does not start: {str(error).splitlines()[0]}")
        yield browser
        browser.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty model cache for each test, sharing the dequantised VGG-19 weights (slow to rebuild)."""
    name = f"vgg19-{WEIGHTS_SHA256[:16]}.safetensors"
    if not (cache_dir() / name).is_file():
        load_weights()
    vgg = cache_dir() / name
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache_dir().joinpath(name).symlink_to(vgg)
    return tmp_path / "cache"


@pytest.fixture
def serve(tmp_path, cache):
    """start(**App options) -> (base URL, app): a server on a free loopback port, in a thread."""
    running = []

    def start(**options) -> tuple[str, App]:
        work = tmp_path / f"work-{len(running)}"
        work.mkdir()
        app = App(**{"config": TINY, "device": "cpu", "max_upload_bytes": LIMIT, "work": work, **options})
        server = make_server(app, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        running.append((server, thread))
        return server.url.rstrip("/"), app

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


def png(size: tuple[int, int] = (60, 40), seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def multipart(fields: dict[str, str | tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        if isinstance(value, tuple):
            head = f'Content-Disposition: form-data; name="{name}"; filename="{value[0]}"\r\nContent-Type: image/png'
            data = value[1]
        else:
            head, data = f'Content-Disposition: form-data; name="{name}"', value.encode()
        body += f"--{boundary}\r\n{head}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def call(url: str, fields: dict | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict | bytes]:
    """GET, or POST a multipart form; (status, JSON or bytes)."""
    data, content_type = multipart(fields) if fields is not None else (None, "")
    request = urllib.request.Request(url, data=data, headers={**({"Content-Type": content_type} if data else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        status, body, kind = error.code, error.read(), error.headers.get_content_type()
    return status, json.loads(body) if kind == "application/json" else body


def raw(url: str, request: bytes, wait: float = 10.0) -> tuple[int, bytes, float]:
    """Send bytes as they are; (status, whole answer, seconds until the server closed the connection)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as s:
        start = time.monotonic()
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer, time.monotonic() - start


def alive(url: str) -> bool:
    return call(f"{url}/api/limits")[0] == 200


def wait_done(url: str, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = call(f"{url}/api/jobs/{job_id}")[1]
        if job["status"] in ("done", "error"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def record_polls(page) -> list[dict]:
    """The job progress the page polls for, as it arrives."""
    polls: list[dict] = []
    page.on("response", lambda r: polls.append(r.json()) if re.search(r"/api/jobs/\w+$", r.url) else None)
    return polls


def wait_shown(page, selector: str) -> None:
    """Until every image that `selector` matches has loaded and decoded."""
    page.wait_for_function("s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)", arg=selector)


def download(page, path: Path) -> np.ndarray:
    with page.expect_download() as info:
        page.click("#download")
    info.value.save_as(path)
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


# The page, driven as a user would.


def test_photo_gallery_progress_strength_colour_and_download(browser, serve, tmp_path):
    url, app = serve()
    page = browser.new_page()
    requested, polls = [], record_polls(page)
    page.on("request", lambda r: requested.append((r.method, r.url)))
    page.goto(url)
    page.set_input_files("#photo", str(smooth_photo(tmp_path / "photo.png", size=(60, 40))))
    expect(page.locator("#photo-preview")).to_have_attribute("src", re.compile("^blob:"))
    expect(page.locator("#show-photo")).to_have_attribute("src", re.compile("^blob:"))

    expect(page.locator("#gallery .tile")).to_have_count(174)
    page.fill("#search", "irises gogh")
    expect(page.locator("#gallery .tile:visible")).to_have_count(1)
    page.click("#gallery .tile[data-name=irises]")
    expect(page.locator("#choice")).to_contain_text("Irises")
    expect(page.locator("#show-painting")).to_have_attribute("src", "/api/paintings/irises.jpg")
    wait_shown(page, "#show-painting")

    page.click("#start")
    expect(page.locator("#status")).to_have_text("Done", timeout=120_000)
    wait_shown(page, "#result")
    assert any(p["status"] == "adapting" and 0 < p["step"] <= 15 for p in polls)  # progress was shown live
    assert all(p["eta"] is not None for p in polls if p["status"] == "adapting" and p["step"] >= 2)

    # Strength and colour: the kept result is re-rendered; nothing is submitted or adapted again.
    full = download(page, tmp_path / "full.png")
    page.locator("#strength").fill("0.3")
    expect(page.locator("#strength-value")).to_have_text("30%")
    expect(page.locator("#result")).to_have_attribute("src", re.compile("strength=0.3&color=0"))
    page.check("#preserve_color")
    expect(page.locator("#download")).to_have_attribute("href", re.compile("strength=0.3&color=1"))
    wait_shown(page, "#result")
    weak = download(page, tmp_path / "weak.png")
    assert full.shape == weak.shape == (40, 60, 3) and np.abs(full - weak).mean() > 1
    assert [u for m, u in requested if m == "POST"] == [f"{url}/api/jobs"] and len(app.queue.jobs) == 1
    assert all(u.startswith((f"{url}/", "blob:")) for _, u in requested), requested  # nothing from outside
    page.close()


def test_upload_a_painting_then_reuse_and_mix_adapted_styles(browser, serve, tmp_path):
    url, app = serve()
    # Adapted earlier, e.g. by `stylize --style` (an untrained network here: the page cannot tell),
    # from the same shipped start as the page's adaptation (mixing needs networks of one width).
    info = {"kind": "adapted", "style": "builtin:irises", "steps": 15}
    width = load_model(shipped_start())[0].width
    save_model(TransformerNet(width), adapted_dir() / "irises-0123456789abcdef.safetensors", info)
    page = browser.new_page()
    polls = record_polls(page)
    page.goto(url)
    expect(page.locator("#models .tile")).to_have_count(1)
    page.set_input_files("#photo", str(smooth_photo(tmp_path / "photo.png")))
    page.set_input_files("#style", str(stripes(tmp_path / "Stripes.png")))
    expect(page.locator("#style-preview")).to_have_attribute("src", re.compile("^blob:"))
    expect(page.locator("#choice")).to_contain_text("Stripes.png")
    page.click("#start")
    expect(page.locator("#status")).to_have_text("Done", timeout=120_000)
    expect(page.locator("#models .tile")).to_have_count(2)  # the new style is offered, with a thumbnail
    wait_shown(page, "#models img")
    assert not any(app.work.iterdir())  # the uploaded painting is gone once adapted

    polls.clear()
    page.click("#models .tile >> nth=0")
    page.click("#start")
    expect(page.locator("#status")).to_have_text("Done", timeout=60_000)
    page.evaluate("loadModels()")  # as the job's end does; the chosen style stays chosen
    expect(page.locator("#models .tile[aria-pressed=true]")).to_have_count(1)
    sliders = page.locator("#models input[type=range]")
    sliders.nth(0).fill("70")
    sliders.nth(1).fill("30")
    expect(page.locator("#mix-summary")).to_contain_text("70%")
    # The list is drawn again after each job, perhaps after the user has moved a slider: the weights stay.
    page.evaluate("loadModels()")
    expect(page.locator("#mix-summary")).to_contain_text("70%")
    expect(page.locator("#choice")).to_contain_text("a mix of")
    page.click("#start")
    expect(page.locator("#status")).to_have_text("Done", timeout=60_000)
    assert not any(p["status"] == "adapting" for p in polls)  # reuse and mix need no adaptation
    kind, pairs = list(app.queue.jobs.values())[-1].source
    assert kind == "mix" and [round(w, 6) for _, w in pairs] == [0.7, 0.3]
    page.close()


def test_bad_uploads_get_clear_messages_on_the_page(browser, serve, tmp_path):
    url, _ = serve()
    page = browser.new_page()
    page.goto(url)
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("Choose a photo")
    (tmp_path / "notes.png").write_text("not an image")
    page.set_input_files("#photo", str(tmp_path / "notes.png"))
    page.click("#gallery .tile[data-name=irises]")
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("notes.png: not an image")
    (tmp_path / "big.png").write_bytes(os.urandom(LIMIT + 1))
    page.set_input_files("#photo", str(tmp_path / "big.png"))
    expect(page.locator("#error")).to_contain_text("limited to 0.3 MB")
    page.close()


# Requests any server meets, sent as they are.


@pytest.mark.parametrize("length", [b"-5", b"abc", b"1e3"])
def test_a_malformed_content_length_gets_400_and_the_server_lives(serve, length):
    url, _ = serve()
    status, _, _ = raw(url, b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length + b"\r\n\r\n")
    assert status == 400 and alive(url)


def test_a_body_that_stops_arriving_gets_408_and_the_connection_closed(serve):
    url, _ = serve(body_seconds=1.0)
    start = b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    status, answer, seconds = raw(url, start + b"Content-Length: 100000\r\n\r\n--x\r\n")
    assert status == 408 and b"did not arrive" in answer and seconds < 5
    assert alive(url)


def test_slow_clients_do_not_hold_the_server(serve):
    url, _ = serve()
    parts = urlsplit(url)
    stalled = [socket.create_connection((parts.hostname, parts.port)) for _ in range(8)]
    for i, s in enumerate(stalled):  # half a request head, or a head and part of its body
        s.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (b"Content-Length: 500\r\n\r\n--x" if i % 2 else b""))
    start = time.monotonic()
    assert alive(url) and time.monotonic() - start < 2
    for s in stalled:
        s.close()


def test_clients_that_never_finish_their_headers_are_let_go(serve):
    """uvicorn counts open connections against its limit of 200: as many heads that never end had
    every other request answered 503 for as long as they stayed open."""
    url, _ = serve(head_seconds=1.0)
    parts = urlsplit(url)
    stalled = [socket.create_connection((parts.hostname, parts.port)) for _ in range(205)]
    for s in stalled:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(2.0)
    assert alive(url)
    stalled[0].settimeout(5)
    assert stalled[0].recv(10) == b""  # closed by the server
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:  # and a slow second head on a kept connection
        s.sendall(b"GET /api/limits HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = s.recv(65536)
        s.sendall(b"GET /api/limits HTTP/1.1\r\n")
        start = time.monotonic()
        while s.recv(65536):
            pass
    assert first.startswith(b"HTTP/1.1 200") and time.monotonic() - start < 3
    for s in stalled:
        s.close()


def test_requests_from_other_sites_and_other_host_names_are_refused(serve):
    url, app = serve()
    host = urlsplit(url).netloc
    for origin in ("http://evil.example", "null", f"https://{host}"):
        status, answer, _ = raw(url, f"POST /api/jobs HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Length: 0\r\n\r\n".encode())
        assert status == 403 and b"other sites" in answer
    status, _, _ = raw(url, b"GET /api/models HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert status == 400  # DNS rebinding: a foreign name resolving to 127.0.0.1 reads nothing
    assert call(f"{url}/api/jobs", {"builtin": "irises"}, {"Origin": url})[0] == 400  # the page's own origin passes
    status, _, _ = raw(url, f"GET /api/models HTTP/1.1\r\nHost: localhost:{urlsplit(url).port}\r\nConnection: close\r\n\r\n".encode())
    assert status == 200 and not app.queue.jobs and alive(url)


def test_oversized_bodies_are_refused_before_they_are_read(serve):
    url, _ = serve()
    head = b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    status, answer, _ = raw(url, head + b"Content-Length: 999999999999\r\n\r\n")  # declared: no byte of it is read
    assert status == 413 and b"over the limit" in answer
    part = b'--x\r\nContent-Disposition: form-data; name="photo"; filename="a.png"\r\n\r\n'
    chunk = 0x40000
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(part):x}\r\n".encode() + part + b"\r\n"
    chunked += (f"{chunk:x}\r\n".encode() + b"0" * chunk + b"\r\n") * 5 + b"0\r\n\r\n"  # undeclared: counted
    status, answer, _ = raw(url, chunked)
    assert status == 413 and b"over the limit" in answer
    status, reply = call(f"{url}/api/jobs", {"photo": ("a.png", b"0" * (LIMIT + 1000)), "builtin": "irises"})
    assert status == 413 and reply["error"] == "a.png: uploads are limited to 0.3 MB"
    assert alive(url)


def test_bad_forms_get_400_with_one_line(serve):
    url, app = serve()
    cases = [
        ({"photo": ("notes.png", b"not an image"), "builtin": "irises"}, "notes.png: not an image file"),
        ({"builtin": "irises"}, "choose a photo"),
        ({"photo": ("p.png", png())}, "choose a painting"),
        ({"photo": ("p.png", png()), "builtin": "nope"}, "no built-in painting named 'nope'"),
        ({"photo": ("p.png", png()), "model": "../../etc/passwd"}, "no adapted style named"),
        ({"photo": ("p.png", png()), "mix": "a.safetensors:0.5,b.safetensors:0.2"}, "sum to 1"),
        ({"photo": ("p.png", png()), "style": ("s.png", b"\x89PNG\r\n\x1a\n")}, "s.png:"),
        ({"photo": ("p.png", png()), "style": ("thin.png", png((200, 5)))}, "thin.png: a painting of 200x5 px is too thin"),
        # a name longer than the file system takes (was a 500, and an empty folder left behind)
        ({"photo": ("p.png", png()), "style": ("a" * 300 + ".png", png((200, 5)))}, "too thin"),
    ]
    for fields, message in cases:
        status, reply = call(f"{url}/api/jobs", fields)
        assert status == 400 and message in reply["error"] and "\n" not in reply["error"], (fields.keys(), reply)
    bad = urllib.request.Request(f"{url}/api/jobs", data=b"photo=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad)
    assert info.value.code == 415
    status, _, _ = raw(url, b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                            b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 9\r\n\r\ngarbage!!")
    assert status == 400
    assert call(f"{url}/api/jobs/nope/result.png")[0] == 404 and call(f"{url}/nope")[0] == 404
    assert not app.queue.jobs and not any(app.work.iterdir()) and alive(url)


def test_the_queue_is_bounded_and_uploads_go_after_use(serve, monkeypatch):
    release, adapted_on = threading.Event(), []

    def slow_network(**kwargs) -> TransformerNet:  # stands in for a long adaptation
        adapted_on.append(kwargs["photos"])
        release.wait(30)
        return TransformerNet().eval()

    monkeypatch.setattr("metastyle.server.network_for", slow_network)
    url, app = serve(waiting=1)
    form = {"photo": ("p.png", png()), "style": ("painting.png", png(seed=1))}
    first, second = (call(f"{url}/api/jobs", form) for _ in range(2))
    assert first[0] == second[0] == 202
    status, reply = call(f"{url}/api/jobs", form)
    assert status == 429 and "busy" in reply["error"]  # refused at once, not queued for hours
    assert call(f"{url}/api/jobs/{second[1]['id']}")[1]["ahead"] == 1
    assert len(list(app.work.iterdir())) == 2  # the two queued paintings, not the refused one
    release.set()
    assert wait_done(url, second[1]["id"])["status"] == "done"
    assert not any(app.work.iterdir())
    status, image = call(f"{url}/api/jobs/{second[1]['id']}/result.png?strength=0.5")
    assert status == 200 and Image.open(io.BytesIO(image)).size == (60, 40)
    assert [p.shape for [p] in adapted_on] == [(1, 3, 40, 60)] * 2  # each painting adapted on its job's photo
    assert call(f"{url}/api/jobs/{second[1]['id']}/result.png?strength=2")[0] == 400
    assert call(f"{url}/api/jobs", form)[0] == 202


def test_sigterm_removes_the_uploads(tmp_path, cache):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, TMPDIR=str(temp), XDG_CACHE_HOME=str(cache), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "metastyle", "serve", "--port", "0", "--steps", "500", "--size", "32",
               "--style-size", "32", "--batch", "1", "--device", "cpu"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert "serving on http://127.0.0.1:" in line, line + server.stderr.read()
        url = line.split()[4].rstrip("/")
        status, reply = call(f"{url}/api/jobs", {"photo": ("p.png", png()), "style": ("painting.png", png(seed=1))})
        assert status == 202
        while call(f"{url}/api/jobs/{reply['id']}")[1]["step"] < 1:  # adapting, its painting on disk
            time.sleep(0.1)
        assert [p.name for p in temp.rglob("*.png")] == ["painting.png"]
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    finally:
        server.kill()
    assert server.returncode in (0, -signal.SIGTERM) and "Traceback" not in server.stderr.read()
    assert not list(temp.glob("metastyle-serve-*")) and not list(temp.rglob("*.png"))


def test_a_taken_port_is_one_clear_error(serve):
    url, _ = serve()
    app = App(config=TINY, device="cpu")
    with pytest.raises(MetastyleError, match=f"cannot listen on 127.0.0.1:{urlsplit(url).port}"):
        make_server(app, "127.0.0.1", urlsplit(url).port)
    assert not app.work.exists()
