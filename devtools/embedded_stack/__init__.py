"""The embedded stack: the whole fleet as processes on this machine, no Docker.

- `processes`: start processes in groups of their own and stop every one of them, by PID;
- `stack`: moto_server, the migrated database, a Celery worker, beat, the API, Flower;
- `sample_book`: the sample book imported through the API and its jobs awaited;
- `demo`: `make demo`, one run from start to contact sheet, then everything stops;
- `up`: `make up`, the same stack kept running until Ctrl-C.
"""
