"""The ClearML-compatible file server under /files."""

from __future__ import annotations

import requests

from tests.conftest import serve_in_thread


def test_upload_download_and_delete(api):
    with serve_in_thread(api.client.app) as url:
        headers = api.headers
        upload = requests.post(f"{url}/files", files={"/proj/run/models/w.bin": ("w.bin", b"weights")}, headers=headers, timeout=10)
        assert upload.status_code == 200 and upload.json() == ["proj/run/models/w.bin"]
        download = requests.get(f"{url}/files/proj/run/models/w.bin", headers=headers, timeout=10)
        assert download.status_code == 200 and download.content == b"weights"
        # A download resumed from byte 4, and the size alone (HEAD), as clients of a file server ask.
        rest = requests.get(f"{url}/files/proj/run/models/w.bin", headers={**headers, "Range": "bytes=4-"}, timeout=10)
        assert (rest.status_code, rest.content, rest.headers["Content-Range"]) == (206, b"hts", "bytes 4-6/7")
        head = requests.head(f"{url}/files/proj/run/models/w.bin", headers=headers, timeout=10)
        assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", "7")
        other = api.as_user(company="other")
        assert requests.get(f"{url}/files/proj/run/models/w.bin", headers=other.headers, timeout=10).status_code == 404
        assert requests.get(f"{url}/files/proj/run/models/w.bin", timeout=10).status_code == 401
        assert requests.delete(f"{url}/files/proj/run/models/w.bin", headers=headers, timeout=10).status_code == 200
        assert requests.get(f"{url}/files/proj/run/models/w.bin", headers=headers, timeout=10).status_code == 404


def test_hostile_uploads(api):
    with serve_in_thread(api.client.app) as url:
        traversal = requests.post(f"{url}/files", files={"../../escape.bin": ("x", b"x")}, headers=api.headers, timeout=10)
        assert traversal.status_code == 400
        not_multipart = requests.post(f"{url}/files", data=b"raw", headers=api.headers, timeout=10)
        assert not_multipart.status_code == 415
        body = (b'--b\r\nContent-Disposition: form-data; name="a.txt"; filename="a.txt"\r\n\r\nx\r\n--b--\r\n' for _ in range(1))
        chunked = requests.post(f"{url}/files", data=body, headers={**api.headers, "Content-Type": "multipart/form-data; boundary=b"}, timeout=10)
        assert chunked.status_code == 411 and "Content-Length" in chunked.json()["meta"]["result_msg"]


def test_the_prefix_is_configurable(api):
    moved = api.with_config({"files.prefix": "/storage/"})
    with serve_in_thread(moved.client.app) as url:
        upload = requests.post(f"{url}/storage", files={"a.txt": ("a.txt", b"a")}, headers=moved.headers, timeout=10)
        assert upload.status_code == 200
        assert requests.get(f"{url}/storage/a.txt", headers=moved.headers, timeout=10).content == b"a"


def test_delete_many_removes_files_and_folders_of_the_caller_only(api):
    with serve_in_thread(api.client.app) as url:
        files = {"/ds/v1/a.bin": ("a", b"a"), "/ds/v1/sub/b.bin": ("b", b"b"), "/keep/c.bin": ("c", b"c")}
        assert requests.post(f"{url}/files", files=files, headers=api.headers, timeout=10).status_code == 200
        other = api.as_user(company="other")
        assert requests.post(f"{url}/files", files={"/ds/v1/a.bin": ("a", b"theirs")}, headers=other.headers, timeout=10).status_code == 200
        answer = requests.post(f"{url}/files/delete_many", json={"files": ["ds/v1", "missing.bin", "", "../x"]}, headers=api.headers, timeout=10)
        assert answer.status_code == 200
        body = answer.json()
        assert body["deleted"] == {"ds/v1": "ds/v1"}
        assert sorted(f for found in body["errors"].values() for f in found) == ["", "../x", "missing.bin"]
        assert requests.get(f"{url}/files/ds/v1/sub/b.bin", headers=api.headers, timeout=10).status_code == 404
        assert requests.get(f"{url}/files/keep/c.bin", headers=api.headers, timeout=10).content == b"c"
        assert requests.get(f"{url}/files/ds/v1/a.bin", headers=other.headers, timeout=10).content == b"theirs"
        bad = requests.post(f"{url}/files/delete_many", json={"files": "ds"}, headers=api.headers, timeout=10)
        assert bad.status_code == 400
        assert requests.post(f"{url}/files/delete_many", json={"files": ["keep"]}, timeout=10).status_code == 401
