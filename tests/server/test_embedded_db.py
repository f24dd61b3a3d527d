"""The embedded database subprocess: start, persistence across restarts, exclusive data folder."""

from __future__ import annotations

import pymongo
import pytest

from regista.server.embedded_db import EmbeddedDatabase, EmbeddedDbError


def test_data_persists_across_restarts(tmp_path):
    with EmbeddedDatabase(tmp_path) as database:
        client = pymongo.MongoClient(database.uri)
        client.get_default_database()["things"].insert_one({"_id": "kept", "n": 1})
        client.close()
    with EmbeddedDatabase(tmp_path) as database:  # a new process, maybe a new port
        client = pymongo.MongoClient(database.uri)
        assert client.get_default_database()["things"].find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
        client.close()


def test_a_data_folder_serves_one_server_at_a_time(tmp_path):
    with EmbeddedDatabase(tmp_path):
        with pytest.raises(EmbeddedDbError, match="in use by another Regista server"):
            EmbeddedDatabase(tmp_path).start(lock_timeout_s=0.5)


def test_stop_ends_the_process(tmp_path):
    database = EmbeddedDatabase(tmp_path)
    database.start()
    process = database._process
    database.stop()
    assert process.poll() is not None
    with EmbeddedDatabase(tmp_path):  # the folder is free again
        pass


def test_a_new_server_waits_for_the_previous_one_to_release_the_folder(tmp_path):
    import threading

    first = EmbeddedDatabase(tmp_path)
    first.start()
    threading.Timer(1.0, first.stop).start()
    with EmbeddedDatabase(tmp_path) as second:  # waits up to 10 s for the lock
        assert pymongo.MongoClient(second.uri).admin.command("ping")["ok"] == 1
