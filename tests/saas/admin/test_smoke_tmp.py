from datetime import UTC, datetime
from decimal import Decimal
from saas.models import BotRun, BotLog
def test_smoke(site, staff):
    uid = site.user("owner@example.com")
    bid = site.bot(uid, exchange="bybit", status="stopped")
    site.pair(bid)
    site.add(BotRun(bot_id=bid, started_at=datetime.now(UTC), outcome="error", conclusions={"runner": "configuration error: x"}))
    c = site.client(staff["admin"])
    for url in ["/admin/users", f"/admin/users/{uid}", "/admin/bots", f"/admin/bots/{bid}", "/admin/system", "/admin/revenue", "/admin/audit", "/admin/plans", "/account/activity", "/admin/users?q=own&sort=email&dir=asc&confirmed=yes&two_factor=no&created_from=2020-01-01", "/admin/bots?failures=1&network=testnet&overdue=yes&q=x"]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[-3000:])
