"""models.get_all and models.get_all_ex: filters, projection, ordering, paging."""

from __future__ import annotations

import pytest



@pytest.fixture
def catalogue(api, create_model, make_project, make_task):
    """Five models with varied fields; returns their ids by name."""
    project, task = make_project(), make_task()
    specs = {
        "alpha-net": dict(tags=["prod", "vision"], framework="PyTorch", project=project.id, ready=True),
        "beta-net": dict(tags=["vision"], framework="TensorFlow", project=project.id, comment="the beta one"),
        "gamma-net": dict(tags=["prod"], framework="PyTorch", task=task.id, design={"a": {"b": 1, "c": 2}}),
        "delta-tree": dict(tags=[], framework="XGBoost"),
        "Epsilon": dict(tags=["archived"], framework="PyTorch", uri="file:///epsilon"),
    }
    ids = {name: create_model(name=name, **fields) for name, fields in specs.items()}
    ids["project"], ids["task"] = project.id, task.id
    api.call("models.update", {"model": ids["delta-tree"], "ui_cache": {"color": "red"}})  # create takes none
    return ids


def names(data):
    return sorted(m["name"] for m in data["models"])


def test_name_is_a_case_sensitive_regex(api, catalogue):
    assert names(api.call("models.get_all", {"name": "-net$"})) == ["alpha-net", "beta-net", "gamma-net"]
    assert names(api.call("models.get_all", {"name": "^epsilon"})) == []


def test_invalid_regex_is_a_clear_error(api, catalogue):
    meta = api.error("models.get_all", {"name": "(unclosed"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 21)


def test_ready_and_list_filters(api, catalogue):
    assert names(api.call("models.get_all", {"ready": True})) == ["alpha-net"]
    assert len(api.call("models.get_all", {"ready": False})["models"]) == 4
    assert names(api.call("models.get_all", {"framework": ["PyTorch"]})) == ["Epsilon", "alpha-net", "gamma-net"]
    assert names(api.call("models.get_all", {"project": [catalogue["project"]]})) == ["alpha-net", "beta-net"]
    assert names(api.call("models.get_all", {"task": [catalogue["task"]]})) == ["gamma-net"]
    assert names(api.call("models.get_all", {"uri": ["file:///epsilon"]})) == ["Epsilon"]
    ids = [catalogue["alpha-net"], catalogue["delta-tree"]]
    assert names(api.call("models.get_all", {"id": ids})) == ["alpha-net", "delta-tree"]


def test_tags_include_and_exclude(api, catalogue):
    """ClearML's list language: values ORed, exclusions ANDed; __$all, __$any and __$not say more."""
    def tagged(*tags):
        return names(api.call("models.get_all", {"tags": list(tags)}))

    assert tagged("prod") == ["alpha-net", "gamma-net"]
    assert tagged("vision", "-prod") == ["beta-net"]
    assert tagged("-prod", "-vision") == ["Epsilon", "delta-tree"]
    assert tagged("__$all", "prod", "vision") == ["alpha-net"]
    assert tagged("__$all", "vision", "__$not", "prod") == ["beta-net"]
    assert tagged("__$any", "prod", "__$not", "vision") == ["Epsilon", "alpha-net", "delta-tree", "gamma-net"]
    meta = api.error("models.get_all", {"tags": ["__$not"]})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 16)
    meta = api.error("models.get_all", {"tags": ["__$xor", "a"]})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 16)


def test_only_fields_with_nesting_and_exclusion(api, catalogue):
    data = api.call("models.get_all", {"id": [catalogue["gamma-net"]], "only_fields": ["name", "design.a.b"]})
    assert data["models"] == [{"id": catalogue["gamma-net"], "name": "gamma-net", "design": {"a": {"b": 1}}}]
    data = api.call("models.get_all", {"id": [catalogue["gamma-net"]], "only_fields": ["-design", "-tags"]})
    assert "design" not in data["models"][0] and "tags" not in data["models"][0] and "name" in data["models"][0]


def test_ui_cache_is_left_out_unless_asked_for(api, catalogue):
    query = {"id": [catalogue["delta-tree"]]}
    assert "ui_cache" not in api.call("models.get_all", query)["models"][0]
    data = api.call("models.get_all", {**query, "only_fields": ["ui_cache"]})
    assert data["models"][0]["ui_cache"] == {"color": "red"}


