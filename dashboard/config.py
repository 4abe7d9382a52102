"""Settings read from the environment and validated once at start-up.

Every setting has a safe default for the embedded demo; a bad value stops start-up with one
clear line (``ConfigError``) naming the variable and how to fix it.

Why not pydantic-settings (considered in issue 18): most settings here are checked against each other
or against the world (a case-reference example against its pattern, a logo file by its content, key
files created atomically beside the data), and each refusal is a sentence written for the person
deploying; pydantic-settings would parse the plain types for us but its errors would still need
rewording one by one, so it would add a dependency without taking much away. Pydantic itself is used
where it pays: the API's request schemas (dashboard/api/schemas.py).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_MANIFEST = DATA_DIR / "reference_manifest.toml"
# The force's open reference data, shipped with the code (see its SOURCES.md for sources and licences).
DEFAULT_REFERENCE_DIR = DATA_DIR / "reference" / "staffordshire"
DEFAULT_SQLITE_PATH = DATA_DIR / "registry.db"
SECRET_KEY_FILE = DATA_DIR / "secret_key"
AUDIT_KEY_FILE = DATA_DIR / "audit_key"

# Placeholder values that people copy from examples; none of them is a secret.
_WEAK_SECRETS = {"secret", "changeme", "change-me", "dev", "development", "test", "password", "xxx"}
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(Exception):
    """A setting or a file the app needs is wrong; the message is one line a user can act on."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    reference_data_dir: Path
    manifest_path: Path
    secret_key: str
    k_min: int = 8
    # The disclosure-control layer (promise 4): the cell key method's largest adjustment of a count and
    # its variance (dashboard.analytics.disclosure), and the fewest crimes a gap analysis is shown for.
    disclosure_max_perturbation: int = 3
    disclosure_variance: float = 2.0
    gap_min_crimes: int = 50
    tile_url: str | None = None
    tile_attribution: str | None = None
    host: str = "127.0.0.1"
    port: int = 8050
    debug: bool = False
    web_workers: int = 2
    web_threads: int = 4
    public_base_url: str = "http://127.0.0.1:8050"
    registration_rate_limit: str = "30 per hour"
    # "Lost your link?" (issue 18): requests per client address, and per email address and postcode.
    lost_link_rate_limit: str = "5 per hour; 20 per day"
    lost_link_pair_rate_limit: str = "3 per day"
    smtp_url: str | None = None
    mail_from: str = "camera-registry@localhost"
    pilot_start: dt.date = dt.date(2026, 4, 13)
    public_launch: dt.date = dt.date(2026, 7, 6)
    case_ref_pattern: str = r"^[A-Z]{2,5}-\d{4}-\d{4,8}$"
    case_ref_example: str = "CR-2026-004512"
    demo: bool = False
    demo_registrations: int = 24_000
    demo_seed: int = 2026
    retention_months: int = 12
    retention_grace_days: int = 30
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 10
    login_window_minutes: int = 15
    login_address_max_failures: int = 30
    trusted_proxies: int = 0
    session_cookie_secure: bool = False
    # The audit log's anchor outside the database (promise 5): the key its rows' HMAC chain and the
    # checkpoints are signed with, the append-only file the signed checkpoints go to, and how often.
    audit_key: str = ""
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_every: int = 1000
    # Officers' casework (issue 15): how long a logged search lets its officer reveal contacts of and
    # request footage from the cameras it found, and how many searches one officer may run.
    search_valid_days: int = 30
    search_rate_limit: str = "10 per minute; 60 per hour"
    # The footage loop (issue 16): where uploaded footage is kept, how long an owner's response link
    # lasts, the upload limits, and the text-message channel (GOV.UK Notify) beside SMTP_URL's email.
    evidence_dir: Path = DATA_DIR / "evidence"
    evidence_min_free_bytes: int = 512 * 2**20
    response_link_days: int = 7
    upload_max_files: int = 16
    upload_max_file_bytes: int = 2 * 2**30
    upload_max_total_bytes: int = 10 * 2**30
    upload_rate_limit: str = "60 per minute; 600 per hour"
    notify_api_key: str | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_request_template: str | None = None
    notify_preservation_template: str | None = None
    outbox_worker: bool = True
    # Evidence triage and hand-off (issue 17): the exhibit reference format, how long declined files
    # and the files of closed cases are kept, and how long a playback or download link lasts.
    exhibit_ref_format: str = "{initials}/{n}"
    evidence_declined_days: int = 30
    evidence_closed_case_days: int = 90
    evidence_link_minutes: int = 15
    # The public pages' branding and privacy notice (issue 18): the force's name (default: the
    # reference manifest's force area name), an optional logo file and the header colour, and who
    # answers for the data: the controller (default: the force's name), the lawful basis and the
    # data protection officer's contact.
    force_name: str | None = None
    force_logo: Path | None = None
    force_logo_type: str | None = None
    force_colour: str = "#12284c"
    data_controller: str | None = None
    lawful_basis: str = "Consent (UK GDPR Article 6(1)(a))"
    dpo_email: str | None = None
    dpo_address: str | None = None
    # How hard a password hash is to compute (dashboard.security.passwords): "strong" always, but for the
    # test suite (tests/conftest.py), which sets "test" so its thousands of accounts are not minutes of CPU.
    password_hash_profile: str = "strong"
    extra: dict = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _public_base_url(env: dict) -> str:
    host = (env.get("HOST") or "127.0.0.1").strip()
    port = (env.get("PORT") or "8050").strip()
    raw = (env.get("PUBLIC_BASE_URL") or "").strip().rstrip("/") or f"http://{host}:{port}"
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", raw):
        raise ConfigError(f"PUBLIC_BASE_URL={raw!r} is not an address; use e.g. https://cameras.example.police.uk.")
    return raw


