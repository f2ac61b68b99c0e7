"""The Rasa engine: its project files, its processes, its HTTP API and channel credentials.

Not SQLAlchemy's ``Engine``: gapdesk never imports rasa; it runs Rasa's own environment.
"""