def test_order_by_with_descending_and_paging(api, catalogue):
    query = {"order_by": ["framework", "-name"], "only_fields": ["name"]}
    ordered = [m["name"] for m in api.call("models.get_all", query)["models"]]
    assert ordered == ["gamma-net", "alpha-net", "Epsilon", "beta-net", "delta-tree"]
    pages = [api.call("models.get_all", {**query, "page": p, "page_size": 2})["models"] for p in range(3)]
    assert [m["name"] for page in pages for m in page] == ordered
    assert [len(page) for page in pages] == [2, 2, 1]


def test_paging_validation(api, catalogue):
    meta = api.error("models.get_all", {"page": 1})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12)
    assert meta["error_data"]["field"] == "page_size"
    meta = api.error("models.get_all", {"page": -1, "page_size": 10})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12) and "'page'" in meta["result_msg"]
    meta = api.error("models.get_all", {"page": 0, "page_size": 0})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12) and "'page_size'" in meta["result_msg"]


def test_page_size_is_capped_by_configuration(api, catalogue):
    capped = api.with_config({"api.max_page_size": 2})
    assert len(capped.call("models.get_all", {})["models"]) == 2
    assert len(capped.call("models.get_all", {"page": 0, "page_size": 100})["models"]) == 2


def test_order_by_errors(api, catalogue):
    meta = api.error("models.get_all", {"order_by": ["@text_score"]})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 16)
    meta = api.error("models.get_all", {"order_by": ["$where"]})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 16)


def test_search_text(api, catalogue):
    assert names(api.call("models.get_all", {"search_text": "beta"})) == ["beta-net"]


def test_search_text_within_ids(api, catalogue):
    every = {m["name"]: m["id"] for m in api.call("models.get_all", {"only_fields": ["name"]})["models"]}
    request = {"search_text": "net", "id": [every["beta-net"], every["Epsilon"]], "only_fields": ["name"]}
    assert names(api.call("models.get_all", request)) == ["beta-net"]


def test_any_and_all_multi_field_patterns_ignore_case(api, catalogue):
    any_ = {"fields": ["name", "comment"], "pattern": "BETA|epsilon"}
    assert names(api.call("models.get_all", {"_any_": any_})) == ["Epsilon", "beta-net"]
    all_ = {"fields": ["name", "framework"], "pattern": "t"}
    assert names(api.call("models.get_all", {"_all_": all_})) == ["alpha-net", "beta-net", "delta-tree", "gamma-net"]
    meta = api.error("models.get_all", {"_any_": {"fields": ["$where"], "pattern": "x"}})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 16)


def test_get_all_ex_behaves_like_get_all(api, catalogue):
    query = {"tags": ["prod"], "only_fields": ["name"], "order_by": ["name"]}
    assert api.call("models.get_all_ex", query) == api.call("models.get_all", query)


def test_query_string_parameters(api, catalogue):
    result = api.raw("models.get_all", None, method="GET", query_string="ready=false&tags=prod&only_fields[]=name")
    assert names(api.envelope(result)["data"]) == ["gamma-net"]
    result = api.raw("models.get_all", None, method="GET", query_string="page=0&page_size=1&order_by=name")
    assert [m["name"] for m in api.envelope(result)["data"]["models"]] == ["Epsilon"]


def test_get_with_a_json_body(api, catalogue):
    result = api.raw("models.get_all", {"tags": ["vision", "-prod"]}, method="GET")
    assert names(api.envelope(result)["data"]) == ["beta-net"]


def test_order_by_text_score(api, create_model):
    for _ in range(3):  # ids are random: a sort that ignored the score would interleave them
        create_model(name="only dogs", comment="a cats mention")
        create_model(name="cats and dogs", comment="cats cats cats")
    data = api.call("models.get_all", {"search_text": "cats", "order_by": ["-@text_score"], "only_fields": ["name"]})
    assert [m["name"] for m in data["models"]] == ["cats and dogs"] * 3 + ["only dogs"] * 3
    assert all(set(m) == {"id", "name"} for m in data["models"])
    paged = api.call(
        "models.get_all",
        {"search_text": "cats", "order_by": ["@text_score", "name"], "page": 1, "page_size": 4, "only_fields": ["name"]},
    )
    assert [m["name"] for m in paged["models"]] == ["only dogs"] * 2