def _smtp_url(env: dict) -> str | None:
    raw = (env.get("SMTP_URL") or "").strip()
    if not raw:
        return None
    from dashboard.mail import check_smtp_url

    try:
        return check_smtp_url(raw)
    except ValueError as exc:
        raise ConfigError(f"SMTP_URL is not usable: {exc}.") from None


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _notify(env: dict) -> dict:
    """GOV.UK Notify for text messages: an API key (``name-<service id>-<secret>``, as Notify shows it)
    and the ids of the two templates, or nothing at all."""
    key = (env.get("NOTIFY_API_KEY") or "").strip() or None
    base = (env.get("NOTIFY_BASE_URL") or "").strip().rstrip("/") or Settings.notify_base_url
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base):
        raise ConfigError(f"NOTIFY_BASE_URL={base!r} is not an address; leave it unset for GOV.UK Notify itself.")
    templates = {}
    for name, field_name in (
        ("NOTIFY_REQUEST_TEMPLATE_ID", "notify_request_template"),
        ("NOTIFY_PRESERVATION_TEMPLATE_ID", "notify_preservation_template"),
    ):
        raw = (env.get(name) or "").strip().lower() or None
        if raw is not None and not re.fullmatch(_UUID, raw):
            raise ConfigError(f"{name}={raw!r} is not a template id; copy the template's ID from GOV.UK Notify.")
        if key and raw is None:
            raise ConfigError(f"NOTIFY_API_KEY is set but {name} is not; set the id of the Notify template to use.")
        templates[field_name] = raw
    if key and not re.fullmatch(rf".+-{_UUID}-{_UUID}", key):
        raise ConfigError("NOTIFY_API_KEY is not a GOV.UK Notify API key (name-<service id>-<secret key>).")
    return {"notify_api_key": key, "notify_base_url": base, **templates}


def _evidence_dir(env: dict) -> Path:
    raw = (env.get("EVIDENCE_DIR") or "").strip()
    path = Path(raw).expanduser() if raw else Settings.evidence_dir
    if path.exists() and not path.is_dir():
        raise ConfigError(f"EVIDENCE_DIR={str(path)!r} is a file; set it to a folder for uploaded footage.")
    return path.resolve()


def _rate_limit(env: dict, name: str, default: str) -> str:
    raw = (env.get(name) or "").strip() or default
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a rate limit; write e.g. '30 per hour' or '5 per minute; 30 per hour'."
        ) from None
    return raw


