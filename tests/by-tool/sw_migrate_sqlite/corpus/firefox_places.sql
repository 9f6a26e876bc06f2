-- A Firefox profile's places.sqlite (history and bookmarks) as Firefox
-- lays it out: LONGVARCHAR, PRTime microsecond integers, guid text, url
-- hashes past 2^31, a composite UNIQUE, WAL mode, user_version, no
-- declared foreign keys (the ids are joined by the application).
PRAGMA journal_mode = WAL;
PRAGMA user_version = 74;
PRAGMA page_size = 32768;
CREATE TABLE moz_origins ( id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, host TEXT NOT NULL, frecency INTEGER NOT NULL, recalc_frecency INTEGER NOT NULL DEFAULT 0, alt_frecency INTEGER, recalc_alt_frecency INTEGER NOT NULL DEFAULT 0, UNIQUE (prefix, host) );
CREATE TABLE moz_places (   id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, rev_host LONGVARCHAR, visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, typed INTEGER DEFAULT 0 NOT NULL, frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date INTEGER , guid TEXT, foreign_count INTEGER DEFAULT 0 NOT NULL, url_hash INTEGER DEFAULT 0 NOT NULL , description TEXT, preview_image_url TEXT, site_name TEXT, origin_id INTEGER REFERENCES moz_origins(id), recalc_frecency INTEGER NOT NULL DEFAULT 0, alt_frecency INTEGER, recalc_alt_frecency INTEGER NOT NULL DEFAULT 0);
CREATE TABLE moz_historyvisits (  id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER, visit_date INTEGER, visit_type INTEGER, session INTEGER, source INTEGER DEFAULT 0 NOT NULL, triggeringPlaceId INTEGER);
CREATE TABLE moz_inputhistory (  place_id INTEGER NOT NULL, input LONGVARCHAR NOT NULL, use_count INTEGER, PRIMARY KEY (place_id, input));
CREATE TABLE moz_bookmarks (  id INTEGER PRIMARY KEY, type INTEGER, fk INTEGER DEFAULT NULL, parent INTEGER, position INTEGER, title LONGVARCHAR, keyword_id INTEGER, folder_type TEXT, dateAdded INTEGER, lastModified INTEGER, guid TEXT, syncStatus INTEGER NOT NULL DEFAULT 0, syncChangeCounter INTEGER NOT NULL DEFAULT 1);
CREATE TABLE moz_bookmarks_deleted (  guid TEXT PRIMARY KEY, dateRemoved INTEGER NOT NULL DEFAULT 0);
CREATE TABLE moz_keywords (  id INTEGER PRIMARY KEY AUTOINCREMENT, keyword TEXT UNIQUE, place_id INTEGER, post_data TEXT);
CREATE TABLE moz_anno_attributes (  id INTEGER PRIMARY KEY, name VARCHAR(32) UNIQUE NOT NULL);
CREATE TABLE moz_annos (  id INTEGER PRIMARY KEY, place_id INTEGER NOT NULL, anno_attribute_id INTEGER, content LONGVARCHAR, flags INTEGER DEFAULT 0, expiration INTEGER DEFAULT 0, type INTEGER DEFAULT 0, dateAdded INTEGER DEFAULT 0, lastModified INTEGER DEFAULT 0);
CREATE TABLE moz_items_annos (  id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, anno_attribute_id INTEGER, content LONGVARCHAR, flags INTEGER DEFAULT 0, expiration INTEGER DEFAULT 0, type INTEGER DEFAULT 0, dateAdded INTEGER DEFAULT 0, lastModified INTEGER DEFAULT 0);
CREATE TABLE moz_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID ;
CREATE TABLE moz_places_metadata (id INTEGER PRIMARY KEY, place_id INTEGER NOT NULL, referrer_place_id INTEGER, created_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL DEFAULT 0, total_view_time INTEGER NOT NULL DEFAULT 0, typing_time INTEGER NOT NULL DEFAULT 0, key_presses INTEGER NOT NULL DEFAULT 0, scrolling_time INTEGER NOT NULL DEFAULT 0, scrolling_distance INTEGER NOT NULL DEFAULT 0, document_type INTEGER NOT NULL DEFAULT 0, search_query_id INTEGER, FOREIGN KEY (place_id) REFERENCES moz_places(id) ON DELETE CASCADE, FOREIGN KEY (referrer_place_id) REFERENCES moz_places(id) ON DELETE CASCADE, FOREIGN KEY(search_query_id) REFERENCES moz_places_metadata_search_queries(id) ON DELETE CASCADE CHECK(place_id != referrer_place_id) );
CREATE TABLE moz_places_metadata_search_queries ( id INTEGER PRIMARY KEY, terms TEXT NOT NULL UNIQUE );
CREATE UNIQUE INDEX moz_places_url_hashindex ON moz_places (url_hash, url);
CREATE INDEX moz_places_hostindex ON moz_places (rev_host);
CREATE INDEX moz_places_visitcount ON moz_places (visit_count);
CREATE INDEX moz_places_frecencyindex ON moz_places (frecency);
CREATE INDEX moz_places_lastvisitdateindex ON moz_places (last_visit_date);
CREATE UNIQUE INDEX moz_places_guid_uniqueindex ON moz_places (guid);
CREATE INDEX moz_places_originidindex ON moz_places (origin_id);
CREATE INDEX moz_historyvisits_placedateindex ON moz_historyvisits (place_id, visit_date);
CREATE INDEX moz_historyvisits_fromindex ON moz_historyvisits (from_visit);
CREATE INDEX moz_historyvisits_dateindex ON moz_historyvisits (visit_date);
CREATE INDEX moz_bookmarks_itemindex ON moz_bookmarks (fk, type);
CREATE INDEX moz_bookmarks_parentindex ON moz_bookmarks (parent, position);
CREATE UNIQUE INDEX moz_bookmarks_guid_uniqueindex ON moz_bookmarks (guid);
CREATE UNIQUE INDEX moz_keywords_placepostdata_uniqueindex ON moz_keywords (place_id, post_data);
CREATE UNIQUE INDEX moz_annos_placeattributeindex ON moz_annos (place_id, anno_attribute_id);
CREATE UNIQUE INDEX moz_places_metadata_placecreated_uniqueindex ON moz_places_metadata (place_id, created_at);
BEGIN;
INSERT INTO moz_origins (id, prefix, host, frecency) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
  SELECT i, CASE i % 4 WHEN 0 THEN 'http://' ELSE 'https://' END, 'site' || i || '.example.org', i * 100 FROM n;
