"""Resumable uploads for an owner's response: the tus 1.0.0 protocol (core, creation, termination).

    OPTIONS /respond/<token>/files              what this server speaks (Tus-Version, Tus-Extension, Tus-Max-Size)
    POST    /respond/<token>/files              create: Upload-Length, Upload-Metadata (filename, caption) -> 201 Location
    HEAD    /respond/<token>/files/<key>        Upload-Offset and Upload-Length so far
    PATCH   /respond/<token>/files/<key>        bytes (application/offset+octet-stream) at Upload-Offset
    DELETE  /respond/<token>/files/<key>        the owner takes the file back (before submitting)
    GET     /respond/<token>/files.json         every file of this answer, for the owner's page to poll

(tus-js-client's ``overridePatchMethod``: POST with ``X-HTTP-Method-Override: PATCH`` or ``DELETE``.)

The random token in the path is what authorises the request (as the /manage/<token> link does):
there is no login and no session, so there is no CSRF token to check either; another site's page
cannot send these requests, as they carry tus headers that need a CORS preflight this server never
grants. The rules are in ``dashboard.footage.uploads``; this module reads headers and streams the
body (1 MiB at a time, never the whole file) and answers every refusal with its tus status and
``{"error": message}`` (JSON), never a 500.
"""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, Response, jsonify, request, url_for

from dashboard.footage.storage import CHUNK_BYTES
from dashboard.footage.uploads import UploadError, Uploads
from dashboard.runtime_access import runtime

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination"
OCTETS = "application/offset+octet-stream"
MAX_METADATA = 4096

blueprint = Blueprint("tus", __name__)


def _uploads() -> Uploads:
    rt = runtime()
    return Uploads.from_settings(rt.sessions, rt.settings)


def _answer(status: int, message: str | None = None, **headers) -> Response:
    if message is None:
        response = Response(status=status)
    else:
        response = jsonify(error=message)
        response.status_code = status
    response.headers["Tus-Resumable"] = TUS_VERSION
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = str(value)
    return response


def _refused(exc: UploadError) -> Response:
    return _answer(exc.status, exc.message)


class _Bad(Exception):
    def __init__(self, status: int, message: str, **headers) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def _check_version() -> None:
    sent = request.headers.get("Tus-Resumable")
    if sent != TUS_VERSION:
        raise _Bad(
            412,
            f"This server speaks tus {TUS_VERSION}; the request said {sent or 'nothing'} "
            "(Tus-Resumable). Reload the page and try again.",
            Tus_Version=TUS_VERSION,
        )


def _int_header(name: str, what: str) -> int:
    raw = request.headers.get(name)
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise _Bad(400, f"The request did not give {what} as a whole number of bytes ({name}).")
    return int(raw)


