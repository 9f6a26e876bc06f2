-- A Chromium profile's History file: a `meta` table keyed by LONGVARCHAR
-- (a non-INTEGER primary key, so SQLite admits a NULL key), WebKit-epoch
-- microsecond times (since 1601), INTEGER booleans, BLOB hashes, visits
-- joined by id without declared foreign keys, downloads with their chains.
CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT,url LONGVARCHAR,title LONGVARCHAR,visit_count INTEGER DEFAULT 0 NOT NULL,typed_count INTEGER DEFAULT 0 NOT NULL,last_visit_time INTEGER NOT NULL,hidden INTEGER DEFAULT 0 NOT NULL);
CREATE TABLE visits(id INTEGER PRIMARY KEY AUTOINCREMENT,url INTEGER NOT NULL,visit_time INTEGER NOT NULL,from_visit INTEGER,transition INTEGER DEFAULT 0 NOT NULL,segment_id INTEGER,visit_duration INTEGER DEFAULT 0 NOT NULL,incremented_omnibox_typed_score BOOLEAN DEFAULT FALSE NOT NULL,opener_visit INTEGER,originator_cache_guid TEXT,originator_visit_id INTEGER,originator_from_visit INTEGER,originator_opener_visit INTEGER,is_known_to_sync BOOLEAN DEFAULT FALSE NOT NULL,consider_for_ntp_most_visited BOOLEAN DEFAULT FALSE NOT NULL, external_referrer_url TEXT, visited_link_id INTEGER);
CREATE TABLE visit_source(id INTEGER PRIMARY KEY,source INTEGER NOT NULL);
CREATE TABLE keyword_search_terms (keyword_id INTEGER NOT NULL,url_id INTEGER NOT NULL,term LONGVARCHAR NOT NULL,normalized_term LONGVARCHAR NOT NULL);
CREATE TABLE downloads (id INTEGER PRIMARY KEY,guid VARCHAR NOT NULL,current_path LONGVARCHAR NOT NULL,target_path LONGVARCHAR NOT NULL,start_time INTEGER NOT NULL,received_bytes INTEGER NOT NULL,total_bytes INTEGER NOT NULL,state INTEGER NOT NULL,danger_type INTEGER NOT NULL,interrupt_reason INTEGER NOT NULL,hash BLOB NOT NULL,end_time INTEGER NOT NULL,opened INTEGER NOT NULL,last_access_time INTEGER NOT NULL,transient INTEGER NOT NULL,referrer VARCHAR NOT NULL,site_url VARCHAR NOT NULL,embedder_download_data VARCHAR NOT NULL,tab_url VARCHAR NOT NULL,tab_referrer_url VARCHAR NOT NULL,http_method VARCHAR NOT NULL,by_ext_id VARCHAR NOT NULL,by_ext_name VARCHAR NOT NULL,by_web_app_id VARCHAR NOT NULL,etag VARCHAR NOT NULL,last_modified VARCHAR NOT NULL,mime_type VARCHAR(255) NOT NULL,original_mime_type VARCHAR(255) NOT NULL);
CREATE TABLE downloads_url_chains (id INTEGER NOT NULL,chain_index INTEGER NOT NULL,url LONGVARCHAR NOT NULL, PRIMARY KEY (id, chain_index) );
CREATE TABLE segments (id INTEGER PRIMARY KEY,name VARCHAR,url_id INTEGER NON NULL);
CREATE TABLE segment_usage (id INTEGER PRIMARY KEY,segment_id INTEGER NOT NULL,time_slot INTEGER NOT NULL,visit_count INTEGER DEFAULT 0 NOT NULL);
CREATE INDEX visits_url_index ON visits (url);
CREATE INDEX visits_from_index ON visits (from_visit);
CREATE INDEX visits_time_index ON visits (visit_time);
CREATE INDEX urls_url_index ON urls (url);
CREATE INDEX keyword_search_terms_index1 ON keyword_search_terms (keyword_id, normalized_term);
CREATE INDEX segments_name ON segments(name);
CREATE INDEX segment_usage_time_slot_segment_id ON segment_usage(time_slot, segment_id);
BEGIN;
INSERT INTO meta VALUES ('mmap_status', '-1'), ('version', '66'), ('last_compatible_version', '16'), ('early_expiration_threshold', '13345000000000000');
INSERT INTO urls (url, title, visit_count, typed_count, last_visit_time, hidden)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 800)
  SELECT 'https://www.example.com/' || i || '/' || hex(randomblob(4)), 'Title ' || i || ' «quoted»', i % 13, i % 3, 13340000000000000 + i * 1000000, i % 50 = 0 FROM n;
INSERT INTO visits (url, visit_time, from_visit, transition, segment_id, visit_duration, incremented_omnibox_typed_score, is_known_to_sync)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
  SELECT 1 + i % 800, 13340000000000000 + i * 300000, CASE WHEN i % 4 = 0 THEN i - 1 ELSE 0 END, 805306368 + i % 10, i % 20, i * 1000, i % 2, 0 FROM n;
INSERT INTO visit_source SELECT id, id % 5 FROM visits WHERE id % 10 = 0;
INSERT INTO keyword_search_terms SELECT 2, id, 'Search ' || id, 'search ' || id FROM urls WHERE id % 8 = 0;
INSERT INTO downloads VALUES (1, 'A1B2C3D4-0000-4000-8000-000000000001', '/home/u/Downloads/a.pdf', '/home/u/Downloads/a.pdf', 13340000000000000, 1024, 1024, 1, 0, 0, x'00ff10', 13340000001000000, 0, 0, 0, '', '', '', '', '', '', '', '', '', '', '', 'application/pdf', 'application/pdf'),
  (2, 'A1B2C3D4-0000-4000-8000-000000000002', '', '/home/u/Downloads/b.zip', 13340000000000000, 0, -1, 2, 0, 40, x'', 0, 0, 0, 0, 'https://example.com/', '', '', '', '', 'GET', '', '', '', '"etag"', 'Tue, 01 Jan 2024 00:00:00 GMT', 'application/zip', '');
INSERT INTO downloads_url_chains VALUES (1, 0, 'https://example.com/a'), (1, 1, 'https://cdn.example.com/a.pdf'), (2, 0, 'https://example.com/b.zip');
INSERT INTO segments (name, url_id) SELECT 'http://www.example.com/' || id, id FROM urls WHERE id <= 20;
INSERT INTO segment_usage (segment_id, time_slot, visit_count) SELECT id, 13340000000000000 - 13340000000000000 % 86400000000, id FROM segments;
COMMIT;
