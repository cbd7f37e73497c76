-- Layer 3 (dws -> ads): what dashboards read.

CREATE VIEW ads.shop_funnel_v AS
SELECT event_name, n FROM dws.shop_activity_1d
WHERE event_name IN ('page.view', 'cart.add', 'checkout.start', 'checkout.complete');

-- A LEFT JOIN with a dimension; the app filtered on the fact side.
INSERT OVERWRITE TABLE ads.pay_report
SELECT p.app, p.event, c.channel_name, p.n
FROM dws.pay_by_country p
LEFT JOIN dim.channel c ON p.country = c.country
WHERE p.app = 'shop';

-- A subquery over a union of two tables, renamed to one column.
INSERT OVERWRITE TABLE ads.engagement
SELECT t.event_name, sum(t.n) AS n
FROM (
  SELECT event_name, n FROM dws.shop_activity_1d WHERE event_name LIKE 'search.%'
  UNION ALL
  SELECT ev AS event_name, n FROM dws.mall_daily WHERE kind = 'store'
) t
GROUP BY t.event_name;
