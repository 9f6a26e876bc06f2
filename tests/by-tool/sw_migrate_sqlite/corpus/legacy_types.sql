-- A legacy schema written by hand over the years, with the type names
-- SQLite accepts and maps by its affinity rules: VARCHAR(255) COLLATE
-- NOCASE, BOOLEAN holding 0/1 and 'true'/'false', DATETIME holding text,
-- unix seconds and julian days, UNSIGNED BIG INT, NVARCHAR, NATIVE
-- CHARACTER, VARYING CHARACTER, CLOB, DOUBLE PRECISION, TINYINT(1),
-- MEDIUMINT, INT8, DECIMAL(10,5), STRING (numeric affinity), an untyped
-- column, a column typed only by its default, and floating-point money.
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  login VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE,
  full_name NVARCHAR(100),
  country NATIVE CHARACTER(70) DEFAULT 'CH',
  motto VARYING CHARACTER(255),
  bio CLOB,
  active BOOLEAN NOT NULL DEFAULT 1,
  verified BOOLEAN,
  created DATETIME DEFAULT CURRENT_TIMESTAMP,
  last_seen DATETIME,
  visits UNSIGNED BIG INT DEFAULT 0,
  age TINYINT(1),
  points MEDIUMINT,
  big INT8,
  balance DOUBLE PRECISION,
  rate DECIMAL(10,5),
  code STRING,
  anything,
  zip CHARACTER(20)
);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id INT REFERENCES customers(id), at TIMESTAMP NOT NULL, what TEXT, amount FLOAT);
CREATE INDEX audit_customer ON audit (customer_id, at DESC);
CREATE UNIQUE INDEX customers_full_name_nocase ON customers (full_name COLLATE NOCASE);
BEGIN;
INSERT INTO customers (id, login, full_name, country, motto, bio, active, verified, created, last_seen, visits, age, points, big, balance, rate, code, anything, zip)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
  SELECT i, 'User' || i, 'Name ' || i, CASE WHEN i % 4 = 0 THEN 'DE' ELSE 'CH' END, 'carpe diem ' || i, printf('%.*c', i % 200, 'x'),
         i % 2, CASE i % 4 WHEN 0 THEN 1 WHEN 1 THEN 0 WHEN 2 THEN NULL ELSE 1 END,
         CASE i % 3 WHEN 0 THEN '2019-05-0' || (1 + i % 9) || ' 10:11:12' WHEN 1 THEN '2019-05-0' || (1 + i % 9) || 'T10:11:12.345' ELSE '2019-05-01' END,
         CASE i % 5 WHEN 0 THEN NULL ELSE '2024-02-' || printf('%02d', 1 + i % 28) || ' 08:00:00' END,
         i * 1000003, i % 100, i * 7, i * 1099511627776, i * 0.1, i / 8.0,
         CASE WHEN i % 3 = 0 THEN '00' || i ELSE i END,
         CASE i % 3 WHEN 0 THEN i WHEN 1 THEN 'v' || i ELSE i + 0.5 END, printf('%05d', 8000 + i) FROM n;
INSERT INTO audit (customer_id, at, what, amount) SELECT id, datetime('2024-01-01', '+' || id || ' minutes'), 'login', id * 0.01 FROM customers;
INSERT INTO audit (customer_id, at, what, amount) SELECT id, '2024-03-01 12:00:00', 'purchase', 19.99 FROM customers WHERE id % 3 = 0;
COMMIT;
