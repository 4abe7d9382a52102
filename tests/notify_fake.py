"""A local stand-in for GOV.UK Notify's API (the parts the register uses), for tests.

It speaks the documented HTTP API (https://docs.notifications.service.gov.uk/rest-api.html):
``POST /v2/notifications/sms`` (201 with the notification's JSON) and ``GET /v2/notifications``
(filtered by ``reference`` and ``template_type``). Every request must carry the JWT bearer token the
official client makes: HS256, signed with the secret half of the API key, ``iss`` the service id,
``iat`` within 30 seconds (403 otherwise, as Notify answers). ``fail_next`` makes the next POSTs
answer with the given statuses (500, 429, 400 ...) instead.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"registry_test-{SERVICE_ID}-{SECRET}"


class FakeNotify:
    def __init__(self, service_id: str = SERVICE_ID, secret: str = SECRET) -> None:
        self.service_id, self.secret = service_id, secret
        self.sent: list[dict] = []  # the accepted notifications' request bodies (plus id, created_at)
        self.refused: list[tuple[int, dict]] = []
        self.fail_next: list[int] = []
        self.claims: list[dict] = []  # the decoded JWTs
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Bearer "):
                    self._answer(
                        401,
                        {
                            "status_code": 401,
                            "errors": [
                                {"error": "AuthError", "message": "Unauthorized: authentication token must be provided"}
                            ],
                        },
                    )
                    return False
                try:
                    claims = jwt.decode(
                        header[7:],
                        fake.secret,
                        algorithms=["HS256"],
                        options={"require": ["iss", "iat"], "verify_iat": True},
                    )
                    if claims["iss"] != fake.service_id:
                        raise jwt.InvalidIssuerError("iss")
                    if abs(claims["iat"] - dt.datetime.now(dt.UTC).timestamp()) > 30:
                        raise jwt.InvalidIssuedAtError("iat")
                except jwt.PyJWTError as exc:
                    self._answer(
                        403,
                        {
                            "status_code": 403,
                            "errors": [{"error": "AuthError", "message": f"Invalid token: {type(exc).__name__}"}],
                        },
                    )
                    return False
                fake.claims.append(claims)
                return True

            def do_POST(self):
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if urlsplit(self.path).path != "/v2/notifications/sms":
                    return self._answer(404, {"status_code": 404, "errors": [{"error": "NotFound"}]})
                with fake._lock:
                    status = fake.fail_next.pop(0) if fake.fail_next else None
                if status is not None:
                    fake.refused.append((status, body))
                    kinds = {429: "RateLimitError", 400: "BadRequestError"}
                    return self._answer(
                        status,
                        {
                            "status_code": status,
                            "errors": [
                                {
                                    "error": kinds.get(status, "Exception"),
                                    "message": f"Fake Notify told to answer {status}",
                                }
                            ],
                        },
                    )
                if "phone_number" not in body or "template_id" not in body:
                    return self._answer(
                        400,
                        {
                            "status_code": 400,
                            "errors": [
                                {"error": "ValidationError", "message": "phone_number and template_id are required"}
                            ],
                        },
                    )
                notification_id = str(uuid.uuid4())
                record = {
                    **body,
                    "id": notification_id,
                    "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
                fake.sent.append(record)
                host = f"http://{self.headers.get('Host')}"
                self._answer(
                    201,
                    {
                        "id": notification_id,
                        "reference": body.get("reference"),
                        "content": {"body": "(the template filled in)", "from_number": "GOVUK"},
                        "uri": f"{host}/v2/notifications/{notification_id}",
                        "template": {
                            "id": body["template_id"],
                            "version": 1,
                            "uri": f"{host}/v2/template/{body['template_id']}",
                        },
                    },
                )

            def do_GET(self):
                if not self._authorised():
                    return
                url = urlsplit(self.path)
                if url.path != "/v2/notifications":
                    return self._answer(404, {"status_code": 404, "errors": [{"error": "NotFound"}]})
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                found = [
                    {
                        "id": n["id"],
                        "reference": n.get("reference"),
                        "type": "sms",
                        "status": "sending",
                        "phone_number": n["phone_number"],
                        "created_at": n["created_at"],
                    }
                    for n in fake.sent
                    if query.get("reference") in (None, n.get("reference"))
                ]
                self._answer(200, {"notifications": found, "links": {"current": self.path}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeNotify:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
