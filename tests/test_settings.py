"""Settings come from the environment through strict readers; production refuses defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portfolio.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent


def test_env_bool_refuses_yes_ish(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    with pytest.raises(ImproperlyConfigured):
        env_bool("X_FLAG")
    monkeypatch.setenv("X_FLAG", "On")
    assert env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env_bool("X_FLAG", True) is False


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("X_INT", "12")
    assert env_int("X_INT", 3) == 12
    monkeypatch.setenv("X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 3)
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_list("X_LIST") == ["a", "b", "c"]


def test_secret_from_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "from-a-file"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured):
        env_str("X_SECRET")


def _manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "FIELD_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    from cryptography.fernet import Fernet

    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": "p" * 20 + "-a-long-random-production-secret-key-value",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "FIELD_HASH_KEY": "h" * 40,
            "DJANGO_ALLOWED_HOSTS": "portfolio.example.edu.tw",
            "PORTFOLIO_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secrets(tmp_path):
    result = _manage("check", env={"DJANGO_PRODUCTION": "1", "PORTFOLIO_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_file_previews_may_come_from_the_s3_endpoint_only_when_s3_is_used(tmp_path):
    script = (
        "from django.conf import settings as s; d = s.CONTENT_SECURITY_POLICY['DIRECTIVES'];"
        "print(d['img-src'], d['media-src'], d['frame-src'])"
    )
    base = {"PORTFOLIO_VAR_DIR": str(tmp_path)}
    plain = _manage("shell", "-c", script, env=base)
    assert plain.returncode == 0, plain.stderr
    assert "minio" not in plain.stdout and "amazonaws" not in plain.stdout
    s3 = _manage(
        "shell",
        "-c",
        script,
        env={**base, "S3_BUCKET": "files", "S3_ENDPOINT_URL": "https://minio.school.example:9000/"},
    )
    assert s3.returncode == 0, s3.stderr
    assert s3.stdout.count("https://minio.school.example:9000") == 3


def test_file_previews_come_from_the_public_address_of_the_store(tmp_path):
    script = (
        "from django.conf import settings as s; d = s.CONTENT_SECURITY_POLICY['DIRECTIVES'];"
        "print(d['img-src'], d['media-src'], d['frame-src'])"
    )
    done = _manage(
        "shell",
        "-c",
        script,
        env={
            "PORTFOLIO_VAR_DIR": str(tmp_path),
            "S3_BUCKET": "files",
            "S3_ENDPOINT_URL": "http://s3:9000",
            "S3_PUBLIC_ENDPOINT_URL": "https://files.school.example",
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("https://files.school.example") == 3
    assert "s3:9000" not in done.stdout


def test_a_list_of_secrets_reads_its_file(monkeypatch, tmp_path):
    """FIELD_ENCRYPTION_KEY_FILE, as docker-compose.yml passes it: one key a line, or
    several on a line separated by commas (the first encrypts)."""
    keys = tmp_path / "keys"
    keys.write_text("new-key\nold-key, older-key\n")
    monkeypatch.setenv("X_KEYS_FILE", str(keys))
    assert env_list("X_KEYS") == ["new-key", "old-key", "older-key"]


def _production(tmp_path, **extra: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "DJANGO_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": "p" * 20 + "-a-long-random-production-secret-key-value",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "FIELD_HASH_KEY": "h" * 40,
        "DJANGO_ALLOWED_HOSTS": "portfolio.example.edu.tw",
        "PORTFOLIO_VAR_DIR": str(tmp_path),
        **extra,
    }


HSTS = "from django.conf import settings as s; print(s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"


def test_hsts_for_subdomains_and_preloading_are_opt_in(tmp_path):
    """A school's domain cannot easily take them back: off unless the deployment asks."""
    default = _manage("shell", "-c", HSTS, env=_production(tmp_path))
    assert default.returncode == 0, default.stderr
    assert default.stdout.split()[-2:] == ["False", "False"]
    asked = _manage(
        "shell",
        "-c",
        HSTS,
        env=_production(tmp_path, DJANGO_HSTS_INCLUDE_SUBDOMAINS="1", DJANGO_HSTS_PRELOAD="1"),
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.split()[-2:] == ["True", "True"]
    check = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production(tmp_path))
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_http_transport_needs_its_address_and_key(tmp_path):
    base = {"PORTFOLIO_VAR_DIR": str(tmp_path), "CENTRAL_TRANSPORT": "http"}
    result = _manage("check", env=base)
    assert result.returncode != 0 and "CENTRAL_HTTP_URL and CENTRAL_API_KEY" in result.stderr
    key = tmp_path / "central-key"
    key.write_text("school-key\n")
    configured = {**base, "CENTRAL_HTTP_URL": "https://central.example/iscom_api/",
                  "CENTRAL_API_KEY_FILE": str(key)}  # fmt: skip
    assert _manage("check", env=configured).returncode == 0
    wrong = _manage("check", env={**base, "CENTRAL_TRANSPORT": "ftp"})
    assert wrong.returncode != 0 and "must be download or http" in wrong.stderr
