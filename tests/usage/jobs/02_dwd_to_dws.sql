-- Layer 2 (dwd -> dws): daily aggregates.

-- The event restricted here (the app was restricted in dwd.shop_log); `ev` becomes `event_name`.
INSERT OVERWRITE TABLE dws.shop_activity_1d
SELECT ev AS event_name, count(*) AS n, count(DISTINCT user_id) AS users
FROM dwd.shop_log
WHERE ev NOT IN ('app.heartbeat', 'debug.trace', 'legacy.banner_show', 'feed.scroll')
GROUP BY ev;

-- A union whose branches carry a constant `kind`.
INSERT OVERWRITE TABLE dws.mall_daily
SELECT 'store' AS kind, ev, count(*) AS n FROM dwd.mall_log WHERE ev = 'mall.store_view' GROUP BY ev
UNION ALL
SELECT 'coupon' AS kind, ev, count(*) AS n FROM dwd.mall_log WHERE ev = 'mall.coupon_claim' GROUP BY ev;

-- A CTE.
CREATE TABLE dws.pay_by_country AS
WITH paid AS (SELECT app, event, country FROM dwd.pay_detail WHERE event <> 'checkout.complete')
SELECT app, event, country, count(*) AS n FROM paid GROUP BY app, event, country;
