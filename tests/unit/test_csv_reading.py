"""Unit: how files.py reads a CSV's format and numbers its lines (issue 10, finding 7)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from npc_risk import files
from npc_risk.errors import InputFileError

EXPECTED = {"patient_id", "date", "snomedct_code"}


@pytest.mark.parametrize(("header", "delimiter"), [
    ("patient_id,date,snomedct_code", ","),
    ("patient_id;date;snomedct_code", ";"),
    ("patient_id\tdate\tsnomedct_code", "\t"),
    ("patient_id|date|snomedct_code", "|"),
    ('"patient_id","date","snomedct_code"', ","),
    ("\ufeffpatient_id , date , snomedct_code", ","),  # BOM and padding
])
def test_format_comes_from_the_header_row(tmp_path, header, delimiter):
    path = tmp_path / "t.csv"
    # The data row has more commas than the header: it plays no part.
    path.write_text(header + "\r\nP1,a,b,c,d,e;f\n", encoding="utf-8")
    fmt = files.csv_format(path, EXPECTED)
    assert (fmt.compression, fmt.delimiter, fmt.header) == ("none", delimiter, ("patient_id", "date", "snomedct_code"))


def test_gzip_is_read_from_the_first_bytes_not_the_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(gzip.compress(b"patient_id,date\nP1,2025-01-01\n"))
    assert files.csv_format(path, EXPECTED) == files.CsvFormat("gzip", ",", ("patient_id", "date"))


def test_header_that_is_not_utf8_is_an_input_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("patient_id,d\xe4te\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="header row is not UTF-8"):
        files.csv_format(path, EXPECTED)


@pytest.mark.parametrize("block", [1, 2, 3, 5, 1 << 20])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_scan_numbers_lines_from_byte_offsets(tmp_path, monkeypatch, block, newline):
    """Each offset's line is the line breaks before it + 1; CRLF is one break, wherever the
    file's blocks are cut (a CR at the end of one block, its LF at the start of the next)."""
    monkeypatch.setattr(files, "_BLOCK", block)
    lines = ["h,h", "a,b", "", "c,d", "e,f"]
    data = newline.join(lines).encode()
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    starts = np.cumsum([0] + [len(line) + len(newline) for line in lines[:-1]])
    scan = files.scan_lines(path, "none", starts)
    assert scan.numbers.tolist() == [1, 2, 3, 4, 5]
    assert (scan.lines, scan.quoted) == (4, False)  # the empty line 3 is not counted


def test_scan_numbers_lines_with_mixed_breaks(tmp_path):
    data = b"h\r\na\nb\rc\r\nd"
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    offsets = [data.index(c) for c in (b"a", b"b", b"c", b"d")]
    assert files.scan_lines(path, "none", offsets).numbers.tolist() == [2, 3, 4, 5]


def test_scan_of_a_gzipped_file_with_quotes(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(gzip.compress(b'h,h\r\n\r\na,"b\r\nc"\r\n'))
    scan = files.scan_lines(path, "gzip", [7])
    assert (scan.numbers.tolist(), scan.lines, scan.quoted) == ([3], 3, True)


def test_normalised_copy_keeps_the_line_count(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_BLOCK", 2)
    source, target = tmp_path / "s.csv", tmp_path / "t.csv"
    source.write_bytes(b"h\r\na\nb\rc\r\nd\r")
    files._normalise_line_breaks(source, "none", target)
    assert target.read_bytes() == b"h\na\nb\nc\nd\n"
    assert target.stat().st_mode & 0o777 == files.PRIVATE_FILE_MODE


def test_reader_that_loses_records_is_caught(tmp_path, monkeypatch):
    """The reader's records (read + rejected) are checked against the file's non-empty lines:
    a reader that dropped rows silently (DuckDB 2.0's parallel scanner with store_rejects did)
    is a LinesUnaccounted error with counts only, not a short table."""
    from npc_risk.config import RunConfig
    from npc_risk.engine import Engine

    path = tmp_path / "t.csv"
    path.write_text("a,b\nP1,x\nP2,y\n\nP3,z\n", encoding="utf-8")
    real = files.scan_lines
    monkeypatch.setattr(files, "scan_lines", lambda *a: real(*a).__class__(real(*a).numbers, 5, False))
    with Engine.open(RunConfig()) as engine, pytest.raises(files.LinesUnaccounted) as raised:
        files.read_raw(engine, path, name="t", scratch=tmp_path / "work", expected={"a", "b"})
    assert str(raised.value).endswith(
        "accounted for 3 records (3 read, 0 rejected) in 4 non-empty lines after the header")
