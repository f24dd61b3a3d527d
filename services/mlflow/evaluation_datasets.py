"""MLflow 3 evaluation datasets (`mlflow.genai.datasets`): named sets of records (inputs, expectations,
outputs) linked to experiments, upserted by their inputs, read back a page at a time.

On the wire a dataset's tags, and a page of records, are JSON text inside the JSON answer, as MLflow's
protocol has them. Searches take MLflow's filter grammar over name, tags and the creation facts.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.atomic import modify
from regista.services.common.values import utcnow
from regista.services.mlflow import search as grammar
from regista.services.mlflow.common import find_experiment
from regista.services.mlflow.genai_documents import DatasetRecord, EvaluationDataset
from regista.services.mlflow.trace_info import keyed, plain

USER_TAG = "mlflow.user"
DEFAULT_SEARCH_RESULTS = 1000
DEFAULT_RECORDS = 1000
RECORD_FIELDS = ("inputs", "expectations", "outputs", "tags", "source")


def _now() -> int:
    return int(utcnow().timestamp() * 1000)


def _not_found(dataset_id: str) -> ApiError:
    return ApiError("resource_does_not_exist", f"Evaluation dataset with id '{dataset_id}' not found")


def _tags_of(request: dict[str, Any]) -> dict[str, str]:
    text = request.get("tags")
    if not text:
        return {}
    try:
        tags = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise ApiError("invalid_parameter_value", "tags must be a JSON object of strings, as text") from None
    if not isinstance(tags, dict):
        raise ApiError("invalid_parameter_value", "tags must be a JSON object of strings, as text")
    return {str(k): "" if v is None else str(v) for k, v in tags.items()}


def shape(raw: dict[str, Any]) -> dict[str, Any]:
    dataset = {
        "dataset_id": raw["_id"], "name": raw["name"], "tags": json.dumps(plain(raw.get("tags"))),
        "digest": raw.get("digest") or "", "created_time": raw.get("created_time") or 0,
        "last_update_time": raw.get("last_update_time") or 0, "experiment_ids": list(raw.get("experiments") or []),
    }  # fmt: skip
    for field in ("schema", "profile", "created_by", "last_updated_by"):
        if raw.get(field) is not None:
            dataset[field] = raw[field]
    return dataset


def find(call: Call, dataset_id: str) -> dict[str, Any]:
    raw = EvaluationDataset._get_collection().find_one({"_id": dataset_id, "company": call.company})
    if raw is None:
        raise _not_found(dataset_id)
    return raw


def change(call: Call, dataset_id: str, update) -> dict[str, Any]:
    def stamped(dataset: EvaluationDataset) -> None:
        update(dataset)
        dataset.last_update_time = _now()

    dataset, _ = modify(EvaluationDataset, {"_id": dataset_id, "company": call.company}, stamped)
    if dataset is None:
        raise _not_found(dataset_id)
    return dataset.to_mongo().to_dict()


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiments = [find_experiment(call, e)["_id"] for e in request.get("experiment_ids") or []]
    tags, now = _tags_of(request), _now()
    dataset_id = f"d-{uuid.uuid4().hex}"
    author = request.get("created_by") or tags.get(USER_TAG) or (call.identity.user_name if call.identity else None)
    dataset = EvaluationDataset(
        id=dataset_id, company=call.company, name=request["name"], tags=keyed(tags), schema=request.get("schema"),
        profile=request.get("profile"), source_type=request.get("source_type"), source=request.get("source"),
        experiments=list(dict.fromkeys(experiments)), created_time=now, last_update_time=now, created_by=author,
        last_updated_by=author, digest=_digest(dataset_id, now),
    )  # fmt: skip
    dataset.save(force_insert=True)
    return {"dataset": shape(dataset.to_mongo().to_dict())}


def _digest(dataset_id: str, stamp: int) -> str:
    return hashlib.sha256(f"{dataset_id}:{stamp}".encode()).hexdigest()[:8]


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"dataset": shape(find(call, request["dataset_id"]))}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    dataset_id = request["dataset_id"]
    EvaluationDataset._get_collection().delete_one({"_id": dataset_id, "company": call.company})
    DatasetRecord._get_collection().delete_many({"dataset": dataset_id, "company": call.company})
    return {}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = {"company": call.company}
    if request.get("experiment_ids"):  # as MLflow filters: an experiment that is not the caller's matches nothing
        query["experiments"] = {"$in": [e for e in request["experiment_ids"] if _experiment_or_none(call, e)]}
    predicates = grammar.parse_filter(request.get("filter_string") or "")
    entities = [_entity(raw) for raw in EvaluationDataset._get_collection().find(query)]
    matching = [e for e in entities if all(p(e) for p in predicates)]
    ordered = grammar.order(matching, list(request.get("order_by") or ["created_time DESC"]))
    limit = int(request.get("max_results") or DEFAULT_SEARCH_RESULTS)
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({k: v for k, v in request.items() if k not in ("page_token", "max_results")})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    page = ordered[start : start + limit]
    result: dict[str, Any] = {"datasets": [e["dataset"] for e in page]} if page else {}
    if start + limit < len(ordered):
        result["next_page_token"] = scroll.encode(secret, start + limit, fingerprint)
    return result


def _experiment_or_none(call: Call, experiment_id: str) -> str | None:
    try:
        return find_experiment(call, experiment_id)["_id"]
    except ApiError:
        return None


def _entity(raw: dict[str, Any]) -> dict[str, Any]:
    """A dataset as the filter grammar reads entities: attributes in `info`, tags in `data`."""
    dataset = shape(raw)
    info = {key: dataset.get(key) for key in ("name", "dataset_id", "digest", "created_time", "last_update_time", "created_by", "last_updated_by")}
    return {"info": info, "data": {"tags": [{"key": k, "value": v} for k, v in plain(raw.get("tags")).items()]}, "dataset": dataset}


def set_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    tags = _tags_of(request)
    return {"dataset": shape(change(call, request["dataset_id"], lambda d: setattr(d, "tags", keyed({**plain(d.tags), **tags}))))}


def delete_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    key = request["key"]
    change(call, request["dataset_id"], lambda d: setattr(d, "tags", keyed({k: v for k, v in plain(d.tags).items() if k != key})))
    return {}


def experiment_ids(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"experiment_ids": list(find(call, request["dataset_id"]).get("experiments") or [])}


def add_experiments(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    adding = [find_experiment(call, e)["_id"] for e in request.get("experiment_ids") or []]
    raw = change(call, request["dataset_id"], lambda d: setattr(d, "experiments", list(dict.fromkeys([*d.experiments, *adding]))))
    return {"dataset": shape(raw)}


def remove_experiments(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    removing = set(request.get("experiment_ids") or [])
    raw = change(call, request["dataset_id"], lambda d: setattr(d, "experiments", [e for e in d.experiments if e not in removing]))
    return {"dataset": shape(raw)}


def upsert_records(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Records (JSON text of a list) added, or merged into the record of the same inputs: expectations and
    tags merged key by key, outputs and source replaced when given."""
    dataset = find(call, request["dataset_id"])
    try:
        records = json.loads(request["records"]) if isinstance(request["records"], str) else request["records"]
    except ValueError:
        raise ApiError("invalid_parameter_value", "records must be a JSON list of records, as text") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) and isinstance(r.get("inputs"), dict) for r in records):
        raise ApiError("invalid_parameter_value", "records must be a list of objects, each with an `inputs` object")
    author = request.get("updated_by") or (call.identity.user_name if call.identity else None)
    inserted = updated = 0
    collection = DatasetRecord._get_collection()
    for record in records:
        key = hashlib.sha256(f"{dataset['_id']}:{json.dumps(record['inputs'], sort_keys=True)}".encode()).hexdigest()
        existing = collection.find_one({"inputs_key": key, "dataset": dataset["_id"], "company": call.company})
        now = _now()
        if existing is None:
            document = _new_record(call, dataset["_id"], key, record, author, now)
            try:
                collection.insert_one(document)
                inserted += 1
                continue
            except DuplicateKeyError:  # pragma: no cover - ids are random
                raise ApiError("update_conflict", "a record id collided; retry the request") from None
        merged = _merged(existing, record)
        merged.update({"last_update_time": now, "last_updated_by": author})
        collection.replace_one({"_id": existing["_id"], "company": call.company}, merged)
        updated += 1
    change(call, dataset["_id"], lambda d: setattr(d, "digest", _digest(d.id, _now())))
    return {"inserted_count": inserted, "updated_count": updated}


