"""Start-up users: configured fixed users, or a first admin for an empty database."""

from __future__ import annotations

import logging

import pytest

from regista.server.config import ConfigError
from regista.services.auth.bootstrap import bootstrap_users
from regista.services.auth.documents import Company, Credentials, User
from regista.services.auth.store import DatabaseIdentityStore


def fixed(*users):
    return [dict(zip(("name", "role", "company", "access_key", "secret_key"), user)) for user in users]


def test_fixed_users_create_companies_users_and_keys(clean_db, test_config):
    config = test_config.with_overrides(
        {"auth.fixed_users": fixed(("alice", "admin", "acme", "K1", "S1"), ("bob", "guest", "acme", "K2", "S2"))}
    )
    assert bootstrap_users(config) is None
    alice = DatabaseIdentityStore().identity_for_secret("K1", "S1")
    assert (alice.user_name, alice.role, alice.company_name) == ("alice", "admin", "acme")
    assert DatabaseIdentityStore().identity_for_secret("K2", "S2").role == "guest"
    assert Company.objects.count() == 1 and User.objects.count() == 2


def test_fixed_users_are_idempotent_and_the_configuration_wins(clean_db, test_config):
    bootstrap_users(test_config.with_overrides({"auth.fixed_users": fixed(("alice", "user", "acme", "K1", "S1"))}))
    bootstrap_users(test_config.with_overrides({"auth.fixed_users": fixed(("alice", "admin", "acme", "K1", "new"))}))
    store = DatabaseIdentityStore()
    assert store.identity_for_secret("K1", "S1") is None
    assert store.identity_for_secret("K1", "new").role == "admin"
    assert (User.objects.count(), Credentials.objects.count()) == (1, 1)


def test_fixed_users_from_an_environment_override(clean_db):
    from regista.server.config import load_config

    config = load_config(
        environ={"REGISTA__AUTH__FIXED_USERS": "[{name: alice, role: admin, company: acme, access_key: K1, secret_key: S1}]"}
    )
    bootstrap_users(config)
    assert DatabaseIdentityStore().identity_for_secret("K1", "S1").company_name == "acme"


@pytest.mark.parametrize(
    "entry",
    [{"name": "a"}, dict(zip(("name", "role", "company", "access_key", "secret_key"), ("a", "root", "c", "k", "s")))],
)
def test_bad_fixed_users_are_configuration_errors(clean_db, test_config, entry):
    with pytest.raises(ConfigError, match=r"auth.fixed_users\[0\]"):
        bootstrap_users(test_config.with_overrides({"auth.fixed_users": [entry]}))


def test_an_empty_database_gets_an_admin_once(clean_db, test_config, caplog):
    with caplog.at_level(logging.WARNING):
        pair = bootstrap_users(test_config)
    assert pair.access_key in caplog.text and pair.secret_key in caplog.text
    admin = DatabaseIdentityStore().identity_for_secret(pair.access_key, pair.secret_key)
    assert (admin.user_name, admin.role, admin.company_name) == ("admin", "admin", "regista")
    assert bootstrap_users(test_config) is None
    assert User.objects.count() == 1


@pytest.mark.parametrize("users", [[], fixed(("alice", "admin", "acme", "K1", "S1"), ("bob", "user", "acme", "K2", "S2"))])
def test_nodes_starting_at_once_on_an_empty_database_agree(clean_db, test_config, users):
    """API nodes bootstrapping together: one company, one user each, one key pair each; nobody fails."""
    from concurrent.futures import ThreadPoolExecutor

    config = test_config.with_overrides({"auth.fixed_users": users})
    with ThreadPoolExecutor(6) as pool:
        admins = [pair for pair in pool.map(lambda _: bootstrap_users(config), range(6)) if pair is not None]
    names = sorted(user.name for user in User.objects)
    assert Company.objects.count() == 1
    if users:
        assert names == ["alice", "bob"] and Credentials.objects.count() == 2 and admins == []
    else:
        assert names == ["admin"] and len(admins) == 1 and Credentials.objects.count() == 1
