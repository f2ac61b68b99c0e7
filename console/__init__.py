"""The gapdesk console: the agents' and supervisors' web app, and the customers' widget page.

Server-rendered pages (Starlette + Jinja2) with a little JavaScript for live updates
(server-sent events). It talks to the gapdesk database and to Rasa's HTTP API; it never
imports Rasa.
"""
