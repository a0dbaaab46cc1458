"""Development tooling: never imported by app/ or worker/, never installed in an image."""
