from services.common.keys import escape_key, hash_key, unescape_key


def test_escaping_round_trips_and_yields_safe_keys():
    for name in ("lr", "optimizer.lr", "$where", "100%", "a.%2E.b", "$a.$b", ""):
        escaped = escape_key(name)
        assert unescape_key(escaped) == name
        assert "." not in escaped and not escaped.startswith("$")


def test_hash_keys_are_fixed_length():
    assert len(hash_key("x" * 1000)) == len(hash_key("acc")) == 32 and hash_key("a") != hash_key("b")
