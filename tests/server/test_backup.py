"""`regista backup` under write load and `regista restore` into the stopped server's folder."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import requests

from bench import processes


def regista(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "regista.cli", *args], capture_output=True, text=True, timeout=120)


def test_a_backup_taken_under_load_restores_every_write_acknowledged_before_it(tmp_path):
    data_dir, backup_dir = tmp_path / "data", tmp_path / "backup"
    acknowledged: list[str] = []
    stop = threading.Event()

    def write(server) -> None:
        while not stop.is_set():
            body = {"name": f"model {len(acknowledged)}", "uri": "s3://m", "labels": {}}
            answer = requests.post(f"{server.url}/api/models.create", json=body, headers=server.auth, timeout=30).json()
            assert answer["meta"]["result_code"] == 200
            acknowledged.append(answer["data"]["id"])

    with processes.regista(data_dir, tmp_path / "server.log") as server:
        writers = [threading.Thread(target=write, args=(server,)) for _ in range(3)]
        for writer in writers:
            writer.start()
        while len(acknowledged) < 30:
            time.sleep(0.05)
        before_backup = list(acknowledged)
        made = regista("backup", str(backup_dir), "--data-dir", str(data_dir))
        after_backup = len(acknowledged)
        stop.set()
        for writer in writers:
            writer.join()
        assert made.returncode == 0, made.stderr
        assert after_backup > len(before_backup)  # writes went on during the backup
        refused = regista("restore", str(backup_dir), "--data-dir", str(data_dir))
        assert refused.returncode == 1 and "stop it first" in refused.stderr  # never under a running server
        assert server.stop() == 0
    written_after = acknowledged[after_backup:]

    restored = regista("restore", str(backup_dir), "--data-dir", str(data_dir))
    assert restored.returncode == 0, restored.stderr
    assert [p.name for p in data_dir.glob("db.before-restore-*")]  # what it replaced is kept

    with processes.regista(data_dir, tmp_path / "server-restored.log") as server:
        def exists(model_id: str) -> bool:
            body = {"model": model_id}
            return requests.post(f"{server.url}/api/models.get_by_id", json=body, headers=server.auth, timeout=30).json()["meta"]["result_code"] == 200

        assert all(exists(model_id) for model_id in before_backup)
        assert not any(exists(model_id) for model_id in written_after)  # the copy is of its moment
        assert server.stop() == 0


def test_backup_and_restore_explain_what_they_cannot_do(tmp_path):
    empty = regista("backup", str(tmp_path / "copy"), "--data-dir", str(tmp_path / "nothing"))
    assert empty.returncode == 1 and "holds no embedded database" in empty.stderr
    not_a_backup = regista("restore", str(tmp_path), "--data-dir", str(tmp_path / "data"))
    assert not_a_backup.returncode == 1 and "is not a Regista backup" in not_a_backup.stderr
    mongodb = subprocess.run(
        [sys.executable, "-m", "regista.cli", "backup", str(tmp_path / "copy")], capture_output=True, text=True,
        env={"REGISTA__MONGODB__URI": "mongodb://db.example:27017/regista", "PATH": ""}, timeout=60,
    )  # fmt: skip
    assert mongodb.returncode == 2 and "mongodump" in mongodb.stderr
