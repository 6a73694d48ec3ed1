"""Supplier-format adapters: map a supplier's file onto a canonical table before validation.

An adapter is keyed by the file's table name in the extract folder (e.g. `sus_apcs.csv`) and
returns an ibis table with the canonical column names, all text, so ingest then validates it
exactly like a canonical file. To add one: write a function `(raw: ibis.Table, path) -> ibis.Table`
in its own module and register it below with the canonical table it feeds.
"""

from npc_risk.adapters.sus import sus_apcs

ADAPTERS = {
    "sus_apcs": ("apcs", sus_apcs),
}
