import pytest

from ugc import storage


def test_roundtrip_list_exists_delete(root):
    a, b = storage.join(root, "x", "a.bin"), storage.join(root, "x", "sub", "b.bin")
    storage.write_bytes(a, b"hello")
    storage.write_bytes(b, "数据".encode())
    assert storage.read_bytes(a) == b"hello"
    assert storage.read_bytes(b).decode() == "数据"
    assert storage.list_files(storage.join(root, "x")) == sorted([a, b])
    assert storage.list_files(storage.join(root, "x"), recursive=False) == [a]
    assert storage.list_dirs(storage.join(root, "x")) == ["sub"]
    assert storage.exists(a) and not storage.exists(storage.join(root, "nope"))
    storage.delete(a)
    storage.delete(a)  # idempotent
    assert not storage.exists(a)


def test_missing_object_is_file_not_found(root):
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(storage.join(root, "missing.json"))
    assert storage.list_files(storage.join(root, "empty-prefix")) == []


def test_overwrite_is_atomic_and_leaves_no_temp_files(root):
    uri = storage.join(root, "m.json")
    storage.write_bytes(uri, b"v1")
    storage.write_bytes(uri, b"v2")
    assert storage.read_bytes(uri) == b"v2"
    assert storage.list_files(root) == [uri]


@pytest.mark.parametrize("base,parts,expected", [
    ("s3://b/lake/", ("posts", "dt=1"), "s3://b/lake/posts/dt=1"),
    ("/tmp/x", ("/a/", "b"), "/tmp/x/a/b"),
    ("s3://b", ("",), "s3://b"),
])
def test_join(base, parts, expected):
    assert storage.join(base, *parts) == expected


def test_bad_s3_uri():
    with pytest.raises(storage.StorageError):
        storage.read_bytes("s3:///no-bucket")
