"""`sanad serve --ray`'s command line and its Serve config file (no Ray cluster started here)."""

import sys

import pytest

from qa.cli import main


def test_serve_ray_without_the_scale_extra_says_what_to_install(monkeypatch, capsys):
    for name in ("web.ray_cli", "web.ray_serve"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    assert main(["serve", "--ray", "--shards", "2"]) == 2
    assert capsys.readouterr().err.strip() == "sanad serve --ray needs the scale extra: pip install 'sanad-qa[scale]'"


def test_serve_ray_refuses_zero_shards(capsys):
    assert main(["serve", "--ray", "--shards", "0"]) == 2
    assert "--shards and --readers need at least 1" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray's own pydantic uses
def test_the_config_file_is_a_serve_deploy_config_naming_the_deployments():
    pytest.importorskip("ray", reason="Ray is the scale extra: pip install 'sanad-qa[scale]'")
    import yaml
    from ray.serve.schema import ServeDeploySchema

    from web.ray_cli import CONFIG, cpus_needed, deployment_options

    schema = ServeDeploySchema.model_validate(yaml.safe_load(CONFIG.read_text("utf-8")))
    application = schema.applications[0]
    assert application.import_path == "web.ray_serve:build_app"
    assert {d.name for d in application.deployments} == {"ingress", "shard-0", "shard-1", "reader"}
    options = deployment_options(readers=3)
    assert options["reader"]["num_replicas"] == 3 and "autoscaling_config" not in options["reader"]
    assert cpus_needed(options, shards=4) == pytest.approx(0.5 + 3 * 1 + 4 * 0.5)