def metadata(raw: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated ``key base64(value)`` pairs (the value may be left out).

    >>> metadata("filename ZnJvbnQubXA0,caption ,is_confidential")
    {'filename': 'front.mp4', 'caption': '', 'is_confidential': ''}
    """
    found: dict[str, str] = {}
    if not raw:
        return found
    if len(raw) > MAX_METADATA:
        raise _Bad(400, "The file's details (Upload-Metadata) are too long.")
    for pair in raw.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or not key.isascii():
            raise _Bad(400, "The file's details (Upload-Metadata) are not in the tus format.")
        try:
            value = base64.b64decode(parts[1], validate=True).decode("utf-8") if len(parts) == 2 else ""
        except (binascii.Error, ValueError):
            raise _Bad(400, f"The file's {key} (Upload-Metadata) is not base64-encoded UTF-8.") from None
        found[key] = value
    return found


def _body():
    """The request body in chunks of up to 1 MiB, read into one reused buffer (the consumer writes
    and hashes each chunk before asking for the next)."""
    stream = request.stream
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    while True:
        filled = 0
        while filled < CHUNK_BYTES:
            n = stream.readinto(view[filled:])
            if not n:
                break
            filled += n
        if filled == 0:
            return
        yield view[:filled]
        if filled < CHUNK_BYTES:
            return


def _location(token: str, key: str) -> str:
    return url_for("tus.upload", token=token, key=key)


# --------------------------------------------------------------------------- routes


@blueprint.route("/respond/<token>/files", methods=["OPTIONS"])
def options(token: str):
    settings = runtime().settings
    return _answer(204, Tus_Version=TUS_VERSION, Tus_Extension=EXTENSIONS, Tus_Max_Size=settings.upload_max_file_bytes)


@blueprint.post("/respond/<token>/files")
def create(token: str):
    try:
        _check_version()
        if request.headers.get("Upload-Defer-Length"):
            raise _Bad(400, "The file's size must be given when the upload starts (Upload-Length).")
        size = _int_header("Upload-Length", "the file's size")
        meta = metadata(request.headers.get("Upload-Metadata"))
        if request.content_length:
            raise _Bad(400, "Send the file's bytes after creating the upload (creation-with-upload is not supported).")
        made = _uploads().create(
            token, size=size, filename=meta.get("filename") or meta.get("name"), caption=meta.get("caption")
        )
    except _Bad as exc:
        return _answer(exc.status, exc.message, **exc.headers)
    except UploadError as exc:
        return _refused(exc)
    return _answer(201, Location=_location(token, made.key), Upload_Offset=0)


@blueprint.route("/respond/<token>/files/<key>", methods=["HEAD", "PATCH", "DELETE", "POST"])
def upload(token: str, key: str):
    method = request.method
    if method == "POST":
        method = (request.headers.get("X-HTTP-Method-Override") or "").upper()
        if method not in ("PATCH", "DELETE"):
            return _answer(405, "Use PATCH to send bytes, HEAD to ask how far an upload got, DELETE to remove it.")
    try:
        _check_version()
        if method == "HEAD":
            return _head(token, key)
        if method == "DELETE":
            _uploads().remove(token, key)
            return _answer(204)
        return _patch(token, key)
    except _Bad as exc:
        return _answer(exc.status, exc.message, **exc.headers)
    except UploadError as exc:
        return _refused(exc)


def _head(token: str, key: str) -> Response:
    up = _uploads().status(token, key)
    if up.state == "refused":
        return _answer(410, up.refusal or "This file was not accepted.")
    if up.state == "removed":
        return _answer(404, "This file was removed from your answer.")
    response = _answer(200, Upload_Offset=up.received, Upload_Length=up.size)
    response.headers["Cache-Control"] = "no-store"
    return response


def _patch(token: str, key: str) -> Response:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != OCTETS:
        raise _Bad(415, f"File bytes must be sent as {OCTETS} (Content-Type).")
    offset = _int_header("Upload-Offset", "where these bytes go")
    length = request.content_length
    # This route streams bodies far larger than the app's limit for forms and JSON; the upload's
    # own size bounds it (checked against the declared length before anything is read).
    request.max_content_length = runtime().settings.upload_max_file_bytes
    up = _uploads().append(token, key, offset, _body(), length=length)
    return _answer(204, Upload_Offset=up.received)


@blueprint.get("/respond/<token>/files.json")
def listing(token: str):
    try:
        files = _uploads().listing(token)
    except UploadError as exc:
        return _refused(exc)
    settings = runtime().settings
    return jsonify(
        files=[f.as_json() for f in files],
        limits={
            "max_files": settings.upload_max_files,
            "max_file_bytes": settings.upload_max_file_bytes,
            "max_total_bytes": settings.upload_max_total_bytes,
        },
    )


def openapi_paths() -> dict:
    """These endpoints for the API's OpenAPI document (the same words as the README's table).

    They speak tus 1.0.0, not JSON: requests are described by their headers; every refusal is
    ``{"error": message}``. (A tus client such as tus-js-client or tuspy is the way to call them.)"""
    error = {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}}
    token = {
        "name": "token",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
        "description": "The owner's private response link's token",
    }
    key = {
        "name": "key",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The upload's id (the last part of the Location the POST answered)",
    }
    resumable = {"name": "Tus-Resumable", "in": "header", "required": True, "schema": {"const": "1.0.0"}}

    def header(name: str, what: str) -> dict:
        return {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": what}

    def refusals(*codes: int) -> dict:
        words = {
            400: "A header is missing or malformed",
            404: "No such link or upload (or not this link's)",
            409: "Upload-Offset is not the offset the server has (nothing written; ask with HEAD)",
            410: "The link has expired or was used to answer; or the upload was refused or removed",
            412: "Tus-Resumable is not 1.0.0",
            413: "Over a size limit (file, number of files, or in all)",
            415: "Content-Type is not application/offset+octet-stream",
            422: "The completed file is not footage (a program, a cut-short video, a zip bomb...): why",
            423: "The upload is busy with another request; try again",
            429: "Too many uploads started",
            507: "No room for the footage now; nothing received so far is lost",
        }
        return {str(c): {"description": words[c], "content": error} for c in codes}

    tag = ["Owner's uploads (tus 1.0.0)"]
    return {
        "/respond/{token}/files": {
            "options": {
                "tags": tag,
                "summary": "What this tus server speaks",
                "security": [],
                "parameters": [token],
                "responses": {"204": {"description": "Tus-Version, Tus-Extension, Tus-Max-Size headers"}},
            },
            "post": {
                "tags": tag,
                "summary": "Start uploading a file (tus creation)",
                "security": [],
                "parameters": [
                    token,
                    resumable,
                    header("Upload-Length", "The file's size in bytes (over 0)"),
                    {**header("Upload-Metadata", "filename and caption, base64 (tus)"), "required": False},
                ],
                "responses": {
                    "201": {"description": "Created: Location is the upload's URL; Upload-Offset 0"},
                    **refusals(400, 404, 410, 412, 413, 429, 507),
                },
            },
        },
        "/respond/{token}/files/{key}": {
            "head": {
                "tags": tag,
                "summary": "How much of the upload the server has",
                "security": [],
                "parameters": [token, key, resumable],
                "responses": {
                    "200": {"description": "Upload-Offset and Upload-Length headers"},
                    "404": {"description": "No such upload"},
                    "410": {"description": "Gone"},
                },
            },
            "patch": {
                "tags": tag,
                "summary": "Send bytes from Upload-Offset (the last ones are probed and stored)",
                "security": [],
                "parameters": [token, key, resumable, header("Upload-Offset", "Where these bytes start")],
                "requestBody": {
                    "required": True,
                    "content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "204": {"description": "Upload-Offset: the new offset"},
                    **refusals(400, 404, 409, 410, 412, 413, 415, 422, 423, 507),
                },
            },
            "delete": {
                "tags": tag,
                "summary": "Take the file back before answering (tus termination)",
                "security": [],
                "parameters": [token, key, resumable],
                "responses": {"204": {"description": "Removed"}, **refusals(404, 410, 412, 423, 429)},
            },
        },
        "/respond/{token}/files.json": {
            "get": {
                "tags": tag,
                "summary": "This answer's files: name, caption, size, received, state, SHA-256, refusal",
                "security": [],
                "parameters": [token],
                "responses": {
                    "200": {
                        "description": "files and limits",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **refusals(404, 410),
                },
            },
        },
    }
