"""Which webhook URLs are refused: private, loopback and link-local targets in production."""

import pytest

from notifications.ssrf import UnsafeURL, check_url
from notifications.telegram import NotificationError
from notifications.webhook import WebhookNotifier


def resolving_to(*addresses):
    """A resolver answering these addresses for any name."""
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "url, addresses",
    [
        ("https://127.0.0.1/hook", ()),
        ("https://10.1.2.3/hook", ()),
        ("https://169.254.169.254/latest/meta-data", ()),
        ("https://[::1]/hook", ()),
        ("https://hooks.example.com/x", ("127.0.0.1",)),
        ("https://hooks.example.com/x", ("10.0.0.7",)),
        ("https://hooks.example.com/x", ("169.254.10.1",)),
        ("https://hooks.example.com/x", ("::1",)),
        ("https://hooks.example.com/x", ("93.184.216.34", "192.168.1.1")),  # one bad is enough
        ("https://hooks.example.com/x", ("::ffff:10.0.0.1",)),
    ],
)
def test_private_loopback_and_link_local_targets_are_refused_in_production(url, addresses):
    with pytest.raises(UnsafeURL, match="private, loopback or link-local"):
        check_url(url, resolver=resolving_to(*addresses))


def test_a_public_https_url_is_accepted():
    url = "https://hooks.example.com/x"
    assert check_url(url, resolver=resolving_to("93.184.216.34")) == url


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("https://user:pw@hooks.example.com/x", "user name"),
        ("not a url", "https"),
    ],
)
def test_other_bad_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(UnsafeURL, match=message):
        check_url(url, resolver=resolving_to("93.184.216.34"))


def test_development_allows_http_to_loopback_only():
    assert check_url("http://127.0.0.1:9/x", allow_loopback=True)
    with pytest.raises(UnsafeURL):
        check_url("http://10.0.0.1/x", allow_loopback=True)


def test_the_check_runs_again_at_delivery_time(webhook_receiver):
    """A name that pointed outside when saved but resolves to 127.0.0.1 now is not called."""
    host_now = resolving_to("127.0.0.1")
    notifier = WebhookNotifier("https://hooks.example.com/x", "whsec_x", resolver=host_now)
    with pytest.raises(NotificationError, match="refused"):
        notifier.post(b"{}", "id-1")
    assert webhook_receiver.received == []
