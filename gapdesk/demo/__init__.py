"""The demo business behind the shipped bot (a retargeted bot replaces it)."""
