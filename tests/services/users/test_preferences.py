"""users.get_preferences / set_preferences."""

from __future__ import annotations


def test_no_preferences_at_first(api):
    assert api.call("users.get_preferences", {}) == {"preferences": {}}


def test_top_level_keys_are_set_whole(api):
    steps = [
        ({"a": 0}, {"a": 0}),
        ({"b": 1}, {"a": 0, "b": 1}),
        ({"section": {"a": 2, "b": [1, {"c": 3}]}}, {"a": 0, "b": 1, "section": {"a": 2, "b": [1, {"c": 3}]}}),
        ({"section": {"a": None}}, {"a": 0, "b": 1, "section": {"a": None}}),  # a section is replaced, not merged
        ({"section": None}, {"a": 0, "b": 1, "section": None}),
    ]
    for change, expected in steps:
        answer = api.call("users.set_preferences", {"preferences": change})
        assert answer == {"updated": 1, "fields": {"preferences": expected}}
        assert api.call("users.get_preferences", {})["preferences"] == expected
    assert api.call("users.set_preferences", {"preferences": {"a": 0}}) == {"updated": 0, "fields": {}}


def test_preferences_are_each_users_own(api):
    api.call("users.set_preferences", {"preferences": {"theme": "dark"}})
    assert api.as_user(name="colleague").call("users.get_preferences", {})["preferences"] == {}


def test_a_dotted_top_level_key_is_a_path(api):
    api.call("users.set_preferences", {"preferences": {"views": {"table": {"cols": 3}, "theme": "dark"}}})
    answer = api.call("users.set_preferences", {"preferences": {"views.table.cols": 5, "views.new.x": 1}})
    expected = {"views": {"table": {"cols": 5}, "theme": "dark", "new": {"x": 1}}}
    assert answer == {"updated": 1, "fields": {"preferences": expected}}
    assert api.call("users.get_preferences", {})["preferences"] == expected
    meta = api.error("users.set_preferences", {"preferences": {"views.theme.x": 1}})  # theme holds a value
    assert (meta["result_code"], meta["result_subcode"]) == (400, 305)
    assert api.call("users.get_preferences", {})["preferences"] == expected


def test_return_updated_false_leaves_the_preferences_out(api):
    answer = api.call("users.set_preferences", {"preferences": {"a": 1}, "return_updated": False}, version="2.33")
    assert answer == {"updated": 1, "fields": {}}
    assert api.call("users.get_preferences", {})["preferences"] == {"a": 1}


def test_dollar_keys_and_nested_dots_are_refused(api):
    for bad in ({"$set": 1}, {"a.$b": 1}, {"ok": {"in.side": 1}}, {"ok": [{"$x": 1}]}, {"ok": [{"a.b": 1}]}):
        meta = api.error("users.set_preferences", {"preferences": bad})
        assert (meta["result_code"], meta["result_subcode"]) == (400, 16)
    assert api.call("users.get_preferences", {})["preferences"] == {}
