#!/bin/sh
# As the official image: a server started without a config file listens to other containers
# (protected mode would refuse every non-loopback client when no password is set).
set -eu
if [ "$1" = valkey-server ]; then
  shift
  exec valkey-server --protected-mode no "$@"
fi
exec "$@"
