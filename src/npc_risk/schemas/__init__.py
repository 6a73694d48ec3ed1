"""The canonical tables: pandera models (contract.py) and how ingest treats each (tables.py)."""