def default_web_workers() -> int:
    """One web worker process per CPU core (up to 8): the Python in each request runs on one core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 8))


EXHIBIT_FIELDS = frozenset({"initials", "case", "n"})


def _exhibit_ref_format(env: dict) -> str:
    """EXHIBIT_REF_FORMAT: how an accepted file's exhibit reference is made, from ``{initials}`` (of the
    officer who accepts it), ``{case}`` (the case reference) and ``{n}`` (the next free number in the
    case; ``{n:03d}`` pads it); ``{n}`` is required so that references never repeat."""
    import string

    raw = (env.get("EXHIBIT_REF_FORMAT") or "").strip() or Settings.exhibit_ref_format
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(raw) if name is not None}
        if not fields <= EXHIBIT_FIELDS or "n" not in fields:
            raise ValueError
        example = raw.format(initials="JO", case="CR-2026-004512", n=7)
    except (ValueError, IndexError, KeyError):
        raise ConfigError(
            f"EXHIBIT_REF_FORMAT={raw!r} is not usable; write it from {{initials}}, {{case}} and "
            "{n} (required), e.g. {initials}/{n}."
        ) from None
    if not 1 <= len(example) <= 30:
        raise ConfigError(f"EXHIBIT_REF_FORMAT={raw!r} makes references like {example!r}; keep them to 30 characters.")
    return raw


def _text_setting(env: dict, name: str, longest: int) -> str | None:
    """A line of text shown on the public pages: one line, no control characters, at most ``longest``."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if re.search(r"[\x00-\x1f\x7f]", raw):
        raise ConfigError(f"{name} holds a line break or control character; write it on one line.")
    if len(raw) > longest:
        raise ConfigError(f"{name} is {len(raw)} characters long; keep it to {longest}.")
    return raw


def _branding(env: dict) -> dict:
    """FORCE_NAME, FORCE_LOGO, FORCE_COLOUR, DATA_CONTROLLER, LAWFUL_BASIS, DPO_EMAIL, DPO_ADDRESS."""
    from dashboard import branding

    colour = Settings.force_colour
    raw_colour = (env.get("FORCE_COLOUR") or "").strip()
    if raw_colour:
        try:
            colour = branding.parse_hex(raw_colour)
        except ValueError:
            raise ConfigError(f"FORCE_COLOUR={raw_colour!r} is not a colour; write it in hex, e.g. #1d4e89.") from None
        ratio = branding.contrast_with_white(colour)
        if ratio < branding.AA_NORMAL_TEXT:
            shade = branding.readable_shade(colour)
            raise ConfigError(
                f"FORCE_COLOUR={colour} is too light for the white text on it: contrast {ratio:.2f}:1, WCAG AA needs "
                f"{branding.AA_NORMAL_TEXT}:1; use a darker shade such as {shade} "
                f"({branding.contrast_with_white(shade):.2f}:1)."
            )
    logo, logo_type = None, None
    raw_logo = (env.get("FORCE_LOGO") or "").strip()
    if raw_logo:
        logo = Path(raw_logo).expanduser().resolve()
        try:
            logo_type = branding.logo_type(logo)
        except ValueError as exc:
            raise ConfigError(
                f"FORCE_LOGO={raw_logo} cannot be used: {exc}. Point it at a PNG, JPEG or SVG "
                "image file, or leave it unset to show the force's name alone."
            ) from None
    dpo_email = _text_setting(env, "DPO_EMAIL", 254)
    if dpo_email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", dpo_email):
        raise ConfigError(f"DPO_EMAIL={dpo_email!r} is not an email address; write it like dpo@example.police.uk.")
    return {
        "force_name": _text_setting(env, "FORCE_NAME", 80),
        "force_logo": logo,
        "force_logo_type": logo_type,
        "force_colour": colour,
        "data_controller": _text_setting(env, "DATA_CONTROLLER", 160),
        "lawful_basis": _text_setting(env, "LAWFUL_BASIS", 300) or Settings.lawful_basis,
        "dpo_email": dpo_email,
        "dpo_address": _text_setting(env, "DPO_ADDRESS", 300),
    }


def _int(env: dict, name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to a number from {lo} to {hi}.") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range; set it to a number from {lo} to {hi}.")
    return value


def _float(env: dict, name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a number from {lo:g} to {hi:g}.") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value:g} is out of range; set it to a number from {lo:g} to {hi:g}.")
    return value


def _date(env: dict, name: str, default: dt.date) -> dt.date:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a date; write it as YYYY-MM-DD.") from None


PASSWORD_HASH_PROFILES = ("strong", "test")


def password_hash_profile(env: dict | None = None) -> str:
    """``PASSWORD_HASH_PROFILE`` (default ``strong``): read where a password is hashed, as the hash
    functions are called without settings; ``load_settings`` checks it at start-up too."""
    env = os.environ if env is None else env
    raw = (env.get("PASSWORD_HASH_PROFILE") or "").strip().lower() or "strong"
    if raw not in PASSWORD_HASH_PROFILES:
        raise ConfigError(
            f"PASSWORD_HASH_PROFILE={raw[:20]!r} is not a profile; leave it unset (strong). "
            "'test' is for the test suite only."
        )
    return raw


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value; use true or false.")


