"""Measured claims: the gap benchmark and the running bot's figures."""