def _new_record(call: Call, dataset_id: str, key: str, record: dict[str, Any], author: str | None, now: int) -> dict[str, Any]:
    source = record.get("source")
    document = {
        "_id": f"dr-{uuid.uuid4().hex}", "company": call.company, "dataset": dataset_id, "inputs_key": key,
        "created_time": now, "last_update_time": now, "created_by": author, "last_updated_by": author,
        "source_type": (source or {}).get("source_type") if isinstance(source, dict) else None,
        "source_id": record.get("source_id"),
    }  # fmt: skip
    for field in RECORD_FIELDS:
        if record.get(field) is not None:
            document[field] = json.dumps(record[field])
    return document


def _merged(existing: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    merged = dict(existing)
    for field in ("expectations", "tags"):
        if isinstance(record.get(field), dict):
            merged[field] = json.dumps({**json.loads(existing.get(field) or "{}"), **record[field]})
    for field in ("outputs", "source"):
        if record.get(field) is not None:
            merged[field] = json.dumps(record[field])
    return merged


def get_records(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    dataset = find(call, request["dataset_id"])
    limit = int(request.get("max_results") or DEFAULT_RECORDS)
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({"dataset_id": dataset["_id"]})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    found = list(DatasetRecord._get_collection().find({"dataset": dataset["_id"], "company": call.company})
                 .sort([("created_time", 1), ("_id", 1)]).skip(start).limit(limit + 1))  # fmt: skip
    result: dict[str, Any] = {"records": json.dumps([_record(raw) for raw in found[:limit]])}
    if len(found) > limit:
        result["next_page_token"] = scroll.encode(secret, start + limit, fingerprint)
    return result


def _record(raw: dict[str, Any]) -> dict[str, Any]:
    record = {
        "dataset_record_id": raw["_id"], "dataset_id": raw["dataset"], "created_time": raw.get("created_time"),
        "last_update_time": raw.get("last_update_time"), "created_by": raw.get("created_by"),
        "last_updated_by": raw.get("last_updated_by"), "source_type": raw.get("source_type"), "source_id": raw.get("source_id"),
    }  # fmt: skip
    for field in RECORD_FIELDS:
        record[field] = json.loads(raw[field]) if raw.get(field) is not None else ({} if field == "inputs" else None)
    return record


def delete_records(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    dataset = find(call, request["dataset_id"])
    ids = list(request.get("dataset_record_ids") or [])
    deleted = DatasetRecord._get_collection().delete_many({"_id": {"$in": ids}, "dataset": dataset["_id"], "company": call.company}).deleted_count
    return {"deleted_count": deleted}