def _database_url(env: dict) -> str:
    raw = (env.get("DATABASE_URL") or "").strip()
    if not raw:
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    if raw.startswith("sqlite:///"):
        return raw
    if raw.startswith("postgresql+psycopg://"):
        return raw
    if raw.startswith(("postgres://", "postgresql://")):
        raise ConfigError(
            "DATABASE_URL must name the psycopg driver: write postgresql+psycopg://user:password@host:port/dbname."
        )
    scheme = raw.split(":", 1)[0]
    raise ConfigError(
        f"DATABASE_URL scheme {scheme!r} is not supported; use sqlite:///path/to/file.db or "
        "postgresql+psycopg://user:password@host:port/dbname."
    )


def _reference_dir(env: dict) -> Path:
    raw = (env.get("REFERENCE_DATA_DIR") or "").strip()
    if raw:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise ConfigError(f"REFERENCE_DATA_DIR={raw} is not a folder; point it at the reference-data folder.")
        return path.resolve()
    if DEFAULT_REFERENCE_DIR.is_dir():
        return DEFAULT_REFERENCE_DIR.resolve()
    raise ConfigError(
        f"no reference data: {DEFAULT_REFERENCE_DIR} (shipped in the repository) is missing; restore it with "
        "'git checkout -- data/reference', or set REFERENCE_DATA_DIR to the folder holding the boundary, "
        "household, deprivation and postcode files."
    )


def _secret_key(env: dict, *, create: bool) -> str:
    raw = env.get("SECRET_KEY")
    if raw is not None:
        key = raw.strip()
        if key.lower() in _WEAK_SECRETS or len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SECRET_KEY is too weak ({len(key)} characters); use at least {MIN_SECRET_KEY_LENGTH} random "
                "characters, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(48))'."
            )
        return key
    # Embedded mode: keep a generated key beside the database so sessions survive restarts.
    if SECRET_KEY_FILE.exists():
        key = SECRET_KEY_FILE.read_text().strip()
        if len(key) >= MIN_SECRET_KEY_LENGTH:
            return key
        raise ConfigError(f"{SECRET_KEY_FILE} is damaged; delete it and a new key will be generated.")
    key = secrets.token_urlsafe(48)
    if create:
        return _create_key_file(SECRET_KEY_FILE, key)
    return key


def _create_key_file(path: Path, key: str) -> str:
    """Write ``key`` to ``path`` unless it exists, atomically: written whole to a temporary file, then
    linked into place (a link never replaces a file), so that processes starting at once (test
    workers, web workers) all end up with the first one's key and none reads a half-written file.
    Returns the key in the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_text().strip()
        return key
    finally:
        os.unlink(tmp)


def _audit_key(env: dict, secret_key: str, *, create: bool) -> str:
    """AUDIT_KEY, or in embedded mode a key generated once into ``data/audit_key``.

    Kept apart from SECRET_KEY (which signs sessions and may be rotated): the audit key must stay
    the same for the life of the log, since every row's hash and every checkpoint is made with it."""
    raw = env.get("AUDIT_KEY")
    if raw is not None and raw.strip():
        key = raw.strip()
        if key.lower() in _WEAK_SECRETS or len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"AUDIT_KEY is too weak ({len(key)} characters); use at least {MIN_SECRET_KEY_LENGTH} random "
                "characters, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(48))'."
            )
        if key == secret_key:
            raise ConfigError("AUDIT_KEY must differ from SECRET_KEY; generate a separate key for the audit log.")
        return key
    return embedded_audit_key(create=create)


def embedded_audit_key(*, create: bool = True) -> str:
    """The audit key kept in ``data/audit_key`` (made once, readable by its owner only)."""
    if AUDIT_KEY_FILE.exists():
        key = AUDIT_KEY_FILE.read_text().strip()
        if len(key) >= MIN_SECRET_KEY_LENGTH:
            return key
        raise ConfigError(
            f"{AUDIT_KEY_FILE} is damaged; restore it from a backup (the audit log cannot be "
            "verified without it) or set AUDIT_KEY."
        )
    key = secrets.token_urlsafe(48)
    if not create:
        return key
    return _create_key_file(AUDIT_KEY_FILE, key)  # two processes starting at once: the first one's key wins


