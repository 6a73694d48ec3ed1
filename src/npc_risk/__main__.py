"""`python -m npc_risk` runs the CLI (used by the benchmark driver to spawn child runs)."""

from npc_risk.cli import app

app(prog_name="npc-risk")
