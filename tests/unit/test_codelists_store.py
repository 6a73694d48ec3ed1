"""Code lists as data: hashes, formats per coding system, duplicates, empties, manifest agreement."""

import hashlib
import shutil
import tomllib

import pytest

from npc_risk.codelists import (
    check_codelists,
    code_problem,
    default_folder,
    import_opencodelists,
    import_pcd_refset,
    list_codelists,
    load_codelists,
)
from npc_risk.errors import CodelistError

EFI_EXAMPLES = {  # clinical-definitions.md §1.4: every printed example must be in its list
    "efi-activity-limitation": "21134002 160983005", "efi-anaemia": "271737000 87522002",
    "efi-arthritis": "3723001 69896004 396275006", "efi-atrial-fibrillation": "49436004 5370000",
    "efi-stroke-tia": "230690007 266257000 432504007", "efi-ckd": "709044004 433144002",
    "efi-diabetes": "73211009 44054006 46635009", "efi-dizziness": "404640003 399153001",
    "efi-dyspnoea": "267036007 60845006", "efi-falls": "161898004 1912002 279992002",
    "efi-foot-problems": "47850008 160779001", "efi-fragility-fracture": "5913000 263225007",
    "efi-hearing-loss": "15188001 6012004", "efi-heart-failure": "84114007 42343007",
    "efi-heart-valve-disease": "60573004 48724000", "efi-housebound": "160689007",
    "efi-hypertension": "38341003 59621000", "efi-hypotension": "28651003 45007003 271594007",
    "efi-chd": "414545008 22298006 194828000", "efi-cognitive-problems": "52448006 26929004 386806002",
    "efi-mobility-problems": "8510008 160681005", "efi-osteoporosis": "64859006",
    "efi-parkinsons": "49049000 32798002 26079004", "efi-peptic-ulcer": "13200003 397825006 51868009",
    "efi-pvd": "400047006", "efi-care-requirement": "160734000 248171000000108 160774006",
    "efi-respiratory-disease": "13645005 195967001", "efi-skin-ulcer": "95344007 399912005",
    "efi-sleep-disturbance": "193462001 162201008", "efi-social-vulnerability": "105529008 33553000 81877007",
    "efi-thyroid-disorders": "40930008 34486009", "efi-urinary-incontinence": "165232002",
    "efi-urinary-system-disease": "68566005 266569009 11441004", "efi-vision-problems": "193570009 397540003",
    "efi-weight-loss": "89362005 79890006",
}


def test_packaged_lists_have_no_problems():
    assert check_codelists() == []


def test_hashes_recomputed_match_manifest():
    """One schema for every data manifest: [files."<name>.csv"] with description, source,
    version and sha256 (npc_risk.manifest); code lists add system and match."""
    folder = default_folder()
    for sub in (folder, folder / "maps"):
        manifest = tomllib.loads((sub / "manifest.toml").read_text())["files"]
        for name, meta in manifest.items():
            assert hashlib.sha256((sub / name).read_bytes()).hexdigest() == meta["sha256"], name
            assert {"description", "source", "version", "sha256"} <= set(meta), name
            if sub == folder:
                assert {"system", "match"} <= set(meta), name


def test_old_manifest_schema_is_reported_with_the_fix(tmp_path):
    f = _copy(tmp_path)
    (f / "manifest.toml").write_text('[lists."ltc-copd.icd10"]\nconcept = "copd"\n')
    msgs = [str(x) for x in check_codelists(f)]
    assert msgs[0].startswith("manifest.toml: uses the old [lists.") and "description" in msgs[0]


def test_every_code_valid_for_its_system_and_no_duplicates(codelists):
    for cl in codelists.lists.values():
        codes = [c for c, _ in cl.codes]
        assert codes, cl.name
        assert len(codes) == len(set(codes)), cl.name
        assert [c for c in codes if code_problem(cl.system, c)] == [], cl.name


def test_efi_example_codes_present(codelists):
    for name, codes in EFI_EXAMPLES.items():
        have = {c for c, _ in codelists.lists[f"{name}.snomedct"].codes}
        assert set(codes.split()) <= have, name


def test_required_flag_codes_present(codelists):
    have = lambda n: {c for c, _ in codelists.lists[n].codes}
    assert {"160734000", "248171000000108"} <= have("flag-care-home.snomedct")
    assert "827241000000103" in have("flag-type1-dissent.snomedct")
    assert {"925791000000100", "925831000000107", "925861000000102"} <= have("flag-frailty-coded.snomedct")


def test_catalogues(codelists):
    assert len(codelists.catalogue("efi")) == 36
    assert 20 <= len(codelists.catalogue("cambridge")) <= 40 and len(codelists.catalogue("qof")) >= 15
    with pytest.raises(CodelistError, match="preset"):
        codelists.catalogue("nope")


