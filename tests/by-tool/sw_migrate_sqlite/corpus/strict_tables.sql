-- STRICT tables (SQLite 3.37+), as newer applications declare them: the
-- six strict types (INT, INTEGER, REAL, TEXT, BLOB, ANY), an ANY column
-- holding every storage class, STRICT WITHOUT ROWID with a composite key,
-- a generated column, CHECKs and a foreign key.
CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, balance REAL NOT NULL DEFAULT 0 CHECK (balance >= 0), flags INT NOT NULL DEFAULT 0, avatar BLOB, extra ANY) STRICT;
CREATE TABLE ledger (account_id INTEGER NOT NULL REFERENCES accounts(id), seq INT NOT NULL, amount REAL NOT NULL, memo TEXT, cents INT GENERATED ALWAYS AS (CAST(round(amount * 100) AS INT)) VIRTUAL, PRIMARY KEY (account_id, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE settings (name TEXT PRIMARY KEY, value ANY) STRICT;
BEGIN;
INSERT INTO accounts (id, email, balance, flags, avatar, extra) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
  SELECT i, 'acct' || i || '@example.com', i * 10.25, i % 8, CASE WHEN i % 5 = 0 THEN randomblob(32) END,
         CASE i % 5 WHEN 0 THEN i WHEN 1 THEN i / 3.0 WHEN 2 THEN 'text ' || i WHEN 3 THEN x'cafe' ELSE NULL END FROM n;
INSERT INTO ledger (account_id, seq, amount, memo) SELECT a.id, s.k, (a.id * s.k) / 7.0, CASE WHEN s.k = 1 THEN 'opening' END
  FROM accounts a, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) s;
INSERT INTO settings VALUES ('version', 3), ('ratio', 0.75), ('name', 'strict app'), ('icon', x'89504e47'), ('unset', NULL);
COMMIT;
