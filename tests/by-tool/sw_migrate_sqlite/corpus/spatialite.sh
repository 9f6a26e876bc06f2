#!/usr/bin/env bash
# A SpatiaLite database as the `spatialite` shell makes it for a GIS app:
# the metadata the shell initializes in a new file (spatial_ref_sys with
# its thousands of rows, the geometry_columns catalog with composite keys,
# dozens of triggers and views over SpatiaLite's own functions), point and
# polygon layers with geometry BLOBs, and R*Tree spatial indexes
# (idx_*_geom).
set -euo pipefail
db=$(realpath -m "$1")
spatialite "$db" >/dev/null <<'SQL'
CREATE TABLE pois (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT);
SELECT AddGeometryColumn('pois', 'geom', 4326, 'POINT', 'XY');
CREATE TABLE parcels (id INTEGER PRIMARY KEY, owner TEXT, area_m2 DOUBLE);
SELECT AddGeometryColumn('parcels', 'geom', 2056, 'POLYGON', 'XY');
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
  INSERT INTO pois (name, kind, geom) SELECT 'poi ' || i, CASE i % 3 WHEN 0 THEN 'café' ELSE 'shop' END, MakePoint(8.4 + i / 1000.0, 47.3 + i / 2000.0, 4326) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
  INSERT INTO parcels (owner, area_m2, geom) SELECT 'owner ' || i, 100.0 * i,
    PolygonFromText('POLYGON((' || (2600000 + i * 20) || ' 1200000, ' || (2600010 + i * 20) || ' 1200000, ' || (2600010 + i * 20) || ' ' || (1200000 + i * 10) || ', ' || (2600000 + i * 20) || ' 1200000))', 2056) FROM n;
COMMIT;
SELECT CreateSpatialIndex('pois', 'geom');
SELECT CreateSpatialIndex('parcels', 'geom');
SQL
