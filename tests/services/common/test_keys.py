from regista.services.common.keys import escape_key, escape_keys, hash_key, unescape_key, unescape_keys


def test_escaping_round_trips_and_yields_safe_keys():
    for name in ("lr", "optimizer.lr", "$where", "100%", "a.%2E.b", "$a.$b", "", "nul\x00key", "%00", "%24x"):
        escaped = escape_key(name)
        assert unescape_key(escaped) == name
        assert "." not in escaped and "\x00" not in escaped and not escaped.startswith("$")


def test_nested_documents_round_trip_at_every_depth():
    document = {"$where": "sleep(1)", "a.b": [{"$gt": {"x.y": 1}}, 2], "plain": {"k": None}, "%": "v"}
    escaped = escape_keys(document)
    assert escaped["%24where"] == "sleep(1)" and escaped["a%2Eb"][0] == {"%24gt": {"x%2Ey": 1}}
    assert unescape_keys(escaped) == document


def test_hash_keys_are_fixed_length():
    assert len(hash_key("x" * 1000)) == len(hash_key("acc")) == 32 and hash_key("a") != hash_key("b")
