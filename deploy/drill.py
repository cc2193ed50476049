"""The restore drill: back up the database and the file store, lose both, restore them, prove it.

A file and its row belong together: a database restored without its files (or files without
their rows) is a platform that shows students items it cannot open. So the drill backs up and
restores both, as the README's operations section tells the operator to, and then checks them
together. On this machine, with docker-compose.yml's environment (as ``make prodcheck`` reads
it), against a PostgreSQL server and an S3 server (moto's, started here, unless DRILL_S3_* say
otherwise):

1. a fresh database is migrated and loaded with the demo; a few students sign in over HTTP
   (gunicorn with the production settings) and upload course outcomes (a PDF, a PNG image),
   and student affairs enters a performance with a proof for each of them;
2. what is there is recorded: every table's row count, every stored-file row's path, sha256
   and size, every other file field's path, every object of the bucket with its sha256, a
   digest of the students' national IDs as the field-encryption key reads them, the drill
   students' item titles; and checked as it will be after the restore (so a failure later is
   the restore's, not the data's);
3. backup: ``pg_dump -Fc`` (the server's own major version), every object of the bucket
   copied with its content type (its versions counted when versioning is on), the secrets;
4. wipe: the database dropped, every object version and the bucket deleted, the secrets
   removed; each checked to be gone;
5. restore: the secrets put back, the database created and ``pg_restore``d, the bucket created
   as the s3-bucket service creates it and every object put back;
6. verify: the same row counts; every stored-file row's object there with its sha256 and
   size; every other file field's object there, unchanged; no object without a row; the
   national IDs read with the restored key, the same values; then each drill student signs
   in through the allauth form of a new gunicorn and sees their portfolio with their items'
   titles, and downloads their file through the signed link, the same bytes.

A report says what was checked, with counts, bytes and durations; any mismatch exits 1.
Run with ``make drill``. Environment: DRILL_DATABASE_URL (a database it drops and creates;
default DATABASE_URL's server with the database ``<DATABASE_URL's name>_drill``, never
DATABASE_URL's own); DRILL_S3_ENDPOINT_URL, DRILL_S3_ACCESS_KEY_ID, DRILL_S3_SECRET_ACCESS_KEY,
DRILL_S3_REGION and DRILL_S3_BUCKET (a bucket whose name ends in ``-drill``, deleted and
created) for another S3 server than moto; DRILL_PG_BIN (the folder of pg_dump and pg_restore;
default the server's major version under /usr/lib/postgresql, else PATH's).

``python -m deploy.drill inventory FILE`` and ``python -m deploy.drill verify FILE`` are the
two steps run inside Django (in the app's environment); ``inventory`` and ``verify`` are also
what tests/test_restore_drill.py calls on a damaged state.
"""

import contextlib
import dataclasses
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from deploy import prodcheck
from deploy.prodcheck import CheckFailed, Stack, expect

# The drill's students (class 101 of the demo, with credited courses and no items of their
# own) and the document each uploads as a course outcome.
STUDENTS = {"s011": "pdf", "s012": "png", "s013": "pdf"}
MIMES = {"pdf": "application/pdf", "png": "image/png"}
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/portfolio"


# --- Inside Django: what the database and the store hold, and the check after a restore ------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
    import django

    django.setup()


def _tables() -> Iterator:
    """Every model with a table of its own (many-to-many tables included)."""
    from django.apps import apps

    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            yield model


def _file_fields() -> Iterator[tuple[Any, str]]:
    from django.db import models

    for model in _tables():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                yield model, field.name


def _sha256(storage, path: str) -> str | None:
    """The sha256 of a stored object, None when it is not there."""
    from submissions.services.stored_files import read_chunks

    digest = hashlib.sha256()
    try:
        for chunk in read_chunks(path, storage):
            digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def _national_ids() -> list:
    """How many students have a national ID, and a digest of them all as the field key reads
    them; refused (InvalidToken) when the key is not the one they were written with."""
    from cryptography.fernet import InvalidToken

    from records.models import Student

    try:
        values = sorted(
            Student.objects.exclude(national_id="").values_list("national_id", flat=True)
        )
    except InvalidToken:
        return [None, "not readable with this field-encryption key"]
    return [len(values), hashlib.sha256("\n".join(values).encode()).hexdigest()]


