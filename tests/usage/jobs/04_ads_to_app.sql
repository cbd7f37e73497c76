-- Layer 4 (ads -> app views).
CREATE VIEW app.search_board AS
SELECT * FROM ads.engagement WHERE event_name <> 'search.result_click';
