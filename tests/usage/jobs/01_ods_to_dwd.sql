-- Layer 1 (ods -> dwd): per-app and per-domain detail tables.
SET hive.exec.dynamic.partition = true;

-- The app is restricted here; the event one layer up (dws). `event` becomes `ev`.
INSERT OVERWRITE TABLE dwd.shop_log PARTITION (dt = '2026-08-31')
SELECT app, event AS ev, user_id, ts
FROM ods.app_log
WHERE app = 'shop' AND dt = '2026-08-31';

-- A constant app column instead of the source's.
INSERT OVERWRITE TABLE dwd.mall_log
SELECT 'mall' AS app, event AS ev, user_id, ts FROM ods.app_log WHERE app = 'mall';

-- Payments of both apps, joined with a dimension table.
INSERT OVERWRITE TABLE dwd.pay_detail
SELECT l.app, l.event, u.country, l.user_id
FROM ods.app_log l
JOIN dim.user u ON l.user_id = u.user_id
WHERE l.event IN ('pay.success', 'pay.fail', 'checkout.complete');

-- LIKE prefix against the registered names.
INSERT OVERWRITE TABLE dwd.search_log
SELECT app, event, user_id, get_json_object(props, '$.query') AS query
FROM ods.app_log
WHERE event LIKE 'search.%' AND app = 'shop';

-- CASE WHEN in a filter.
INSERT OVERWRITE TABLE dwd.push_log
SELECT app, event, user_id FROM ods.app_log
WHERE CASE WHEN event = 'push.receive' THEN 1 WHEN event = 'push.click' THEN 1 ELSE 0 END = 1;

-- A function on the event column: unresolved, so conservatively every event. Nobody reads
-- dwd.debug_log, so it makes nothing look used.
INSERT OVERWRITE TABLE dwd.debug_log
SELECT app, event, payload FROM ods.app_log WHERE lower(event) LIKE '%debug%';
