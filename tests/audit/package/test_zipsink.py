"""The package's zip is written by a child process fed while the files are made; where no
child can start it is written in-process, with the same bytes; a child that dies is an error,
never a partial package."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

from changegate.audit.package.zipsink import ZipSink

FILES = [
    ("changes/CHG-1/events.jsonl", b'{"seq":1}\n' * 5000),
    ("changes/CHG-1/proofs.json", b"{}"),
    ("empty.txt", b""),
    ("caf\u00e9/\u00fcml\u00e4ut.html", "<p>\u00e9</p>".encode()),
    ("manifest.json", b'{"files":{}}'),
]


def _write(files: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    sink = ZipSink(out)
    for name, data in files:
        sink.add(name, data)
    sink.close()
    return out.getvalue()


def test_the_child_writes_every_file_in_order() -> None:
    data = _write(FILES)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        assert [i.filename for i in z.infolist()] == [n for n, _ in FILES]
        assert all(z.read(n) == d for n, d in FILES)
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}


def test_without_a_child_the_zip_is_written_here_with_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_child = _write(FILES)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    assert _write(FILES) == with_child


def test_a_child_that_fails_is_an_error_and_out_stays_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    out = io.BytesIO()
    sink = ZipSink(out)
    with pytest.raises(OSError, match="the process writing the package's zip failed"):
        for name, data in FILES * 50:
            sink.add(name, data)
        sink.close()
    assert out.getvalue() == b""


def test_abort_stops_the_child() -> None:
    out = io.BytesIO()
    sink = ZipSink(out)
    sink.add(*FILES[0])
    child = sink._child
    sink.abort()
    assert child is not None and child.poll() is not None
    assert out.getvalue() == b""
