"""gapdesk/balancer.py: what a scaled-out gapdesk starts, and HAProxy's configuration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gapdesk import balancer
from gapdesk.balancer import Backend, check_scale_out, haproxy_config, scaled_services
from gapdesk.engine import rasa as rasa_engine
from gapdesk.models_dir import write_current
from gapdesk.settings import Settings
from gapmodel.errors import ConfigurationError

PG = "postgresql+psycopg2://gapdesk@db/gapdesk"


@pytest.fixture
def scaled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    (tmp_path / "models").mkdir()
    write_current(tmp_path / "models", tmp_path / "bot.tar.gz", tmp_path / "gap.joblib")
    monkeypatch.setattr(balancer, "haproxy_binary", lambda: "/usr/sbin/haproxy")
    # make check runs before Rasa's environment exists; nothing is started here
    monkeypatch.setattr(rasa_engine, "rasa_python", lambda root=Path("."): Path("python"))
    return Settings(
        database_url=PG,
        tracker_store_url=PG,
        lock_store_url="redis://127.0.0.1:6379/1",
        rasa_url="http://127.0.0.1:5005",
        action_server_port=5055,
        models_dir=str(tmp_path / "models"),
        var_dir=str(tmp_path / "var"),
        rasa_instances=2,
        action_servers=3,
    )


def test_haproxy_spreads_both_frontends_and_checks_every_server() -> None:
    config = haproxy_config(
        5005, 5055, [Backend("rasa1", 41001), Backend("rasa2", 41002)], [Backend("a1", 41003)]
    )
    assert "bind 127.0.0.1:5005" in config and "bind 127.0.0.1:5055" in config
    for name, port in (("rasa1", 41001), ("rasa2", 41002), ("a1", 41003)):
        # twice for Rasa: round robin, and by address for socket.io's long polling
        expected = 2 if name.startswith("rasa") else 1
        assert config.count(f"server {name} 127.0.0.1:{port} check") == expected
    assert "option httpchk GET /health" in config
    # a request a server may have acted on is never sent again
    assert "retry-on conn-failure" in config and "retry-on all" not in config


def test_scaled_services_put_every_rasa_behind_the_action_balancer(scaled: Settings) -> None:
    services = scaled_services(scaled, console=False)
    names = [service.name for service in services]
    assert names == [
        "action server 1", "action server 2", "action server 3",
        "Rasa server 1", "Rasa server 2", "HAProxy",
    ]  # fmt: skip
    rasa = [service for service in services if service.name.startswith("Rasa")]
    assert {s.env["GAPDESK_ACTION_ENDPOINT"] for s in rasa} == {"http://127.0.0.1:5055/webhook"}
    internal = {service.address for service in services[:-1]}
    assert len(internal) == 5 and ("127.0.0.1", 5005) not in internal
    assert services[-1].address == ("127.0.0.1", 5005)
    config = (scaled.var_path / "haproxy.cfg").read_text(encoding="utf-8")
    for service in services[:-1]:
        assert f"127.0.0.1:{service.address[1]} check" in config  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "needs"),
    [
        ({"lock_store_url": ""}, "GAPDESK_LOCK_STORE_URL"),
        ({"database_url": "sqlite:///var/gapdesk.db"}, "GAPDESK_DATABASE_URL"),
        ({"tracker_store_url": "sqlite:///var/t.db"}, "GAPDESK_TRACKER_STORE_URL"),
    ],
)
def test_a_scale_out_that_cannot_share_its_stores_is_refused(
    scaled: Settings, change: dict[str, str], needs: str
) -> None:
    with pytest.raises(ConfigurationError, match=needs):
        check_scale_out(replace(scaled, **change))  # type: ignore[arg-type]