def _titles(usernames: Iterable[str]) -> dict[str, list[str]]:
    """The titles of each student's course outcomes and performances."""
    from submissions.models import CourseOutcome, Performance

    titles: dict[str, list[str]] = {name: [] for name in usernames}
    for model, field in ((CourseOutcome, "title"), (Performance, "name")):
        rows = model._default_manager.filter(student__user__username__in=list(titles))
        for username, title in rows.values_list("student__user__username", field):
            titles[username].append(title)
    return {name: sorted(found) for name, found in titles.items()}


def inventory(storage=None, usernames: Iterable[str] = ()) -> dict:
    """What the database and the store hold now, to be found again after a restore."""
    from django.core.files.storage import default_storage

    from submissions.models import StoredFile
    from submissions.tasks import walk

    storage = storage or default_storage
    rows = StoredFile.objects.select_related("school")
    return {
        "tables": {model._meta.db_table: model._default_manager.count() for model in _tables()},
        "stored_files": {row.storage_path: [row.sha256, row.size] for row in rows},
        "file_fields": sorted(_named_by_file_fields()),
        "objects": {path: _sha256(storage, path) for path in sorted(walk(storage, ""))},
        "national_ids": _national_ids(),
        "titles": _titles(usernames),
    }


def _named_by_file_fields() -> set[str]:
    named: set[str] = set()
    for model, name in _file_fields():
        named.update(model._default_manager.exclude(**{name: ""}).values_list(name, flat=True))
    return named


@dataclasses.dataclass
class Verification:
    """What a check of the restored state found: lines said of what held, and problems."""

    checked: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    def require(self, problems: list[str], held: str) -> None:
        self.problems.extend(problems)
        if not problems:
            self.checked.append(held)


def verify(manifest: dict, storage=None) -> Verification:
    """The database and the store now against ``manifest`` (what ``inventory`` recorded)."""
    from django.core.files.storage import default_storage

    from submissions.tasks import walk

    storage = storage or default_storage
    result = Verification()
    now = inventory(storage, manifest["titles"])
    tables, was = now["tables"], manifest["tables"]
    result.require(
        [
            f"table {table}: {was.get(table)} rows before, {tables.get(table)} now"
            for table in sorted(set(tables) | set(was))
            if tables.get(table) != was.get(table)
        ],
        f"row counts of {len(was)} tables equal ({sum(was.values()):,} rows)",
    )
    present = set(walk(storage, ""))
    rows, rows_was = now["stored_files"], manifest["stored_files"]
    problems = [
        f"stored-file row for {path}: {rows_was.get(path)} before, {rows.get(path)} now"
        for path in sorted(set(rows) | set(rows_was))
        if rows.get(path) != rows_was.get(path)
    ]
    for path, (sha256, size) in sorted(rows.items()):
        if path not in present:
            problems.append(f"stored file {path}: its row is there, its object is not")
        elif now["objects"][path] != sha256 or storage.size(path) != size:
            problems.append(f"stored file {path}: the object's sha256 or size is not its row's")
    stored_bytes = sum(size for _sha, size in rows.values())
    result.require(
        problems,
        f"{len(rows)} stored-file rows, each object there with the row's sha256 and size "
        f"({stored_bytes:,} bytes)",
    )
    named, named_was = set(now["file_fields"]), set(manifest["file_fields"])
    result.require(
        [f"a file field names {path} now or before only" for path in sorted(named ^ named_was)]
        + [f"a file field names {path}, which is not there" for path in sorted(named - present)]
        + [
            f"file field's object {path}: its sha256 differs from the one backed up"
            for path in sorted(named & present)
            if now["objects"][path] != manifest["objects"].get(path)
        ],
        f"objects named by other file fields (jobs, rosters, receipts): {len(named)}, each "
        "there, unchanged",
    )
    result.require(
        [f"object {path} has no row" for path in sorted(present - set(rows) - named)]
        + [
            f"object {path} was in the store, is not now"
            for path in sorted(set(manifest["objects"]) - present)
        ],
        f"no object without a row: the store holds exactly the {len(present)} objects named",
    )
    count, _digest = manifest["national_ids"]
    result.require(
        []
        if now["national_ids"] == manifest["national_ids"]
        else ["the national IDs read now are not the ones backed up"],
        f"{count} national IDs read with the restored field-encryption key, the same values",
    )
    result.require(
        []
        if now["titles"] == manifest["titles"]
        else [f"the drill students' items were {manifest['titles']}, are {now['titles']}"],
        f"the items of {', '.join(manifest['titles']) or 'no students'} in the database",
    )
    return result


