-- A statement the parser cannot read, then one reading a table nobody defines.
INSERT OVERWRITE TABLE tmp.broken SELECT ev FROM dwd.shop_log WHERE ev IN ('cart.add' ;

INSERT OVERWRITE TABLE tmp.orphan SELECT event FROM ods.missing_table;
