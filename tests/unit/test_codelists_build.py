"""`npc-risk codelists build` on small hermetic download folders (issue 9).

The reader keeps codes as strings in every column spelling public exports use, refuses a file a
spreadsheet has damaged, and normalises ICD-10 with the one normaliser; the build writes a
folder that passes `codelists check`, fails with exit 6 naming a required list that was not
downloaded, and keeps the packaged list (saying so in the manifest) under --allow-missing.
The codes below are taken from the packaged lists (valid SNOMED CT / dm+d identifiers).
"""

from __future__ import annotations

import csv
import io
import tomllib

import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.codelists import default_folder, load_codelists
from npc_risk.codelists.build import PublicList, build_codelists, load_mapping
from npc_risk.codelists.downloads import find_download, read_download, scan_downloads
from npc_risk.errors import CodelistError, OutputError

ASTHMA = ("195967001", "195977004", "225057002")  # packaged ltc-asthma.snomedct codes
INHALER = "13566111000001109"  # a 17-digit dm+d id: a float would round it


def _public(name="ltc-asthma.snomedct", stem="pcd-ast_cod.snomedct",
            oid="nhsd-primary-care-domain-refsets/ast_cod", cluster="AST_COD", required=True):
    system = name.rsplit(".", 1)[1]
    return PublicList(list=name, system=system, file_stem=stem, opencodelists_id=oid,
                      pcd_cluster=cluster, required=required, publisher="test", download="")


