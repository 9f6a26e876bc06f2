-- An OGC GeoPackage (the spatial catalog GDAL and QGIS write), by the
-- schema of the standard: application_id 'GPKG', gpkg_spatial_ref_sys,
-- gpkg_contents, gpkg_geometry_columns and gpkg_tile_matrix with
-- composite primary keys and foreign keys between them, CHECKs, the
-- tile-matrix triggers that RAISE(ABORT) on bad rows, a feature table of
-- GeoPackage-binary geometries and a tile pyramid table of PNG blobs.
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10300;
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name), CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_tile_matrix_set (table_name TEXT NOT NULL PRIMARY KEY, srs_id INTEGER NOT NULL, min_x DOUBLE NOT NULL, min_y DOUBLE NOT NULL, max_x DOUBLE NOT NULL, max_y DOUBLE NOT NULL, CONSTRAINT fk_gtms_table_name FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), CONSTRAINT fk_gtms_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_tile_matrix (table_name TEXT NOT NULL, zoom_level INTEGER NOT NULL, matrix_width INTEGER NOT NULL, matrix_height INTEGER NOT NULL, tile_width INTEGER NOT NULL, tile_height INTEGER NOT NULL, pixel_x_size DOUBLE NOT NULL, pixel_y_size DOUBLE NOT NULL, CONSTRAINT pk_ttm PRIMARY KEY (table_name, zoom_level), CONSTRAINT fk_tmm_table_name FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name));
CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TRIGGER 'gpkg_tile_matrix_zoom_level_insert' BEFORE INSERT ON 'gpkg_tile_matrix' FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'insert on table ''gpkg_tile_matrix'' violates constraint: zoom_level cannot be less than 0') WHERE (NEW.zoom_level < 0); END;
CREATE TRIGGER 'gpkg_tile_matrix_matrix_width_insert' BEFORE INSERT ON 'gpkg_tile_matrix' FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'insert on table ''gpkg_tile_matrix'' violates constraint: matrix_width cannot be less than 1') WHERE (NEW.matrix_width < 1); END;
CREATE TABLE "roads" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom LINESTRING, name TEXT(80), lanes MEDIUMINT, oneway BOOLEAN, surveyed DATE);
CREATE TABLE "ortho" (id INTEGER PRIMARY KEY AUTOINCREMENT, zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL, UNIQUE (zoom_level, tile_column, tile_row));
BEGIN;
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL), ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]', 'longitude/latitude'),
  ('WGS 84 / Pseudo-Mercator', 3857, 'EPSG', 3857, 'PROJCS["WGS 84 / Pseudo-Mercator",GEOGCS["WGS 84"]]', NULL);
INSERT INTO gpkg_contents VALUES ('roads', 'features', 'roads', '', '2024-05-01T10:00:00.000Z', 8.4, 47.3, 8.7, 47.5, 4326), ('ortho', 'tiles', 'ortho', 'aerial', '2024-05-01T10:00:00.000Z', 930000, 5990000, 960000, 6030000, 3857);
INSERT INTO gpkg_geometry_columns VALUES ('roads', 'geom', 'LINESTRING', 4326, 0, 0);
INSERT INTO gpkg_tile_matrix_set VALUES ('ortho', 3857, 930000, 5990000, 960000, 6030000);
INSERT INTO gpkg_tile_matrix VALUES ('ortho', 0, 1, 1, 256, 256, 117.1875, 156.25), ('ortho', 1, 2, 2, 256, 256, 58.59375, 78.125);
INSERT INTO gpkg_extensions VALUES ('roads', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
INSERT INTO roads (geom, name, lanes, oneway, surveyed) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
  SELECT CAST(x'47500001e6100000' || randomblob(32) || x'0102000000020000000000000000002140' || randomblob(24) AS BLOB), 'Road ' || i || ' – Straße', 1 + i % 4, i % 2, date('2020-01-01', '+' || i || ' days') FROM n;
INSERT INTO ortho (zoom_level, tile_column, tile_row, tile_data) VALUES (0, 0, 0, CAST(x'89504e470d0a1a0a' || randomblob(900) AS BLOB));
INSERT INTO ortho (zoom_level, tile_column, tile_row, tile_data) SELECT 1, c, r, CAST(x'89504e470d0a1a0a' || randomblob(400) AS BLOB) FROM (SELECT 0 AS c UNION ALL SELECT 1), (SELECT 0 AS r UNION ALL SELECT 1);
COMMIT;
