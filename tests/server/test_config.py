"""Layered configuration."""

from __future__ import annotations

import pytest

from regista.server.config import ConfigError, load_config


def test_defaults():
    config = load_config(environ={})
    assert config.get("server.port") == 8008
    assert config.get("mongodb.uri") == ""
    assert config.get("embedded_db.data_dir") == "./data"


def test_environment_overrides_are_parsed_as_hocon():
    config = load_config(
        environ={
            "REGISTA__SERVER__PORT": "9000",
            "REGISTA__API__DEBUG": "true",
            "REGISTA__MONGODB__URI": "mongodb://db:27017/regista",
            "REGISTA__NEW__LIST": "[a, b]",
            "OTHER": "ignored",
        }
    )
    assert config.get("server.port") == 9000
    assert config.get("api.debug") is True
    assert config.get("mongodb.uri") == "mongodb://db:27017/regista"
    assert config.get("new.list") == ["a", "b"]


def test_user_file_and_folder(tmp_path):
    (tmp_path / "a.conf").write_text("server { port: 7000 }\napi.max_page_size: 50\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.conf").write_text('logging { format: "json" }\n')
    config = load_config(tmp_path, environ={})
    assert (config.get("server.port"), config.get("api.max_page_size")) == (7000, 50)
    assert config.get("logging.format") == "json"
    assert config.get("server.workers") == 2  # defaults survive the merge
    single = load_config(environ={"REGISTA_CONFIG": str(tmp_path / "a.conf"), "REGISTA__SERVER__PORT": "7001"})
    assert single.get("server.port") == 7001  # environment beats files


def test_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.conf", environ={})
    bad = tmp_path / "bad.conf"
    bad.write_text("server { port: ")
    with pytest.raises(ConfigError, match="bad.conf"):
        load_config(bad, environ={})
    with pytest.raises(ConfigError, match="not set"):
        load_config(environ={}).get("no.such.key")