def _inside(step: str, path: Path) -> int:
    """``inventory FILE`` writes the manifest; ``verify FILE`` prints its Verification."""
    _django()
    if step == "inventory":
        path.write_text(json.dumps(inventory(usernames=STUDENTS), ensure_ascii=False))
        return 0
    result = verify(json.loads(path.read_text()))
    print(json.dumps(dataclasses.asdict(result), ensure_ascii=False))
    return 0


# --- The services: PostgreSQL's tools, the bucket -----------------------------------------------


def drill_database_url() -> str:
    explicit = os.environ.get("DRILL_DATABASE_URL")
    if explicit:
        return explicit
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    if parts.scheme not in ("postgres", "postgresql"):
        raise CheckFailed("the drill needs PostgreSQL: set DATABASE_URL or DRILL_DATABASE_URL")
    return urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/')}_drill"))


def _admin(url: str):
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    return psycopg.connect(admin, autocommit=True, connect_timeout=5)


def _name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise CheckFailed(f"refusing to drop or create the database {name!r}")
    return name


def database_exists(url: str) -> bool:
    with _admin(url) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_name(url)])
        return found.fetchone() is not None


def drop_database(url: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_name(url)}" WITH (FORCE)')


def create_database(url: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{_name(url)}"')


def pg_program(name: str, url: str) -> tuple[str, str]:
    """``pg_dump``/``pg_restore`` of the server's major version (an older one cannot dump a
    newer server; a newer one writes dumps an older pg_restore cannot read), and the version."""
    with _admin(url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    folders = [os.environ.get("DRILL_PG_BIN"), f"/usr/lib/postgresql/{major}/bin"]
    candidates = [str(Path(f) / name) for f in folders if f] + [shutil.which(name) or ""]
    for program in candidates:
        if program and Path(program).is_file():
            said = subprocess.run(
                [program, "--version"], capture_output=True, text=True, check=True
            ).stdout
            version = re.search(r"\) (\d+)(\.\d+)*", said)
            if version and int(version.group(1)) == major:
                return program, version.group(0)[2:]
    raise CheckFailed(f"no {name} of PostgreSQL {major} (set DRILL_PG_BIN to its folder)")


def _pg(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise CheckFailed(f"{what} failed ({result.returncode}):\n{result.stderr[-3000:]}")


def bucket_versions(client, bucket: str) -> Iterator[dict]:
    """Every version and delete marker of every object (one version each when unversioned)."""
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        yield from page.get("Versions", [])
        yield from page.get("DeleteMarkers", [])


def bucket_exists(client, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def copy_bucket(client, bucket: str, folder: Path) -> list[dict]:
    """Every object's current version into ``folder``; what each was (key, content type,
    metadata, size, sha256, version id, how many versions the bucket kept)."""
    versions: dict[str, int] = {}
    for version in bucket_versions(client, bucket):
        versions[version["Key"]] = versions.get(version["Key"], 0) + 1
    copied: list[dict] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            key = item["Key"]
            target = folder / f"{len(copied):06d}"
            got = client.get_object(Bucket=bucket, Key=key)
            digest = hashlib.sha256()
            with target.open("wb") as out:
                for chunk in got["Body"].iter_chunks(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
            copied.append(
                {
                    "key": key,
                    "file": target.name,
                    "content_type": got.get("ContentType", "binary/octet-stream"),
                    "metadata": got.get("Metadata", {}),
                    "size": target.stat().st_size,
                    "sha256": digest.hexdigest(),
                    "version": got.get("VersionId"),
                    "versions": versions.get(key, 1),
                }
            )
    return copied


def empty_and_delete_bucket(client, bucket: str) -> int:
    """Delete every version and delete marker, then the bucket; returns how many."""
    deleted = 0
    batch = [
        {"Key": v["Key"], **({"VersionId": v["VersionId"]} if v.get("VersionId") else {})}
        for v in bucket_versions(client, bucket)
    ]
    for start in range(0, len(batch), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch[start : start + 1000]})
        deleted += len(batch[start : start + 1000])
    client.delete_bucket(Bucket=bucket)
    return deleted


def put_back(client, bucket: str, folder: Path, copied: list[dict]) -> None:
    for item in copied:
        with (folder / item["file"]).open("rb") as body:
            client.put_object(
                Bucket=bucket,
                Key=item["key"],
                Body=body,
                ContentType=item["content_type"],
                Metadata=item["metadata"],
            )


# --- The run -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Report:
    lines: list[str] = dataclasses.field(default_factory=list)
    durations: dict[str, float] = dataclasses.field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str, what: str):
        print(f"- {name}: {what}")
        started = time.monotonic()
        yield
        self.durations[name] = time.monotonic() - started

    def say(self, line: str) -> None:
        print(f"  {line}")
        self.lines.append(line)


PERFORMANCE_SETUP = """
import datetime as dt
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from accounts.acting import ActingContext
from accounts.models import Membership, Role
from records.models import Student
from submissions.services.performances import performance_enter
office = Membership.objects.get(user__username="affairs", role=Role.STUDENT_AFFAIRS)
for username, (name, content) in {proofs!r}.items():
    performance_enter(
        student=Student.objects.get(user__username=username), category="service",
        name=name, description="協助校慶接待。",
        starts_on=timezone.localdate() - dt.timedelta(days=30),
        ends_on=timezone.localdate() - dt.timedelta(days=29),
        details={{"organiser": "學務處", "hours": "4"}},
        document=SimpleUploadedFile("服務證明.png", content, content_type="image/png"),
        by=ActingContext(user=office.user, membership=office),
    )
print("performances entered")
"""


def small_png(shade: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def start_web(stack: Stack, compose: dict, name: str) -> tuple[prodcheck.Process, str]:
    port = prodcheck.free_port()
    argv = prodcheck.from_venv(prodcheck.service_command(compose, "web"))
    web = stack.start(name, prodcheck.with_bind(argv, f"127.0.0.1:{port}"))
    base = f"http://127.0.0.1:{port}"
    prodcheck.wait_for(
        lambda: prodcheck.answers(base + "/healthz"), "the web server", stack, seconds=90
    )
    return web, base


def upload_files(stack: Stack, base: str) -> dict[str, tuple[int, bytes]]:
    """Each drill student uploads a course outcome over HTTP; affairs enters a performance
    with a PNG proof for each. Returns each student's outcome id and document."""
    manage = [sys.executable, "manage.py", "shell", "-c"]
    uploaded = {}
    for number, (username, kind) in enumerate(STUDENTS.items()):
        # The demo's upload window may be closed today: registry opens it for the student.
        setup = prodcheck.EXTENSION_SETUP.format(student=username)
        stack.run("upload window", [*manage, setup])
        browser = prodcheck.Browser(base)
        prodcheck.sign_in(browser, username)
        content = prodcheck.small_pdf() if kind == "pdf" else small_png(40 * number)
        outcome = prodcheck.upload_outcome(
            browser,
            content,
            title=f"還原演練成果 {username}",
            filename=f"成果.{kind}",
            mime=MIMES[kind],
        )
        uploaded[username] = (outcome, content)
    proofs = {u: (f"還原演練服務 {u}", small_png(200 - 30 * n)) for n, u in enumerate(STUDENTS)}
    stack.run("performances", [*manage, PERFORMANCE_SETUP.format(proofs=proofs)])
    print(f"  affairs entered a performance with a PNG proof for each of {', '.join(STUDENTS)}")
    return uploaded


def inside(stack: Stack, step: str, path: Path) -> str:
    return stack.run(step, [sys.executable, "-m", "deploy.drill", step, str(path)], timeout=600)


def check_signed_in_portfolios(
    stack: Stack, base: str, manifest: dict, uploaded: dict[str, tuple[int, bytes]]
) -> list[str]:
    checked = []
    for username, titles in manifest["titles"].items():
        browser = prodcheck.Browser(base)
        prodcheck.sign_in(browser, username)
        page = browser.request("GET", "/portfolio/")
        expect(page.status_code == 200, f"{username}'s portfolio answered {page.status_code}")
        missing = [t for t in titles if html.escape(t) not in page.text and t not in page.text]
        expect(not missing, f"{username}'s portfolio page does not show {missing}")
        outcome, content = uploaded[username]
        prodcheck.download_through_signed_link(browser, outcome, content, stack.env)
        checked.append(f"{username} ({len(titles)} items, {len(content):,}-byte file)")
    return checked


def prepare(workdir: Path) -> tuple[dict, Stack, dict[str, str] | None]:
    """The compose environment on the drill's database and store (no Redis: an in-process
    cache and eager tasks are enough here); DRILL_S3_* when another store is given."""
    compose = prodcheck.load_compose()
    given = {
        name: os.environ[f"DRILL_S3_{name}"]
        for name in ("ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "BUCKET", "REGION")
        if os.environ.get(f"DRILL_S3_{name}")
    }
    s3_port = prodcheck.free_port()
    local = prodcheck.Locals(
        database_url=drill_database_url(),
        cache_url=None,
        broker_url=None,
        s3_endpoint=given.get("ENDPOINT_URL", f"http://127.0.0.1:{s3_port}"),
        secrets_dir=workdir / "secrets",
        var_dir=workdir / "var",
    )
    env = prodcheck.compose_env(compose, local, s3_port)
    if given:
        expect(
            {"ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "BUCKET"} <= set(given),
            "DRILL_S3_ENDPOINT_URL needs DRILL_S3_ACCESS_KEY_ID, _SECRET_ACCESS_KEY and _BUCKET",
        )
        expect(given["BUCKET"].endswith("-drill"), "DRILL_S3_BUCKET must end in -drill")
        (local.secrets_dir / "s3_secret_key").write_text(given["SECRET_ACCESS_KEY"] + "\n")
        env.update(
            S3_BUCKET=given["BUCKET"],
            S3_ACCESS_KEY_ID=given["ACCESS_KEY_ID"],
            S3_PUBLIC_ENDPOINT_URL=given["ENDPOINT_URL"],
            S3_REGION=given.get("REGION", env["S3_REGION"]),
        )
    return compose, Stack(env=env, workdir=workdir), given or None


def drill(workdir: Path, report: Report) -> None:
    compose, stack, given = prepare(workdir)
    env, database = stack.env, stack.env["DATABASE_URL"]
    backup = workdir / "backup"
    (backup / "objects").mkdir(parents=True)
    try:
        with report.step("load", "a fresh database with the demo, files uploaded"):
            pg_dump, version = pg_program("pg_dump", database)
            pg_restore, _ = pg_program("pg_restore", database)
            drop_database(database)
            create_database(database)
            if given is None:
                prodcheck.start_s3(stack, int(urlsplit(env["S3_ENDPOINT_URL"]).port or 0))
            client = prodcheck.s3_client(env)
            if bucket_exists(client, env["S3_BUCKET"]):  # left by an earlier drill
                empty_and_delete_bucket(client, env["S3_BUCKET"])
            versioning = prodcheck.bucket_versioning(compose)
            prodcheck.create_bucket(env, versioning=versioning)
            stack.build(compose)
            stack.run("migrate", prodcheck.from_venv(prodcheck.service_command(compose, "migrate")))
            stack.run("seed_demo", [sys.executable, "manage.py", "seed_demo"], timeout=600)
            web, base = start_web(stack, compose, "web")
            uploaded = upload_files(stack, base)
            # A background job's result file (a file field other than the stored files').
            browser = prodcheck.Browser(base)
            prodcheck.sign_in(browser, next(iter(STUDENTS)))
            prodcheck.portfolio_zip(browser, stack, builder="the job, run eagerly,")
            stack.stop(only=web)
            server = urlsplit(database)
            store = "moto's S3 server" if given is None else env["S3_ENDPOINT_URL"]
            report.say(
                f"database {_name(database)} on {server.hostname}:{server.port} "
                f"(pg_dump and pg_restore {version}, the server's major version); "
                f"bucket {env['S3_BUCKET']} on {store}"
            )
        with report.step("inventory", "what is there, checked as it will be after"):
            inside(stack, "inventory", workdir / "manifest.json")
            manifest = json.loads((workdir / "manifest.json").read_text())
            before = verify_inside(stack, workdir)
            expect(not before.problems, f"the state to back up is not whole: {before.problems}")
            tables = manifest["tables"]
            report.say(
                f"{len(tables)} tables, {sum(tables.values()):,} rows; "
                f"{len(manifest['stored_files'])} stored files, {len(manifest['objects'])} "
                f"objects in the bucket; {manifest['national_ids'][0]} national IDs"
            )
        with report.step("backup", f"pg_dump -Fc ({version}), the bucket, the secrets"):
            dump = backup / "portfolio.dump"
            _pg([pg_dump, "-Fc", f"--dbname={database}", f"--file={dump}"], "pg_dump")
            copied = copy_bucket(client, env["S3_BUCKET"], backup / "objects")
            for item in copied:
                expect(
                    manifest["objects"].get(item["key"]) == item["sha256"],
                    f"the copy of {item['key']} is not the object inventoried",
                )
            shutil.copytree(workdir / "secrets", backup / "secrets")
            (backup / "objects.json").write_text(json.dumps(copied, ensure_ascii=False))
            object_bytes = sum(item["size"] for item in copied)
            versions = sum(item["versions"] for item in copied)
            report.say(
                f"dump {dump.stat().st_size:,} bytes; {len(copied)} objects copied "
                f"({object_bytes:,} bytes; versioning {'on' if versioning else 'off'}, "
                f"{versions} versions kept by the bucket); {len(list(backup.glob('secrets/*')))} secrets"
            )
        with report.step("wipe", "the database, every object version, the bucket, the secrets"):
            drop_database(database)
            deleted = empty_and_delete_bucket(client, env["S3_BUCKET"])
            shutil.rmtree(workdir / "secrets")
            expect(not database_exists(database), "the database is still there")
            expect(not bucket_exists(client, env["S3_BUCKET"]), "the bucket is still there")
            report.say(f"database dropped, {deleted} object versions and the bucket deleted: gone")
        with report.step("restore", "the secrets, pg_restore, the bucket and its objects"):
            shutil.copytree(backup / "secrets", workdir / "secrets")
            create_database(database)
            restore = [pg_restore, "--exit-on-error", "--single-transaction"]
            _pg([*restore, f"--dbname={database}", str(dump)], "pg_restore")
            prodcheck.create_bucket(env, versioning=versioning)
            copied = json.loads((backup / "objects.json").read_text())
            put_back(client, env["S3_BUCKET"], backup / "objects", copied)
        with report.step("verify", "rows, files, the key, students signed in"):
            after = verify_inside(stack, workdir)
            for line in after.checked:
                report.say(f"ok: {line}")
            expect(not after.problems, "after the restore:\n    " + "\n    ".join(after.problems))
            web, base = start_web(stack, compose, "web (restored)")
            students = check_signed_in_portfolios(stack, base, manifest, uploaded)
            report.say(
                "ok: signed in through the allauth form, saw the portfolio with every item's "
                f"title and downloaded the file through its signed link, the same bytes: "
                f"{'; '.join(students)}"
            )
            stack.check_alive()
    except CheckFailed:
        stack.stop()
        print(stack.logs(), file=sys.stderr)
        raise
    finally:
        stack.stop()
        with contextlib.suppress(Exception):
            drop_database(database)


def verify_inside(stack: Stack, workdir: Path) -> Verification:
    output = inside(stack, "verify", workdir / "manifest.json")
    return Verification(**json.loads(output.strip().splitlines()[-1]))


def main() -> int:
    started = time.monotonic()
    report = Report()
    print("The restore drill: back up, wipe, restore, verify")
    with tempfile.TemporaryDirectory(prefix="drill-") as tmp:
        try:
            drill(Path(tmp), report)
        except CheckFailed as failure:
            print(f"\nRESTORE DRILL FAILED: {failure}\n", file=sys.stderr)
            return 1
    print("\nRestore drill report")
    for line in report.lines:
        print(f"  {line}")
    print("  durations: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.durations.items()))
    print(f"restore drill passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("inventory", "verify"):
        sys.exit(_inside(sys.argv[1], Path(sys.argv[2])))
    sys.exit(main())
