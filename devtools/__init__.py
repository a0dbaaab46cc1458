"""Development tooling: never imported by app/ or worker/, never installed in an image.

- `embedded_stack/`: the whole fleet as local processes (`make demo`, `make up`);
- `local_aws`: the one creator of the local bucket, queue and DLQ, with terraform's values;
- `synthetic_photos/`: book photos with exact masks (`make samples`);
- `evaluate_models`: each model against those masks (`make eval`);
- `bench_pipeline`, `bench_layouts`, `bench_end_to_end`, `bench_api/`, `bench_image`: the
  benchmarks (`make bench`, `bench-layouts`, `bench-e2e`, `bench-api`, `bench-image`);
- `podman`, `ecs_local`: the images run as ECS and compose run them (`make test-containers`).
"""
