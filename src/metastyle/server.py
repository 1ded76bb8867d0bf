"""`metastyle serve`: a local web page to adapt to a painting and stylise a photo.

Starlette on uvicorn (the `web` extra). One self-contained page (web/index.html) whose Content
Security Policy lets it load nothing from outside. Loopback by default; other Host names and other
sites' pages are refused (webguard.py), request bodies are bounded in size and time, and the work
runs in a bounded queue (jobs.py). Uploads live in a temporary folder only until their job has
used them, and the folder goes when the server stops, SIGTERM included. Adapted models land in
the cache that `stylize --style` uses and are offered for reuse and mixing.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import logging
import re
import shutil
import socket
import tempfile
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .adapt import AdaptConfig
from .controls import parse_mix
from .data import IMAGE_SUFFIXES, Builtin, builtin_paintings, builtin_photos, slugify
from .errors import MetastyleError
from .images import open_image, pil_to_tensor, resize_longest, tensor_to_pil
from .inference import Stylizer
from .jobs import Job, JobQueue, QueueFull, Source
from .models import load_model, read_info
from .pipeline import adapted_dir, network_for, render
from .transformer import TransformerNet
from .vgg import MIN_SIDE
from .webguard import BoundedBody, SameOrigin, head_deadline

MAX_UPLOAD_BYTES = 20 * 2**20
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")  # Host names as the Host header spells them
WILDCARDS = ("", "0.0.0.0", "::")
THUMB_PX = 256
PAGE = Path(__file__).with_name("web") / "index.html"


def page_headers(html: str) -> dict[str, str]:
    """Headers that keep the page to itself: only its own inline script (by hash) runs, it fetches
    and shows only this server's URLs (and the user's own files), and no other site may frame it."""
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    policy = (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src 'self' blob:; "
              "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store"}


def served_hosts(host: str, extra: list[str] | None = None) -> list[str]:
    """The Host names the server answers to: loopback, the address it listens on, and any named."""
    return [*LOOPBACK, *([] if host in WILDCARDS else [f"[{host}]" if ":" in host else host]), *(extra or [])]


def jpeg(image: Image.Image, px: int = THUMB_PX) -> bytes:
    image = image.copy()
    image.thumbnail((px, px))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@functools.lru_cache(maxsize=1024)
def image_thumbnail(path: Path, stamp: int) -> bytes:
    """A painting's thumbnail (`stamp`: the file's mtime, so that a changed file is not served stale)."""
    return jpeg(open_image(path))


@functools.lru_cache(maxsize=256)
def model_thumbnail(path: Path, stamp: int) -> bytes:
    """What an adapted model does: its painting when it is a built-in, else a sample photo in its style."""
    style = str(read_info(path).get("style", ""))
    painting = next((b for b in builtin_paintings() if f"builtin:{b.name}" == style), None)
    if painting is not None:
        return image_thumbnail(painting.path, painting.path.stat().st_mtime_ns)
    sample = next((b for b in builtin_photos() if b.name == "chelsea"), builtin_photos()[0])
    with torch.inference_mode():
        swatch = render(Stylizer(load_model(path)[0]), pil_to_tensor(resize_longest(open_image(sample.path), 160)))
    return jpeg(tensor_to_pil(swatch))


@dataclass
class App:
    """The server's state: settings, the job queue and the folder its uploads pass through."""

    config: AdaptConfig = field(default_factory=AdaptConfig)
    device: str = "auto"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    waiting: int = 2  # jobs that may wait behind the running one; more are refused
    body_seconds: float = 60.0  # a request body must arrive within this time
    head_seconds: float = 10.0  # and its line and headers within this time of the connection or the last answer
    max_side: int = 2048  # larger photos are scaled down: memory and time stay bounded
    hosts: list[str] = field(default_factory=lambda: list(LOOPBACK))
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="metastyle-serve-")))

    def __post_init__(self) -> None:
        self.queue = JobQueue(self._network, self.waiting)
        # Removes the folder on close(), or at the latest when Python exits.
        self._remove_work = weakref.finalize(self, shutil.rmtree, self.work, ignore_errors=True)

    def _network(self, source: Source, photo: torch.Tensor, on_progress: Callable[[int, int], None]) -> TransformerNet:
        kind, value = source
        return network_for(**{kind: value}, config=self.config, device=self.device, on_progress=on_progress,
                           photos=[photo] if kind == "style" else None)

    def close(self) -> None:
        """Cancel the work and remove every upload: called however the server stops."""
        self.queue.stop()
        self._remove_work()

    def models(self) -> list[dict[str, Any]]:
        folder = adapted_dir()
        found = []
        for path in sorted(folder.glob("*.safetensors"), key=lambda p: p.stat().st_mtime):
            try:
                info = read_info(path)
            except MetastyleError:
                continue
            found.append({"id": path.name, "style": info.get("style", "?"), "steps": info.get("steps")})
        return found

    def model_path(self, model_id: str) -> Path:
        path = adapted_dir() / model_id
        if not re.fullmatch(r"[\w.-]+\.safetensors", model_id) or not path.is_file():
            raise MetastyleError(f"no adapted style named {model_id!r}")
        return path

    def painting(self, name: str) -> Builtin:
        found = next((b for b in builtin_paintings() if b.name == name), None)
        if found is None:
            raise MetastyleError(f"no built-in painting named {name!r}")
        return found

    def _save(self, upload: UploadFile, what: str) -> tuple[Path, Image.Image]:
        """An upload in a folder of its own, checked to be an image (returned, decoded), named after
        the original (so that `cached_adaptation` names the adapted model after it and finds it again)."""
        name = upload.filename or what
        if (upload.size or 0) > self.max_upload_bytes:
            raise HTTPException(413, f"{name}: uploads are limited to {self.max_upload_bytes / 2**20:.1f} MB")
        suffix = Path(name).suffix.lower()
        path = self.work / uuid.uuid4().hex / f"{slugify(Path(name).stem)}{suffix if suffix in IMAGE_SUFFIXES else '.img'}"
        path.parent.mkdir()
        upload.file.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        try:
            image = open_image(path)
        except MetastyleError as error:
            shutil.rmtree(path.parent)
            raise MetastyleError(f"{name}: {str(error).split(': ', 1)[-1]}") from None
        return path, image

    def _photo(self, upload: UploadFile) -> torch.Tensor:
        path, image = self._save(upload, "photo")
        shutil.rmtree(path.parent)  # kept in memory from here on
        return pil_to_tensor(image if max(image.size) <= self.max_side else resize_longest(image, self.max_side))

    def _source(self, form: FormData) -> tuple[Source, Path | None]:
        """What the form asks to stylise with, and the folder of an uploaded painting if any."""
        style = form.get("style")
        if isinstance(style, UploadFile) and style.size:
            path, image = self._save(style, "painting")
            scale = self.config.style_size / max(image.size)
            if round(min(image.size) * scale) < MIN_SIDE:  # refused now, not by the job
                shutil.rmtree(path.parent)
                raise MetastyleError(f"{style.filename}: a painting of {image.width}x{image.height} px is too thin: "
                                     f"at {self.config.style_size} px its shorter side needs at least {MIN_SIDE} px")
            return ("style", path), path.parent
        text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        if text.get("mix"):
            return ("mix", [(self.model_path(name), weight) for name, weight in parse_mix(text["mix"])]), None
        if text.get("model"):
            return ("model", self.model_path(text["model"])), None
        if text.get("builtin"):
            return ("style", f"builtin:{self.painting(text['builtin']).name}"), None
        raise MetastyleError("choose a painting, upload one, or pick an adapted style")

    def submit(self, form: FormData) -> Job:
        """Check the form now (clear errors), then queue the work."""
        photo = form.get("photo")
        if not isinstance(photo, UploadFile) or not photo.size:
            raise MetastyleError("choose a photo to stylise")
        tensor = self._photo(photo)
        source, scratch = self._source(form)
        return self.queue.submit(Job(tensor, source, scratch))


