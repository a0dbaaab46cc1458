"""The review page: recent jobs, their original and result side by side, and a re-run button.

Server-rendered (Jinja2, autoescaped: titles are user input) for operators who judge masks by
eye. Outside ENVIRONMENT=local it sits behind the API key, given as the password of HTTP Basic
(app/access.py): a browser sends that by itself once asked, and cannot send X-API-Key.
"""
