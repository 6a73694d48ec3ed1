"""Clinical features as ibis expressions: population, LTCs, eFI, HFRS, utilisation, flags.

    derive_features(engine, tables, *, as_of, codelists, config) -> FeatureResult
"""

from npc_risk.features.derive import FeatureResult, derive_features, efi_category
from npc_risk.features.tables import STAGED_SCHEMAS, complete_tables

__all__ = ["STAGED_SCHEMAS", "FeatureResult", "complete_tables",
           "derive_features", "efi_category"]
