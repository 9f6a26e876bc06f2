-- An Android app's database as SQLiteOpenHelper and Room leave it:
-- android_metadata (the locale), room_master_table (the schema hash),
-- backquoted Room DDL with `INTEGER NOT NULL` booleans and millisecond
-- epoch times, a foreign key with ON DELETE CASCADE and its index_*
-- index, a `_id INTEGER PRIMARY KEY AUTOINCREMENT` content-provider table,
-- user_version as the schema version.
PRAGMA user_version = 7;
CREATE TABLE android_metadata (locale TEXT);
INSERT INTO android_metadata VALUES ('en_US');
CREATE TABLE room_master_table (id INTEGER PRIMARY KEY,identity_hash TEXT);
INSERT OR REPLACE INTO room_master_table (id,identity_hash) VALUES(42, '6c1b3a0f6c3a2e4d9a1e0c5b7d8f9a2b');
CREATE TABLE IF NOT EXISTS `User` (`uid` INTEGER NOT NULL, `first_name` TEXT, `last_name` TEXT, `is_premium` INTEGER NOT NULL, `created_at` INTEGER NOT NULL, `avatar` BLOB, PRIMARY KEY(`uid`));
CREATE TABLE IF NOT EXISTS `Book` (`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, `title` TEXT NOT NULL, `user_id` INTEGER NOT NULL, `rating` REAL NOT NULL DEFAULT 0, `read` INTEGER NOT NULL DEFAULT 0, FOREIGN KEY(`user_id`) REFERENCES `User`(`uid`) ON UPDATE NO ACTION ON DELETE CASCADE );
CREATE INDEX IF NOT EXISTS `index_Book_user_id` ON `Book` (`user_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `index_Book_title_user_id` ON `Book` (`title`, `user_id`);
CREATE TABLE IF NOT EXISTS `Setting` (`key` TEXT NOT NULL, `value` TEXT, PRIMARY KEY(`key`));
CREATE TABLE notes (_id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, note TEXT, created INTEGER, modified INTEGER, _sync_dirty INTEGER DEFAULT 0);
CREATE TRIGGER notes_modified AFTER UPDATE ON notes BEGIN UPDATE notes SET modified = CAST(strftime('%s','now') AS INTEGER) * 1000 WHERE _id = new._id; END;
BEGIN;
INSERT INTO `User` WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
  SELECT i, 'First' || i, CASE WHEN i % 10 THEN 'Last' || i END, i % 4 = 0, 1690000000000 + i * 3600000, CASE WHEN i % 6 = 0 THEN randomblob(64) END FROM n;
INSERT INTO `Book` (title, user_id, rating, read) SELECT 'Book ' || b.k || ' of ' || u.uid, u.uid, (u.uid * b.k) % 50 / 10.0, b.k % 2
  FROM `User` u, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) b;
INSERT INTO `Setting` VALUES ('theme', 'dark'), ('sync_interval', '3600'), ('last_sync', NULL);
INSERT INTO notes (title, note, created, modified) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
  SELECT 'Note ' || i, 'Body ' || i || char(10) || 'second line', 1690000000000 + i, 1690000000000 + i * 2 FROM n;
COMMIT;
