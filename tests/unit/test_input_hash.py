"""The run manifest's hash of an input: of a file, or of a folder of Parquet part files (issue 10:
`run` hashed a part-file folder as if it were a file and crashed after all its work)."""

from pathlib import Path

from npc_risk.hashing import file_sha256, input_sha256, text_sha256


def test_a_file_is_hashed_by_its_bytes(tmp_path: Path):
    path = tmp_path / "practices.csv"
    path.write_bytes(b"practice_code\nA00001\n")
    assert input_sha256(path) == file_sha256(path)


def test_a_folder_of_parts_is_hashed_by_its_files_names_and_hashes(tmp_path: Path):
    folder = tmp_path / "clinical_events"
    folder.mkdir()
    (folder / "part-1.parquet").write_bytes(b"second")
    (folder / "part-0.parquet").write_bytes(b"first")
    expected = text_sha256(f"part-0.parquet {file_sha256(folder / 'part-0.parquet')}\n"
                           f"part-1.parquet {file_sha256(folder / 'part-1.parquet')}\n")
    assert input_sha256(folder) == expected
    before = input_sha256(folder)
    (folder / "part-1.parquet").rename(folder / "part-2.parquet")  # renaming a part changes it
    assert input_sha256(folder) != before