def test_hfrs_weights_sum_to_173_2(hfrs_weights):
    w = hfrs_weights
    assert len(w) == 109 and sum(w.values()) == 1732 and w["F00"] == 71 and w["R50"] == 1


@pytest.mark.parametrize("system, code, ok", [
    ("icd10", "I10", True), ("icd10", "J441", True), ("icd10", "I10X", False), ("icd10", "J44.1", False),
    ("icd10", "i10", False), ("snomedct", "84114007", True), ("snomedct", "84114008", False),
    ("snomedct", "012345", False), ("dmd", "39113611000001102", True), ("snomedct", "1.2E+14", False)])
def test_code_formats(system, code, ok):
    assert (code_problem(system, code) is None) == ok


def _copy(tmp_path):
    dst = tmp_path / "lists"
    shutil.copytree(default_folder(), dst)
    return dst


def test_check_reports_edits_duplicates_empties_and_orphans(tmp_path):
    f = _copy(tmp_path)
    p = f / "ltc-copd.icd10.csv"
    p.write_text(p.read_text() + "J44,dup\nJ44.1,dotted\n")
    (f / "ltc-ibs.icd10.csv").write_text("code,term\n")
    (f / "orphan.snomedct.csv").write_text("code,term\n84114007,x\n")
    msgs = [str(x) for x in check_codelists(f)]
    assert any("ltc-copd.icd10.csv: sha256" in m for m in msgs)
    assert any("ltc-copd.icd10.csv: duplicate" in m for m in msgs)
    assert any("ltc-copd.icd10.csv: invalid icd10" in m for m in msgs)
    assert any("ltc-ibs.icd10.csv: list is empty" in m for m in msgs)
    assert any("orphan.snomedct.csv: file has no manifest entry" in m for m in msgs)
    with pytest.raises(CodelistError, match="more; run"):
        load_codelists(f)


def test_ingredient_map_is_checked_and_optional(tmp_path, codelists):
    """maps/dmd-ingredients.csv is hash-checked like a list; a folder without maps/ loads with
    an empty map (polypharmacy then counts dm+d codes)."""
    f = _copy(tmp_path)
    m = f / "maps" / "dmd-ingredients.csv"
    m.write_text(m.read_text() + "10000000000001,made up,x\n")
    assert any("maps/dmd-ingredients.csv: sha256 differs" in str(x) for x in check_codelists(f))
    shutil.rmtree(f / "maps")
    assert load_codelists(f).ingredients == {}
    assert codelists.ingredients["222311000001102"] == "salbutamol"  # Ventolin (the packaged map)


def test_list_codelists_rows():
    rows = list_codelists()
    hf = next(r for r in rows if r["name"] == "ltc-heart-failure.snomedct")
    assert hf["codes"] >= 10 and "cambridge:heart_failure" in hf["used_by"]


def test_import_pcd_refset_and_opencodelists(tmp_path):
    f = _copy(tmp_path)
    pcd = tmp_path / "pcd.csv"
    pcd.write_text("Cluster_ID,Cluster_description,SNOMED_code,SNOMED_code_description,PCD_Refset_ID\n"
                   "HF_COD,Heart failure codes,84114007,Heart failure,999\n"
                   "HF_COD,Heart failure codes,42343007,Congestive heart failure,999\n"
                   "AST_COD,Asthma codes,195967001,Asthma,998\n")
    import_pcd_refset(pcd, f, cluster_id="HF_COD", name="pcd-hf.snomedct", concept="heart failure")
    oc = tmp_path / "oc.csv"
    oc.write_text("code,term\nI10X,Hypertension\nJ44.1,COPD exac\nM32.1+,SLE (dagger)\n")
    import_opencodelists(oc, f, name="oc-x.icd10", concept="x", system="icd10", source="opencodelists")
    imported = load_codelists(f)
    assert {c for c, _ in imported.lists["pcd-hf.snomedct"].codes} == {"84114007", "42343007"}
    assert imported.lists["pcd-hf.snomedct"].concept == "heart failure"
    # the one ICD-10 normaliser (codes.icd10.normalise_icd10), as for the data: I10X -> I10,
    # J44.1 -> J441, M32.1+ -> M321 (the importer used to strip only dots and X padding)
    assert {c for c, _ in imported.lists["oc-x.icd10"].codes} == {"I10", "J441", "M321"}
    bad = tmp_path / "bad.csv"
    bad.write_text("dmd_id,dmd_name\n123,x\n")
    with pytest.raises(CodelistError, match="1 of 1 rows"):
        import_opencodelists(bad, f, name="b.dmd", concept="b", system="dmd", source="s")