def _write(path, header, rows, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.mark.parametrize(("header", "delimiter"), [
    (("code", "term"), ","),
    (("dmd_id", "dmd_name"), ","),
    (("snomedctconceptid", "descr"), ","),
    (("ICD10code", "ICD10codeDescr"), ","),
    (("id", "name"), ","),
    (("code", "term"), "\t"),  # GM SDE sets are tab-separated .txt files
])
def test_reader_takes_every_column_spelling_and_keeps_codes_as_strings(tmp_path, header, delimiter):
    path = _write(tmp_path / "x.csv", header, [(INHALER, "an inhaler"), ("0123", "kept as spelled")],
                  delimiter)
    assert read_download(path).rows == ((INHALER, "an inhaler"), ("0123", "kept as spelled"))


def test_reader_without_a_code_column_is_a_codelist_error(tmp_path):
    path = _write(tmp_path / "x.csv", ("concept", "label"), [("1", "a")])
    with pytest.raises(CodelistError, match="no code column"):
        read_download(path)


@pytest.mark.parametrize(("name", "version"), [
    ("pcd-ast_cod.snomedct.csv", "unversioned"),  # the project's stem
    ("nhsd-primary-care-domain-refsets-ast_cod.csv", "unversioned"),  # OpenSAFELY `codelists pull`
    ("nhsd-primary-care-domain-refsets-ast_cod-20250627.csv", "20250627"),  # OpenCodelists download
])
def test_a_list_is_found_under_each_download_name(tmp_path, name, version):
    _write(tmp_path / name, ("code", "term"), [(ASTHMA[0], "Asthma")])
    p = _public()
    found = find_download(scan_downloads(tmp_path), file_stem=p.file_stem,
                          opencodelists_id=p.opencodelists_id, pcd_cluster=p.pcd_cluster)
    assert found is not None and found.version == version and found.rows == ((ASTHMA[0], "Asthma"),)


@pytest.mark.parametrize("name", ["markdrussell-asthma-secondary-care-2a250f1b.csv",  # Download CSV
                                  "user-markdrussell-asthma-secondary-care.csv"])  # codelists pull
def test_a_users_list_is_found_under_both_opencodelists_names(tmp_path, name):
    _write(tmp_path / name, ("code", "term"), [("J45", "Asthma")])
    found = find_download(scan_downloads(tmp_path), file_stem="markdrussell-asthma.icd10",
                          opencodelists_id="user/markdrussell/asthma-secondary-care", pcd_cluster="")
    assert found is not None and found.rows == (("J45", "Asthma"),)


def test_two_releases_of_one_list_are_refused(tmp_path):
    for v in ("20241205", "20250627"):
        _write(tmp_path / f"nhsd-primary-care-domain-refsets-ast_cod-{v}.csv", ("code", "term"),
               [(ASTHMA[0], "Asthma")])
    with pytest.raises(CodelistError, match="2 downloads match"):
        find_download(scan_downloads(tmp_path), file_stem="pcd-ast_cod.snomedct",
                      opencodelists_id="nhsd-primary-care-domain-refsets/ast_cod", pcd_cluster="")


def test_a_pcd_refset_release_file_supplies_its_clusters(tmp_path):
    _write(tmp_path / "PCD_Refset_Content_20250627.txt",
           ("Cluster_ID", "Cluster_description", "SNOMED_code", "SNOMED_code_description",
            "PCD_Refset_ID"),
           [("AST_COD", "Asthma codes", c, "t", "999") for c in ASTHMA]
           + [("COPD_COD", "COPD codes", "13645005", "COPD", "998")], delimiter="\t")
    found = find_download(scan_downloads(tmp_path), file_stem="pcd-ast_cod.snomedct",
                          opencodelists_id="nhsd-primary-care-domain-refsets/ast_cod",
                          pcd_cluster="AST_COD")
    assert found is not None and found.version == "20250627"
    assert [c for c, _ in found.rows] == list(ASTHMA)


def _build(tmp_path, mapping, **kw):
    return build_codelists(tmp_path / "dl", tmp_path / "built", mapping=mapping, **kw)


def test_build_writes_the_public_codes_and_a_checked_manifest(tmp_path):
    _write(tmp_path / "dl" / "pcd-ast_cod.snomedct.csv", ("code", "term"),
           [(c, "t") for c in ASTHMA] + [("195967002", "bad check digit")])
    _write(tmp_path / "dl" / "asthma-icd.csv", ("ICD10code", "ICD10codeDescr"),
           [("J45.9", "Asthma, unspecified"), ("J46X", "Status asthmaticus")])
    mapping = {"ltc-asthma.snomedct": (_public(),),
               "ltc-asthma.icd10": (_public("ltc-asthma.icd10", "asthma-icd", "", "", False),)}
    result = _build(tmp_path, mapping)
    cs = load_codelists(result.output)  # passes the same check as `codelists check`
    assert [c for c, _ in cs.lists["ltc-asthma.snomedct"].codes] == sorted(ASTHMA)
    assert [c for c, _ in cs.lists["ltc-asthma.icd10"].codes] == ["J459", "J46"]
    assert set(cs.lists) == set(load_codelists(default_folder()).lists)
    assert set(cs.catalogues) == set(load_codelists(default_folder()).catalogues)
    report = {r.name: r for r in result.lists}
    assert report["ltc-asthma.snomedct"].invalid_codes == 1
    assert report["ltc-asthma.snomedct"].status == "public"
    assert report["ltc-copd.snomedct"].status == "packaged: not mapped"
    meta = tomllib.loads((result.output / "manifest.toml").read_text())["files"]
    assert "pcd-ast_cod.snomedct.csv" in meta["ltc-asthma.snomedct.csv"]["source"]
    assert meta["ltc-asthma.snomedct.csv"]["match"] == "exact"
    assert meta["ltc-asthma.icd10.csv"]["match"] == "prefix"  # the project's rule stays
    assert meta["ltc-copd.snomedct.csv"]["source"].startswith("packaged starter list")
    assert ("qof:asthma", "ltc-asthma.snomedct") in result.concepts


def test_an_icd10_parent_whose_children_are_named_does_not_match_the_others(tmp_path):
    """N18 + N183/N184 means stages 3-4: as a prefix N18 would also match N181, N182, N189."""
    _write(tmp_path / "dl" / "ckd.csv", ("code", "term"),
           [("N18", "CKD"), ("N18.3", "stage 3"), ("N18.4", "stage 4"), ("I48", "AF")])
    mapping = {"ltc-ckd.icd10": (_public("ltc-ckd.icd10", "ckd", "", "", False),)}
    result = _build(tmp_path, mapping)
    codes = [c for c, _ in load_codelists(result.output).lists["ltc-ckd.icd10"].codes]
    assert codes == ["I48", "N183", "N184"]  # I48 names no 4-character code: it stays a prefix
    (row,) = [r for r in result.lists if r.name == "ltc-ckd.icd10"]
    assert (row.public_codes, row.built_codes) == (4, 3)


@pytest.mark.parametrize("damaged", ["1.95967E+08", "0195967001", "195967001.0"])
def test_a_download_damaged_by_a_spreadsheet_is_refused(tmp_path, damaged):
    _write(tmp_path / "dl" / "pcd-ast_cod.snomedct.csv", ("code", "term"),
           [(ASTHMA[0], "t"), (damaged, "t")])
    with pytest.raises(CodelistError, match="spreadsheet") as exc:
        _build(tmp_path, {"ltc-asthma.snomedct": (_public(),)})
    assert exc.value.exit_code == 6
    assert not (tmp_path / "built").exists()


def test_a_list_is_built_only_when_all_its_public_lists_are_downloaded(tmp_path):
    (tmp_path / "dl").mkdir()
    _write(tmp_path / "dl" / "pcd-strk_cod.snomedct.csv", ("code", "term"), [(ASTHMA[0], "t")])
    strk = _public("ltc-stroke-tia.snomedct", "pcd-strk_cod.snomedct", "x/strk_cod", "", False)
    tia = _public("ltc-stroke-tia.snomedct", "pcd-tia_cod.snomedct", "x/tia_cod", "", False)
    result = _build(tmp_path, {"ltc-stroke-tia.snomedct": (strk, tia)})
    (row,) = [r for r in result.lists if r.name == "ltc-stroke-tia.snomedct"]
    assert row.status == "packaged: not downloaded" and "x/tia_cod" in row.sources


def test_output_that_exists_is_an_output_error(tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "built").mkdir()
    with pytest.raises(OutputError):
        _build(tmp_path, {})


def test_output_under_a_file_is_an_output_error(tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputError, match="cannot create"):
        build_codelists(tmp_path / "dl", tmp_path / "a-file" / "built", mapping={})


def test_the_mapping_names_every_packaged_list_once_per_public_list():
    mapping = load_mapping()
    assert set(mapping) == set(load_codelists(default_folder()).lists)
    for name, publics in mapping.items():
        assert all(p.system == name.rsplit(".", 1)[1] for p in publics)
        assert all(p.opencodelists_id or p.download for p in publics), name
        assert len({p.file_stem for p in publics}) == len(publics), name


def _cli(*args):
    return CliRunner().invoke(app, ["codelists", "build", *map(str, args)])


def test_cli_missing_required_list_exits_6_naming_it_and_where_to_get_it(tmp_path):
    (tmp_path / "dl").mkdir()
    result = _cli("--from", tmp_path / "dl", "--output", tmp_path / "built")
    assert result.exit_code == 6
    assert "nhsd-primary-care-domain-refsets/" in result.output
    assert "https://www.opencodelists.org/codelist/" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "built").exists()


def test_cli_allow_missing_keeps_the_packaged_lists_and_says_so(tmp_path):
    (tmp_path / "dl").mkdir()
    _write(tmp_path / "dl" / "pcd-ast_cod.snomedct.csv", ("code", "term"), [(c, "t") for c in ASTHMA])
    result = _cli("--from", tmp_path / "dl", "--output", tmp_path / "built", "--allow-missing")
    assert result.exit_code == 0, result.output
    meta = tomllib.loads((tmp_path / "built" / "manifest.toml").read_text())["files"]
    assert "--allow-missing" in meta["ltc-copd.snomedct.csv"]["source"]
    assert "nhsd-primary-care-domain-refsets/ast_cod" in meta["ltc-asthma.snomedct.csv"]["source"]
    listed = CliRunner().invoke(app, ["codelists", "list", "--folder", str(tmp_path / "built")])
    assert listed.exit_code == 0 and "source" in listed.output


def test_codelists_list_says_the_packaged_lists_are_a_starter_set():
    listed = CliRunner().invoke(app, ["codelists", "list"])
    assert listed.exit_code == 0
    assert "not for real data" in " ".join(listed.output.split())
