"""Load benchmark of the enqueue path: `python -m devtools.bench_api`.

Starts its own moto_server and uvicorn on loopback, makes a fresh Postgres
database, fires N primary-image uploads with C in flight, then checks that
every request produced exactly one job and exactly one SQS message. Prints a
JSON object as its last line. A development tool (needs httpx and moto[server]).
"""
