"""`sanad serve --ray`: start (or join) Ray, deploy Sanad on Ray Serve, serve until Ctrl+C."""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import ray
import yaml
from ray import serve

from qa.commands.common import print_notices
from qa.config import Settings
from web.ray_serve import APP_NAME, build_app, prepare_index

CONFIG = Path(__file__).resolve().parent / "ray_serve.yaml"


def deployment_options(config: Path = CONFIG, readers: int | None = None) -> dict[str, dict[str, Any]]:
    """The deployments' options in the Serve config file, by name; `readers` fixes the reader replicas."""
    application = yaml.safe_load(config.read_text("utf-8"))["applications"][0]
    options = {d["name"]: dict(d) for d in application.get("deployments", [])}
    if readers is not None:
        reader = options.setdefault("reader", {})
        reader.pop("autoscaling_config", None)
        reader["num_replicas"] = readers
    return options


def cpus_needed(options: dict[str, dict[str, Any]], shards: int) -> float:
    """The CPUs that the replicas in `options` ask for, with `shards` shards (the readers at their most)."""

    def cpus(name: str) -> float:
        found = options.get(name) or (options.get("shard-0") if name.startswith("shard-") else None) or {}
        replicas = found.get("num_replicas") or found.get("autoscaling_config", {}).get("max_replicas", 1)
        return float(found.get("ray_actor_options", {}).get("num_cpus", 1)) * int(replicas)

    return cpus("ingress") + cpus("reader") + sum(cpus(f"shard-{n}") for n in range(shards))


def replica_settings(settings: Settings) -> dict[str, Any]:
    """The settings the replicas are made with: every one this process has, from flags, environment or .env."""
    return {name: getattr(settings, name) for name in settings.model_fields_set}


def run_ray(settings: Settings, address: str | None, shards: int, readers: int | None) -> int:
    notices: list[str] = []
    folder = prepare_index(settings, shards, notices)
    print_notices(notices)
    options = deployment_options(readers=readers)
    if address is None:
        # A Ray of this process's own, stopped on exit, with logical CPUs enough for every replica even
        # on a small machine (they share its cores); with --address, the cluster's own resources.
        ray.init(num_cpus=max(os.cpu_count() or 1, math.ceil(cpus_needed(options, shards))), include_dashboard=False)
    else:
        ray.init(address=address)
    # `kill` (SIGTERM) stops it as Ctrl+C does: Serve and Ray are shut down, not left behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        serve.start(http_options={"host": settings.serve_host, "port": settings.serve_port})
        args = {"index": str(folder), "settings": replica_settings(settings)}
        serve.run(build_app(args, options), name=APP_NAME, route_prefix="/")
        print(f"sanad serve --ray: http://{settings.serve_host}:{settings.serve_port}/ ({shards} shards of {folder}; "
              "Ctrl+C to stop)", file=sys.stderr)  # fmt: skip
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        serve.shutdown()
        ray.shutdown()
