"""gapdesk, the application: runs, stores, operates and measures the bot.

The gap model itself is the plain library ``gapmodel``; this package is its composition
root (settings, storage, the Rasa engine, the supervisor, the CLI, benchmarks).
"""
