-- Two jobs that feed each other: reported as a cycle, resolved by fixed point.
INSERT INTO tmp.a
SELECT event FROM ods.app_log WHERE event = 'push.click'
UNION ALL
SELECT event FROM tmp.b;

INSERT INTO tmp.b SELECT event FROM tmp.a WHERE event LIKE 'push.%';
