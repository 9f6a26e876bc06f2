-- Geographic bounding boxes as the SQLite R*Tree documentation models
-- them: an rtree (real coordinates) and an rtree_i32 index beside the
-- tables they index, an auxiliary (+) column, the _node/_parent/_rowid
-- shadow tables, and a lookup view joining the index to its table.
CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT CHECK (kind IN ('city', 'lake', 'park')));
CREATE VIRTUAL TABLE places_box USING rtree(id, minX, maxX, minY, maxY, +label);
CREATE VIRTUAL TABLE tiles USING rtree_i32(id, x0, x1, y0, y1, z0, z1);
CREATE VIEW places_near_zurich AS
  SELECT p.name FROM places p JOIN places_box b ON b.id = p.id WHERE b.maxX >= 8.4 AND b.minX <= 8.7 AND b.maxY >= 47.3 AND b.minY <= 47.5;
BEGIN;
INSERT INTO places WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 700)
  SELECT i, 'Place ' || i, CASE i % 3 WHEN 0 THEN 'city' WHEN 1 THEN 'lake' ELSE 'park' END FROM n;
INSERT INTO places_box SELECT id, 5.9 + (id % 40) * 0.1, 5.95 + (id % 40) * 0.1, 45.8 + (id / 40) * 0.1, 45.86 + (id / 40) * 0.1, 'box ' || id FROM places;
INSERT INTO tiles WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
  SELECT i, i * 256, i * 256 + 255, (i % 20) * 256, (i % 20) * 256 + 255, i % 18, i % 18 FROM n;
COMMIT;