INSERT INTO moz_places (id, url, title, rev_host, visit_count, frecency, last_visit_date, guid, url_hash, origin_id, description)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
  SELECT i, 'https://site' || (1 + i % 40) || '.example.org/page/' || i || '?q=ü',
         CASE WHEN i % 9 = 0 THEN NULL ELSE 'Page ' || i || ' — ünïcode' END,
         reverse_host, i % 17, CASE WHEN i % 50 = 0 THEN -1 ELSE i * 37 END,
         1700000000000000 + i * 86400000000, substr(hex(randomblob(9)), 1, 12),
         281470000000000 + i * 7919, 1 + i % 40, CASE WHEN i % 5 = 0 THEN 'a description' END
  FROM (SELECT i, 'gro.elpmaxe.' || (1 + i % 40) || 'etis.' AS reverse_host FROM n);
INSERT INTO moz_historyvisits (place_id, from_visit, visit_date, visit_type, source)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
  SELECT 1 + i % 1500, CASE WHEN i % 3 = 0 THEN i - 1 ELSE 0 END, 1700000000000000 + i * 600000000, 1 + i % 9, i % 3 FROM n;
INSERT INTO moz_inputhistory SELECT id, lower(substr(title, 1, 4)), id % 5 FROM moz_places WHERE title IS NOT NULL AND id % 7 = 0;
INSERT INTO moz_bookmarks (id, type, fk, parent, position, title, dateAdded, lastModified, guid) VALUES
  (1, 2, NULL, 0, 0, '', 1700000000000000, 1700000000000000, 'root________'),
  (2, 2, NULL, 1, 0, 'menu', 1700000000000000, 1700000000000000, 'menu________'),
  (3, 2, NULL, 1, 1, 'toolbar', 1700000000000000, 1700000000000000, 'toolbar_____'),
  (4, 2, NULL, 1, 2, 'tags', 1700000000000000, 1700000000000000, 'tags________'),
  (5, 2, NULL, 1, 3, 'unfiled', 1700000000000000, 1700000000000000, 'unfiled_____');
INSERT INTO moz_bookmarks (type, fk, parent, position, title, dateAdded, lastModified, guid)
  SELECT 1, id, 2 + id % 3, id, title, last_visit_date, last_visit_date + 1, 'bm' || substr(guid, 1, 10) FROM moz_places WHERE id % 11 = 0;
INSERT INTO moz_bookmarks_deleted VALUES ('deletedguid1', 1700000000000000);
INSERT INTO moz_keywords (keyword, place_id, post_data) VALUES ('w', 11, NULL), ('g', 22, 'q=%s');
INSERT INTO moz_anno_attributes VALUES (1, 'bookmarkProperties/description'), (2, 'Places/SmartBookmark');
INSERT INTO moz_annos (place_id, anno_attribute_id, content, type) SELECT id, 1, 'note ' || id, 3 FROM moz_places WHERE id % 100 = 0;
INSERT INTO moz_items_annos (item_id, anno_attribute_id, content) VALUES (6, 2, 'MostVisited');
INSERT INTO moz_meta VALUES ('origin_frecency_count', 40), ('origin_frecency_sum', 82000), ('sync/lastSync', '1700000000.12');
INSERT INTO moz_places_metadata_search_queries VALUES (1, 'ünïcode search');
INSERT INTO moz_places_metadata (place_id, referrer_place_id, created_at, updated_at, total_view_time, search_query_id)
  SELECT id, CASE WHEN id > 1 THEN id - 1 END, 1700000000000 + id, 1700000000000 + id * 2, id * 10, CASE WHEN id % 4 = 0 THEN 1 END FROM moz_places WHERE id % 3 = 0;
COMMIT;
