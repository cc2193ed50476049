"""docker-compose.yml as deploy/prodcheck.py reads it: what it passes, the settings read.

`make prodcheck` (in CI) starts the whole shape; these tests keep its reading honest and the
compose file's promises in place without starting anything but the settings.
"""

import json
import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy import prodcheck

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def compose():
    return prodcheck.load_compose()


@pytest.fixture
def local(tmp_path):
    return prodcheck.Locals(
        database_url="postgres://postgres@127.0.0.1:5432/x",
        cache_url="redis://127.0.0.1:6379/1",
        broker_url="redis://127.0.0.1:6379/2",
        s3_endpoint="http://127.0.0.1:9",
        secrets_dir=tmp_path / "secrets",
        var_dir=tmp_path / "var",
    )


@pytest.fixture
def compose_env(compose, local):
    """The app's environment as docker-compose.yml passes it, pointed at local stand-ins."""
    prodcheck.write_secrets(compose, local.secrets_dir)
    variables = {"PORTFOLIO_HOST": "portfolio.test", "PORTFOLIO_FILES_HOST": "files.test"}
    return prodcheck.localize(prodcheck.app_environment(compose, variables), compose, local)


def test_interpolation_as_compose_does_it():
    values = {"SET": "x", "EMPTY": ""}
    assert prodcheck.interpolate("a${SET}b", values) == "axb"
    assert prodcheck.interpolate("${EMPTY:-d}|${EMPTY-d}|${UNSET-d}", values) == "d||d"
    assert prodcheck.interpolate("$${SET}", values) == "${SET}"
    with pytest.raises(prodcheck.CheckFailed, match="requires UNSET: say so"):
        prodcheck.interpolate("${UNSET:?say so}", values)


def test_the_settings_start_on_the_compose_environment_alone(compose_env):
    """DJANGO_PRODUCTION=1 with every secret from a *_FILE (FIELD_ENCRYPTION_KEY_FILE was
    not read before: start-up stopped), and every variable passed is read."""
    assert compose_env["DJANGO_PRODUCTION"] == "1"
    assert "FIELD_ENCRYPTION_KEY" not in compose_env
    assert Path(compose_env["FIELD_ENCRYPTION_KEY_FILE"]).exists()
    read = prodcheck.settings_read(compose_env)
    assert prodcheck.unread_variables(compose_env, read) == []


def test_a_variable_the_settings_never_read_is_reported(compose_env):
    read = prodcheck.settings_read(compose_env)
    assert prodcheck.unread_variables({**compose_env, "DJANGO_ALOWED_HOSTS": "x"}, read) == [
        "DJANGO_ALOWED_HOSTS"
    ]


def test_a_setting_the_compose_file_lacks_stops_the_check(compose_env):
    lacking = {k: v for k, v in compose_env.items() if k != "FIELD_HASH_KEY_FILE"}
    with pytest.raises(prodcheck.CheckFailed, match="FIELD_HASH_KEY"):
        prodcheck.settings_read(lacking)


def test_a_service_moved_elsewhere_is_not_checked_against_ours(compose, local):
    env = prodcheck.app_environment(compose, {"PORTFOLIO_HOST": "a", "PORTFOLIO_FILES_HOST": "b"})
    env["DATABASE_URL"] = "postgres://portfolio@elsewhere:5432/portfolio"
    with pytest.raises(prodcheck.CheckFailed, match="db service"):
        prodcheck.localize(env, compose, local)


