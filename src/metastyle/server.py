"""`metastyle serve`: a local web page to adapt to a painting and stylise a photo.

Standard library only (http.server), one page with no external resources, loopback by default:
nothing leaves the machine. Jobs run one at a time in a worker thread; the page polls their
progress. Adapted models land in the same cache as `stylize --style` and are offered for reuse.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import re
import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .adapt import AdaptConfig
from .controls import check_strength, parse_mix
from .data import builtin_paintings, resolve_image
from .errors import MetastyleError
from .images import open_image, save_image
from .models import read_info
from .pipeline import adapted_dir, network_for, stylize

MAX_UPLOAD_BYTES = 20 * 2**20


@dataclass
class Job:
    id: str
    status: str = "queued"  # queued, adapting, stylizing, done, error
    step: int = 0
    steps: int = 0
    error: str = ""
    result: Path | None = None


@dataclass
class App:
    config: AdaptConfig = field(default_factory=AdaptConfig)
    device: str = "auto"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="metastyle-serve-")))
    jobs: dict[str, Job] = field(default_factory=dict)
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))

    def models(self) -> list[dict[str, Any]]:
        folder = adapted_dir()
        found = []
        for path in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
            try:
                info = read_info(path)
            except MetastyleError:
                continue
            found.append({"id": path.name, "style": info.get("style", "?"), "steps": info.get("steps")})
        return found

    def _model_path(self, model_id: str) -> Path:
        path = adapted_dir() / model_id
        if not re.fullmatch(r"[\w.-]+\.safetensors", model_id) or not path.is_file():
            raise MetastyleError(f"no cached model named {model_id!r}")
        return path

    def _save_upload(self, data: bytes, name: str) -> Path:
        """Keep an uploaded image under its content hash, after checking that it is one."""
        suffix = Path(name).suffix.lower()[:8] if re.fullmatch(r"[\w .()-]*", name or "") else ""
        path = self.work / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix or '.img'}"
        path.write_bytes(data)
        try:
            open_image(path)
        except MetastyleError as error:
            path.unlink()
            raise MetastyleError(f"{name or 'the upload'}: {str(error).split(': ', 1)[-1]}") from None
        return path

    def submit(self, fields: dict[str, tuple[bytes, str]]) -> Job:
        """Validate the form now (clear errors), then queue the work."""
        if "photo" not in fields or not fields["photo"][0]:
            raise MetastyleError("choose a photo to stylise")
        photo = self._save_upload(*fields["photo"])
        text = {k: v[0].decode("utf-8", "replace").strip() for k, v in fields.items() if k not in ("photo", "style")}
        try:
            strength = check_strength(float(text.get("strength") or 1.0))
        except ValueError:
            raise MetastyleError("strength must be a number between 0 and 1") from None
        preserve = text.get("preserve_color") in ("on", "true", "1")
        if fields.get("style", (b"", ""))[0]:
            source: tuple[str, Any] = ("style", self._save_upload(*fields["style"]))
        elif text.get("mix"):
            pairs = parse_mix(text["mix"])
            source = ("mix", [(self._model_path(name), weight) for name, weight in pairs])
        elif text.get("model"):
            source = ("model", self._model_path(text["model"]))
        elif text.get("builtin"):
            source = ("style", resolve_image(f"builtin:{text['builtin']}"))
        else:
            raise MetastyleError("choose a painting, upload one, or pick a cached model")
        job = Job(uuid.uuid4().hex[:12], steps=self.config.steps if source[0] == "style" else 0)
        self.jobs[job.id] = job
        self.worker.submit(self._run, job, photo, source, strength, preserve)
        return job

    def _run(self, job: Job, photo: Path, source: tuple[str, Any], strength: float, preserve: bool) -> None:
        def on_step(step: int, steps: int) -> None:
            job.step, job.steps = step, steps

        try:
            kind, value = source
            job.status = "adapting" if kind == "style" else "stylizing"
            network = network_for(**{kind: value}, config=self.config, device=self.device, on_step=on_step)
            job.status = "stylizing"
            result = stylize(photo, model=network, strength=strength, preserve_color=preserve, device=self.device)
            job.result = save_image(result, self.work / f"{job.id}.png")
            job.status = "done"
        except Exception as error:  # reported to the page, not lost in a thread
            job.status, job.error = "error", str(error) if isinstance(error, MetastyleError) else f"internal error: {error!r}"


PAGE = Path(__file__).with_name("web") / "index.html"


class Handler(BaseHTTPRequestHandler):
    app: App  # set on the subclass that `make_server` builds

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is the user's
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
        elif path == "/api/builtins":
            self._json(HTTPStatus.OK, [{"name": b.name, "description": b.description} for b in builtin_paintings()])
        elif path == "/api/limits":
            self._json(HTTPStatus.OK, {"max_upload_bytes": self.app.max_upload_bytes})
        elif path == "/api/models":
            self._json(HTTPStatus.OK, self.app.models())
        elif m := re.fullmatch(r"/api/jobs/(\w+)", path):
            job = self.app.jobs.get(m.group(1))
            if job is None:
                return self._json(HTTPStatus.NOT_FOUND, {"error": "no such job"})
            self._json(HTTPStatus.OK, {"status": job.status, "step": job.step, "steps": job.steps, "error": job.error})
        elif m := re.fullmatch(r"/api/jobs/(\w+)/result\.png", path):
            job = self.app.jobs.get(m.group(1))
            if job is None or job.result is None:
                return self._json(HTTPStatus.NOT_FOUND, {"error": "no result yet"})
            extra = {"Content-Disposition": f'attachment; filename="metastyle-{job.id}.png"'} if "download" in self.path else {}
            self._send(HTTPStatus.OK, job.result.read_bytes(), "image/png", extra)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/api/jobs":
            return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        limit = self.app.max_upload_bytes
        if length > limit:
            if length <= 8 * limit:  # read it away, so that the browser sees the answer
                for _ in range(0, length, 2**20):
                    self.rfile.read(min(2**20, length))
                    length -= 2**20
            self.close_connection = True
            return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"uploads are limited to {limit / 2**20:.1f} MB"})
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "send the form as multipart/form-data"})
        body = self.rfile.read(length)
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields = {
            part.get_param("name", header="content-disposition"): (part.get_payload(decode=True) or b"", part.get_filename() or "")
            for part in message.iter_parts()
        }
        try:
            job = self.app.submit(fields)
        except MetastyleError as error:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
        self._json(HTTPStatus.ACCEPTED, {"id": job.id})


def make_server(app: App, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    handler = type("AppHandler", (Handler,), {"app": app})
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        raise MetastyleError(f"cannot listen on {host}:{port} ({error.strerror or error})") from None


def serve_forever(app: App, host: str, port: int) -> None:
    server = make_server(app, host, port)
    print(f"metastyle is serving on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.worker.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(app.work, ignore_errors=True)  # uploads and results live only as long as the server
