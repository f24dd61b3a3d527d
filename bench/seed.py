"""Bulk-loading models straight into the database, in the shape the models service stores."""

from __future__ import annotations

from datetime import datetime, timedelta

import pymongo

from regista.services.models.documents import Model

PROJECTS = [f"project-{n}" for n in range(10)]
BASE_TIME = datetime(2026, 1, 1)


def model_document(index: int, company: str) -> dict:
    model = Model(
        id=f"model-{index:07d}",
        company=company,
        user="bench",
        name=f"model {index:07d}",
        project=PROJECTS[index % len(PROJECTS)],
        tags=[f"t{index % 5}", "even" if index % 2 == 0 else "odd"],
        framework=("PyTorch", "TensorFlow", "XGBoost")[index % 3],
        uri=f"s3://bench/model-{index}.pt",
        labels={"cat": 1, "dog": 2},
        design={"layers": [64, 128, index % 7]},
        ready=index % 4 == 0,
        created=BASE_TIME + timedelta(seconds=index),
        last_update=BASE_TIME + timedelta(seconds=index),
    )
    return model.to_mongo().to_dict()


def seed_models(uri: str, company: str, start: int, stop: int, batch: int = 1000) -> None:
    """Insert models number `start` to `stop - 1` into `company`."""
    client = pymongo.MongoClient(uri)
    try:
        collection = client.get_default_database()[Model._meta["collection"]]
        for first in range(start, stop, batch):
            collection.insert_many([model_document(i, company) for i in range(first, min(first + batch, stop))], ordered=False)
    finally:
        client.close()