def test_web_worker_and_beat_start_after_migrations_and_have_healthchecks(compose):
    services = compose["services"]
    assert prodcheck.service_command(compose, "migrate")[-3:] == [
        "manage.py",
        "migrate",
        "--noinput",
    ]
    assert "migrate" not in " ".join(prodcheck.service_command(compose, "web"))
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["healthcheck"]["test"]
    assert "inspect ping" in services["worker"]["healthcheck"]["test"][-1]
    assert "celerybeat-schedule" in " ".join(services["beat"]["healthcheck"]["test"])
    # gunicorn believes X-Forwarded-* from any peer: only the host's proxy may reach it.
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert compose["x-app"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"


def test_the_image_builds_messages_and_static_files(compose):
    steps = " ".join(prodcheck.build_steps(compose))
    assert "compilemessages" in steps and "collectstatic" in steps


def test_the_image_leaves_out_secrets_and_local_state():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {"secrets/", ".venv/", "var/", ".git/"} <= ignored


def test_every_secret_the_app_mounts_gets_a_throw_away_value(compose, tmp_path):
    prodcheck.write_secrets(compose, tmp_path)
    for name in prodcheck.app_secrets(compose):
        assert (tmp_path / name).exists()
    assert set(compose["secrets"]) == set(prodcheck.app_secrets(compose)) | set(
        compose["services"]["s3"]["secrets"]
    )


def test_the_commands_run_from_the_virtualenv(compose):
    web = prodcheck.from_venv(prodcheck.service_command(compose, "web"))
    assert web[0] == str(Path(sys.executable).parent / "gunicorn")
    assert prodcheck.with_bind(web, "127.0.0.1:1")[web.index("--bind") + 1] == "127.0.0.1:1"
    beat = prodcheck.service_command(compose, "beat")
    assert prodcheck.with_option(beat, "--schedule", "/x")[-1] == "--schedule=/x"


def test_the_simulated_central_database_is_its_own_service_only_on_demand(compose):
    simulator = compose["services"]["centralsim"]
    assert simulator["profiles"] == ["simulation"]  # not started by `docker compose up`
    assert simulator["environment"]["CENTRAL_SIMULATOR"] == "1"
    assert "--bind" in prodcheck.service_command(compose, "centralsim")
    # The school's own services never switch it on.
    for name in ("web", "worker", "beat"):
        assert "CENTRAL_SIMULATOR" not in compose["services"][name].get("environment", {})


def test_the_bucket_is_private_versioned_and_keeps_old_versions_a_month(compose):
    """The s3-bucket setup as deploy/drill.py and prodcheck create the bucket."""
    bucket = compose["x-app"]["environment"]["S3_BUCKET"]
    # The script sh runs, after compose's interpolation and splitting.
    entrypoint = compose["services"]["s3-bucket"]["entrypoint"]
    setup = " ".join(shlex.split(prodcheck.interpolate(entrypoint, {}))[-1].split())
    assert f"mc anonymous set none store/{bucket}" in setup
    assert prodcheck.bucket_versioning(compose)
    assert f'"$BUCKET_LIFECYCLE" | mc ilm import store/{bucket}' in setup
    rules = json.loads(compose["services"]["s3-bucket"]["environment"]["BUCKET_LIFECYCLE"])
    assert rules["Rules"] == [
        {
            "ID": "noncurrent-30-days",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        }
    ]


def test_the_database_is_dumped_nightly_and_kept_two_weeks(compose):
    services = compose["services"]
    backup = services["backup-db"]
    # pg_dump of the server's major version (an older one refuses a newer server).
    assert backup["image"] == services["db"]["image"]
    assert backup["depends_on"]["db"] == {"condition": "service_healthy"}
    assert backup["environment"]["PGHOST"] == "db"
    assert backup["environment"]["PGDATABASE"] == urlsplit(
        compose["x-app"]["environment"]["DATABASE_URL"]
    ).path.lstrip("/")
    assert backup["environment"]["TZ"] == "CST-8"  # Asia/Taipei, UTC+8 all year
    assert backup["environment"]["BACKUP_KEEP_DAYS"] == "${BACKUP_KEEP_DAYS:-14}"
    script = backup["command"][0]
    assert "date -d 02:00" in script
    assert 'pg_dump -Fc --file="$$file.part"' in script
    assert 'pg_restore --list "$$file.part"' in script  # a dump that cannot be read fails
    assert '-mtime +"$$BACKUP_KEEP_DAYS" -delete' in script
    assert backup["volumes"] == ["backups:/backups"] and "backups" in compose["volumes"]
    assert backup["restart"] == "unless-stopped"


def test_the_database_archives_its_write_ahead_log(compose):
    db = compose["services"]["db"]
    settings = dict(arg.split("=", 1) for arg in db["command"][2::2])
    assert db["command"][:2] == ["postgres", "-c"] and set(db["command"][1::2]) == {"-c"}
    assert settings["wal_level"] == "replica" and settings["archive_mode"] == "on"
    assert settings["archive_command"] == "test ! -f /wal-archive/%f && cp %p /wal-archive/%f"
    assert int(settings["archive_timeout"]) <= 300  # at most 5 minutes of changes at risk
    assert "wal-archive:/wal-archive" in db["volumes"] and "wal-archive" in compose["volumes"]
    # The archive volume is handed to postgres, then the image's own entrypoint runs.
    assert "chown postgres:postgres /wal-archive" in db["entrypoint"][2]
    assert 'exec docker-entrypoint.sh "$$@"' in db["entrypoint"][2]


def test_the_bucket_is_copied_into_the_backups(compose):
    bucket = compose["x-app"]["environment"]["S3_BUCKET"]
    copy = compose["services"]["backup-files"]
    command = " ".join(shlex.split(prodcheck.interpolate(copy["entrypoint"], {}))[-1].split())
    assert f"mc mirror --watch --overwrite --preserve store/{bucket} /backups/files" in command
    assert "--remove" not in command  # what the bucket deletes stays in the copy
    assert copy["volumes"] == ["backups:/backups"]
    assert copy["depends_on"]["s3-bucket"] == {"condition": "service_completed_successfully"}
