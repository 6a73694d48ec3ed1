"""Ingest: which rows of an extract are accepted, and the codes they carry.

Pins the NHS number Modulus 11 check (nhs-data-conventions.md §4), the one ICD-10 normaliser
and the splitting of SUS diagnosis strings (nhs-data-conventions.md §2.1-2.2), and the
quarantine rulebook of schemas/contract.py: every bad row is quarantined once, with the first
rule it breaks, and rows read == accepted + quarantined (nhs-data-conventions.md §1.3, §3.1,
§3.3). The engine expressions of each code rule must agree with their Python twins.
"""
