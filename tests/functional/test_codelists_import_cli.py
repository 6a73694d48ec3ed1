"""`npc-risk codelists import` from the command line: a PCD refset cluster and an OpenCodelists
download become versioned lists in a folder; a wrong format or a missing cluster is one line, exit 6."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.codelists import load_codelists
from npc_risk.codelists.store import default_folder

PCD = ("Cluster_ID,Cluster_description,SNOMED_code,SNOMED_code_description,PCD_Refset_ID\n"
       "HF_COD,Heart failure codes,84114007,Heart failure,999\n"
       "AST_COD,Asthma codes,195967001,Asthma,998\n")


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "lists"
    shutil.copytree(default_folder(), folder)
    return folder


def _import(source: Path, folder: Path, *options: str):
    return CliRunner().invoke(app, ["codelists", "import", str(source), "--folder", str(folder), *options])


def test_a_pcd_cluster_is_imported_with_its_version(tmp_path: Path):
    folder, source = _folder(tmp_path), tmp_path / "refset.csv"
    source.write_text(PCD)
    result = _import(source, folder, "--name", "pcd-hf.snomedct", "--concept", "heart failure",
                     "--format", "pcd", "--cluster-id", "HF_COD", "--list-version", "20250627")
    assert result.exit_code == 0, result.output
    imported = load_codelists(folder).lists["pcd-hf.snomedct"]
    assert {code for code, _ in imported.codes} == {"84114007"}  # AST_COD's row is another cluster


def test_an_opencodelists_download_is_imported(tmp_path: Path):
    folder, source = _folder(tmp_path), tmp_path / "download.csv"
    source.write_text("code,term\nJ44.1,COPD with acute exacerbation\n")
    result = _import(source, folder, "--name", "oc-copd.icd10", "--concept", "copd",
                     "--format", "opencodelists", "--system", "icd10", "--source", "opencodelists")
    assert result.exit_code == 0, result.output
    assert {code for code, _ in load_codelists(folder).lists["oc-copd.icd10"].codes} == {"J441"}


def test_a_pcd_file_without_a_cluster_id_is_exit_6_naming_the_option(tmp_path: Path):
    folder, source = _folder(tmp_path), tmp_path / "refset.csv"
    source.write_text(PCD)
    result = _import(source, folder, "--name", "x.snomedct", "--concept", "x", "--format", "pcd")
    assert result.exit_code == 6
    assert "--cluster-id" in result.output and "Traceback" not in result.output


def test_an_unknown_format_is_exit_6_naming_the_choices(tmp_path: Path):
    folder, source = _folder(tmp_path), tmp_path / "refset.csv"
    source.write_text(PCD)
    result = _import(source, folder, "--name", "x.snomedct", "--concept", "x", "--format", "csv")
    assert result.exit_code == 6
    assert "use pcd or opencodelists" in result.output