def _image_response(data: bytes, media_type: str, headers: dict[str, str] | None = None) -> Response:
    return Response(data, media_type=media_type, headers={"Cache-Control": "max-age=3600", **(headers or {})})


def _job(app: App, request: Request) -> Job:
    job = app.queue.jobs.get(request.path_params["id"])
    if job is None:
        raise HTTPException(404, "no such job (results are kept for the last few jobs only)")
    return job


def routes(app: App) -> list[Route]:
    """The page and its JSON API; errors are {"error": one line}."""
    html = PAGE.read_text(encoding="utf-8")
    headers = page_headers(html)

    async def page(request: Request) -> Response:
        return Response(html, media_type="text/html", headers=headers)

    def paintings(request: Request) -> Response:
        return JSONResponse([{"name": b.name, "title": b.description.removesuffix(" (The Met, public domain)")}
                             for b in builtin_paintings()])

    def painting_thumb(request: Request) -> Response:
        path = app.painting(request.path_params["name"]).path
        return _image_response(image_thumbnail(path, path.stat().st_mtime_ns), "image/jpeg")

    def models(request: Request) -> Response:
        return JSONResponse(app.models())

    def model_thumb(request: Request) -> Response:
        path = app.model_path(request.path_params["id"])
        return _image_response(model_thumbnail(path, path.stat().st_mtime_ns), "image/jpeg")

    async def limits(request: Request) -> Response:
        return JSONResponse({"max_upload_bytes": app.max_upload_bytes})

    async def submit(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise HTTPException(415, "send the form as multipart/form-data")
        app.queue.check_room()  # a full queue refuses before the uploads are read
        async with request.form(max_files=2, max_fields=8, max_part_size=2**14) as form:
            job = await run_in_threadpool(app.submit, form)
        return JSONResponse({"id": job.id}, status_code=202)

    async def progress(request: Request) -> Response:
        job = _job(app, request)
        return JSONResponse({"status": job.status, "step": job.step, "steps": job.steps, "eta": job.eta(),
                             "ahead": app.queue.ahead(job), "error": job.error})

    def result(request: Request) -> Response:
        job, query = _job(app, request), request.query_params
        try:
            strength = float(query.get("strength", "1"))
        except ValueError:
            raise MetastyleError("strength must be a number between 0 and 1") from None
        out = io.BytesIO()
        job.image(strength, query.get("color") == "1").save(out, "PNG")
        download = {"Content-Disposition": f'attachment; filename="metastyle-{job.id}.png"'} if "download" in query else {}
        return Response(out.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store", **download})

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    return [Route("/", page), Route("/favicon.ico", no_icon), Route("/api/limits", limits),
            Route("/api/paintings", paintings), Route("/api/paintings/{name}.jpg", painting_thumb),
            Route("/api/models", models), Route("/api/models/{id}.jpg", model_thumb),
            Route("/api/jobs", submit, methods=["POST"]), Route("/api/jobs/{id}", progress),
            Route("/api/jobs/{id}/result.png", result)]


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, status_code=error.status_code, headers=error.headers)


async def _user_error(request: Request, error: Exception) -> Response:
    """A bad form or a full queue: the page shows the one line."""
    if isinstance(error, QueueFull):
        return JSONResponse({"error": str(error)}, status_code=429, headers={"Retry-After": "60"})
    return JSONResponse({"error": str(error)}, status_code=400)


async def _gone(request: Request, error: Exception) -> Response:
    """The client left mid-upload: nobody to answer, nothing to log."""
    return Response(status_code=400)


def make_asgi(app: App) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            app.close()  # on any stop that lets Python run: Ctrl-C, SIGTERM, an error

    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=app.hosts, www_redirect=False),
                  Middleware(SameOrigin),
                  Middleware(BoundedBody, max_bytes=2 * app.max_upload_bytes + 2**16, seconds=app.body_seconds)]
    handlers = {HTTPException: _http_error, MetastyleError: _user_error, ClientDisconnect: _gone}
    return Starlette(routes=routes(app), middleware=middleware, lifespan=lifespan, exception_handlers=handlers)


class Server(uvicorn.Server):
    """uvicorn on a socket bound in advance: a clear error when the port is taken, and port 0 works."""

    def __init__(self, app: App, sock: socket.socket) -> None:
        super().__init__(uvicorn.Config(
            make_asgi(app), http=head_deadline(app.head_seconds), lifespan="on", log_level="warning", access_log=False, server_header=False,
            proxy_headers=False, timeout_keep_alive=5, timeout_graceful_shutdown=3, limit_concurrency=200,
            h11_max_incomplete_event_size=16 * 1024))
        self.sock = sock
        logging.getLogger("python_multipart").setLevel(logging.ERROR)  # a malformed upload is answered 400, not logged

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def serve_forever(self) -> None:
        self.run(sockets=[self.sock])


def make_server(app: App, host: str = "127.0.0.1", port: int = 8000) -> Server:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except (OSError, OverflowError) as error:  # OverflowError: a port outside 0-65535
        sock.close()
        app.close()
        raise MetastyleError(f"cannot listen on {host}:{port} ({getattr(error, 'strerror', None) or error})") from None
    return Server(app, sock)


def serve_forever(app: App, host: str, port: int) -> None:
    server = make_server(app, host, port)
    print(f"metastyle is serving on {server.url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        app.close()
