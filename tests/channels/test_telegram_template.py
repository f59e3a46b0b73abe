"""deploy/credentials.telegram.example.yml does what docs/channels.md says: appended to
credentials.yml it configures Rasa's Telegram connector from environment variables.

Read with rasa.shared.utils.io.read_config_file, the function `rasa run` reads the
credentials file with (rasa.core.run.create_http_input_channels).
"""

from __future__ import annotations

import pytest
from rasa.core.channels.telegram import TelegramInput
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.io import read_config_file

from bot.servers import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "credentials.telegram.example.yml"
TELEGRAM_ENV = {
    "TELEGRAM_ACCESS_TOKEN": "123456:test-token",
    "TELEGRAM_BOT_USERNAME": "bureau_help_bot",
    "TELEGRAM_WEBHOOK_URL": "https://help.example.org/webhooks/telegram/webhook",
}


@pytest.fixture
def deployed_credentials(tmp_path):
    combined = tmp_path / "credentials.telegram.yml"
    combined.write_text(
        (PROJECT_ROOT / "credentials.yml").read_text() + "\n" + TEMPLATE.read_text()
    )
    return combined


def test_the_template_fills_telegram_from_the_environment(deployed_credentials, monkeypatch):
    for name, value in TELEGRAM_ENV.items():
        monkeypatch.setenv(name, value)

    credentials = read_config_file(deployed_credentials)

    assert credentials["telegram"] == {
        "access_token": "123456:test-token",
        "verify": "bureau_help_bot",
        "webhook_url": "https://help.example.org/webhooks/telegram/webhook",
    }
    channel = TelegramInput.from_credentials(credentials["telegram"])
    assert (channel.access_token, channel.verify) == ("123456:test-token", "bureau_help_bot")
    # Our own channels are still there, unchanged.
    assert "bot.channels.webpage.WebPageInput" in credentials
    assert credentials["bot.channels.socketio.SocketIOInput"]["session_persistence"] is True


def test_an_unset_variable_stops_the_start(deployed_credentials, monkeypatch):
    for name, value in TELEGRAM_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TELEGRAM_ACCESS_TOKEN")
    with pytest.raises(RasaException, match="TELEGRAM_ACCESS_TOKEN"):
        read_config_file(deployed_credentials)


def test_a_quoted_variable_is_not_expanded(tmp_path, monkeypatch):
    # The pitfall the template's comment warns about.
    monkeypatch.setenv("TELEGRAM_ACCESS_TOKEN", "123456:test-token")
    quoted = tmp_path / "quoted.yml"
    quoted.write_text('telegram:\n  access_token: "${TELEGRAM_ACCESS_TOKEN}"\n')
    assert read_config_file(quoted)["telegram"]["access_token"] == "${TELEGRAM_ACCESS_TOKEN}"


def test_credentials_yml_itself_holds_no_secret():
    credentials = read_config_file(PROJECT_ROOT / "credentials.yml")
    assert "telegram" not in credentials
    assert credentials["bot.channels.wechat.WeChatInput"] is None  # token from WECHAT_TOKEN
