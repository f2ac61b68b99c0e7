"""Storage of conversations, turns, gap scores, feedback and escalations."""