def default_checkpoint_file(database_url: str) -> Path:
    """Where the audit checkpoints go unless AUDIT_CHECKPOINT_FILE says: beside a SQLite database
    file, else in the data folder named for the database (one file per log)."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        db = Path(database_url[len("sqlite:///") :])
        return db.with_name(db.name + "-audit-checkpoints.jsonl")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", database_url.split("@")[-1]).strip("_") or "database"
    return DATA_DIR / f"audit-checkpoints-{name}.jsonl"


def _checkpoint_file(env: dict, database_url: str) -> Path:
    raw = (env.get("AUDIT_CHECKPOINT_FILE") or "").strip()
    path = Path(raw).expanduser() if raw else default_checkpoint_file(database_url)
    if path.is_dir():
        raise ConfigError(f"AUDIT_CHECKPOINT_FILE={path} is a folder; name a file (it is created and appended to).")
    if path.parent.exists() and not path.parent.is_dir():
        raise ConfigError(f"AUDIT_CHECKPOINT_FILE={path}: {path.parent} is not a folder.")
    return path


def load_settings(env: dict | None = None, *, create_secret: bool = True) -> Settings:
    """Read and validate settings from ``env`` (default: ``os.environ``).

    Raises ``ConfigError`` with one actionable line for the first bad setting found.
    """
    env = dict(os.environ if env is None else env)
    manifest_raw = (env.get("REFERENCE_MANIFEST") or "").strip()
    manifest = Path(manifest_raw).expanduser() if manifest_raw else DEFAULT_MANIFEST
    if not manifest.is_file():
        raise ConfigError(f"reference manifest {manifest} not found; set REFERENCE_MANIFEST to a manifest file.")
    tile_url = (env.get("TILE_URL") or "").strip() or None
    if tile_url and not (tile_url.startswith(("http://", "https://", "/")) and "{z}" in tile_url):
        raise ConfigError(
            f"TILE_URL={tile_url!r} is not a tile template; use e.g. https://tiles.example/{{z}}/{{x}}/{{y}}.png."
        )
    case_ref_pattern = (env.get("CASE_REF_PATTERN") or "").strip() or Settings.case_ref_pattern
    try:
        compiled = re.compile(case_ref_pattern)
    except re.error as exc:
        raise ConfigError(f"CASE_REF_PATTERN={case_ref_pattern!r} is not a valid regular expression ({exc}).") from None
    case_ref_example = (env.get("CASE_REF_EXAMPLE") or "").strip() or Settings.case_ref_example
    if not compiled.fullmatch(case_ref_example):
        raise ConfigError(
            f"CASE_REF_EXAMPLE={case_ref_example!r} does not match CASE_REF_PATTERN; set an example of a valid case reference."
        )
    max_perturbation = _int(env, "DISCLOSURE_MAX_PERTURBATION", Settings.disclosure_max_perturbation, 1, 10)
    variance = _float(env, "DISCLOSURE_VARIANCE", Settings.disclosure_variance, 0.1, 40.0)
    if variance >= max_perturbation * (max_perturbation + 1) / 3:
        raise ConfigError(
            f"DISCLOSURE_VARIANCE={variance:g} is too large for DISCLOSURE_MAX_PERTURBATION="
            f"{max_perturbation}; keep it below {max_perturbation * (max_perturbation + 1) / 3:g}."
        )
    public_base_url = _public_base_url(env)
    pilot_start = _date(env, "PILOT_START", Settings.pilot_start)
    public_launch = _date(env, "PUBLIC_LAUNCH", Settings.public_launch)
    if public_launch <= pilot_start:
        raise ConfigError(f"PUBLIC_LAUNCH ({public_launch}) must come after PILOT_START ({pilot_start}).")
    database_url = _database_url(env)
    secret_key = _secret_key(env, create=create_secret)
    return Settings(
        database_url=database_url,
        reference_data_dir=_reference_dir(env),
        manifest_path=manifest.resolve(),
        secret_key=secret_key,
        k_min=_int(env, "K_MIN", 8, 2, 1000),
        disclosure_max_perturbation=max_perturbation,
        disclosure_variance=variance,
        gap_min_crimes=_int(env, "GAP_MIN_CRIMES", Settings.gap_min_crimes, 1, 100_000),
        tile_url=tile_url,
        tile_attribution=(env.get("TILE_ATTRIBUTION") or "").strip() or None,
        host=(env.get("HOST") or "127.0.0.1").strip(),
        port=_int(env, "PORT", 8050, 1, 65535),
        debug=_bool(env, "DEBUG", False),
        web_workers=_int(env, "WEB_WORKERS", default_web_workers(), 1, 32),
        web_threads=_int(env, "WEB_THREADS", 4, 1, 64),
        public_base_url=public_base_url,
        registration_rate_limit=_rate_limit(env, "REGISTRATION_RATE_LIMIT", Settings.registration_rate_limit),
        lost_link_rate_limit=_rate_limit(env, "LOST_LINK_RATE_LIMIT", Settings.lost_link_rate_limit),
        lost_link_pair_rate_limit=_rate_limit(env, "LOST_LINK_PAIR_RATE_LIMIT", Settings.lost_link_pair_rate_limit),
        smtp_url=_smtp_url(env),
        mail_from=(env.get("MAIL_FROM") or "").strip() or Settings.mail_from,
        pilot_start=pilot_start,
        public_launch=public_launch,
        case_ref_pattern=case_ref_pattern,
        case_ref_example=case_ref_example,
        # Demo mode: serving builds the demo registry and demo accounts (published passwords) into an
        # empty database; refused on a database with any real account or registration.
        demo=_bool(env, "DEMO", False),
        demo_registrations=_int(env, "DEMO_REGISTRATIONS", 24_000, 10, 1_000_000),
        demo_seed=_int(env, "DEMO_SEED", 2026, 0, 2**31 - 1),
        # Registrations unconfirmed for this many months are flagged (and their owners reminded), then
        # erased by `python -m dashboard retention run` once the grace period has passed.
        retention_months=_int(env, "RETENTION_MONTHS", 12, 1, 120),
        retention_grace_days=_int(env, "RETENTION_GRACE_DAYS", 30, 1, 365),
        session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
        session_max_hours=_int(env, "SESSION_MAX_HOURS", 12, 1, 72),
        login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 10, 3, 100),
        login_window_minutes=_int(env, "LOGIN_WINDOW_MINUTES", 15, 1, 24 * 60),
        # Failed logins allowed from one client address per window, across all accounts (spraying).
        login_address_max_failures=_int(env, "LOGIN_ADDRESS_MAX_FAILURES", 30, 5, 100_000),
        # How many proxies in front add X-Forwarded-For/-Proto/-Host (0: believe none of them).
        trusted_proxies=_int(env, "TRUSTED_PROXIES", 0, 0, 5),
        # The login cookie is sent only over HTTPS: by default when the public address is https.
        session_cookie_secure=_bool(env, "SESSION_COOKIE_SECURE", public_base_url.startswith("https://")),
        audit_key=_audit_key(env, secret_key, create=create_secret),
        audit_checkpoint_file=_checkpoint_file(env, database_url),
        audit_checkpoint_every=_int(env, "AUDIT_CHECKPOINT_EVERY", Settings.audit_checkpoint_every, 1, 1_000_000),
        search_valid_days=_int(env, "SEARCH_VALID_DAYS", Settings.search_valid_days, 1, 365),
        search_rate_limit=_rate_limit(env, "SEARCH_RATE_LIMIT", Settings.search_rate_limit),
        evidence_dir=_evidence_dir(env),
        evidence_min_free_bytes=_int(env, "EVIDENCE_MIN_FREE_MB", 512, 0, 10**7) * 2**20,
        response_link_days=_int(env, "RESPONSE_LINK_DAYS", Settings.response_link_days, 1, 90),
        upload_max_files=_int(env, "UPLOAD_MAX_FILES", Settings.upload_max_files, 1, 200),
        upload_max_file_bytes=_int(env, "UPLOAD_MAX_FILE_MB", 2048, 1, 10**6) * 2**20,
        upload_max_total_bytes=_int(env, "UPLOAD_MAX_TOTAL_MB", 10240, 1, 10**7) * 2**20,
        upload_rate_limit=_rate_limit(env, "UPLOAD_RATE_LIMIT", Settings.upload_rate_limit),
        outbox_worker=_bool(env, "OUTBOX_WORKER", True),
        exhibit_ref_format=_exhibit_ref_format(env),
        evidence_declined_days=_int(env, "EVIDENCE_DECLINED_DAYS", Settings.evidence_declined_days, 1, 3650),
        evidence_closed_case_days=_int(env, "EVIDENCE_CLOSED_CASE_DAYS", Settings.evidence_closed_case_days, 1, 3650),
        evidence_link_minutes=_int(env, "EVIDENCE_LINK_MINUTES", Settings.evidence_link_minutes, 1, 24 * 60),
        password_hash_profile=password_hash_profile(env),
        **_notify(env),
        **_branding(env),
    )
