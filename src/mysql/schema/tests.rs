//! DDL forms as applications, ORMs, migration tools and `SHOW CREATE TABLE` write them.

use super::*;

fn apply(schema: &mut Schema, sql: &str) -> Vec<TableChange> {
    match schema.apply("shop", sql) {
        Ok(changes) => changes,
        Err(e) => panic!("{sql}: {e} ({:?})", std::error::Error::source(&e)),
    }
}

fn table<'a>(schema: &'a Schema, name: &str) -> &'a TableDef {
    schema
        .table("shop", name)
        .unwrap_or_else(|| panic!("no table shop.{name}"))
}

fn col<'a>(table: &'a TableDef, name: &str) -> &'a ColumnDef {
    table
        .columns
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no column {name} in {}", table.name))
}

fn names(table: &TableDef) -> Vec<&str> {
    table.columns.iter().map(|c| c.name.as_str()).collect()
}

/// (type_name, length, scale, unsigned)
type Ty<'a> = (&'a str, Option<u64>, Option<u32>, bool);

fn ty(c: &ColumnDef) -> Ty<'_> {
    (c.type_name.as_str(), c.length, c.scale, c.unsigned)
}

#[test]
fn create_table_basic() {
    let mut s = Schema::new();
    let changes = apply(
        &mut s,
        "CREATE TABLE customers (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
         name VARCHAR(255) NOT NULL DEFAULT 'x', price DECIMAL(10,2) UNSIGNED, \
         created TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3)) DEFAULT CHARSET=utf8mb4",
    );
    assert_eq!(changes.len(), 1);
    assert!(matches!(&changes[0], TableChange::Create(t) if t.name == "customers"));
    let t = table(&s, "customers");
    assert_eq!(t.primary_key, vec!["id"]);
    assert_eq!(t.charset.as_deref(), Some("utf8mb4"));
    let id = col(t, "id");
    assert_eq!(
        (id.type_name.as_str(), id.nullable, id.auto_increment),
        ("INT", false, true)
    );
    let name = col(t, "name");
    assert_eq!(ty(name), ("VARCHAR", Some(255), None, false));
    assert_eq!(name.default.as_deref(), Some("x"));
    assert_eq!(name.charset.as_deref(), Some("utf8mb4"));
    assert!(!name.nullable);
    assert_eq!(ty(col(t, "price")), ("DECIMAL", Some(10), Some(2), true));
    assert!(col(t, "price").nullable);
    assert_eq!(col(t, "price").charset, None);
    let created = col(t, "created");
    assert_eq!(ty(created), ("TIMESTAMP", Some(3), None, false));
    assert_eq!(created.default.as_deref(), Some("CURRENT_TIMESTAMP"));
    assert_eq!(created.position, 4);
}

#[test]
fn show_create_table_output_of_mariadb() {
    let mut s = Schema::new();
    apply(
        &mut s,
        "CREATE TABLE `orders` (\n  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n  \
         `customer_id` int(11) NOT NULL DEFAULT 0 COMMENT 'who',\n  \
         `status` enum('new','paid','it''s') NOT NULL DEFAULT 'new',\n  \
         `note` varchar(200) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,\n  \
         `doc` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`doc`)),\n  \
         `ts` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),\n  \
         `c` datetime /* mariadb-5.3 */ DEFAULT NULL,\n  \
         PRIMARY KEY (`id`),\n  UNIQUE KEY `uk` (`customer_id`,`ts`),\n  KEY `idx` (`status`),\n  \
         CONSTRAINT `fk` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE CASCADE\n\
         ) ENGINE=InnoDB AUTO_INCREMENT=17 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci \
         PAGE_CHECKSUM=1 STATS_PERSISTENT=0 COMMENT='orders'",
    );
    let t = table(&s, "orders");
    assert_eq!(
        names(t),
        ["id", "customer_id", "status", "note", "doc", "ts", "c"]
    );
    assert_eq!(t.primary_key, ["id"]);
    assert_eq!(t.charset.as_deref(), Some("utf8mb4"));
    assert_eq!(ty(col(t, "id")), ("BIGINT", Some(20), None, true));
    assert!(col(t, "id").auto_increment);
    assert_eq!(col(t, "customer_id").default.as_deref(), Some("0"));
    assert_eq!(col(t, "customer_id").comment.as_deref(), Some("who"));
    let status = col(t, "status");
    assert_eq!(status.enum_values, ["new", "paid", "it's"]);
    assert_eq!(status.charset.as_deref(), Some("utf8mb4"));
    assert_eq!(col(t, "note").charset.as_deref(), Some("latin1"));
    assert_eq!(col(t, "note").default, None);
    assert!(col(t, "note").nullable);
    assert_eq!(ty(col(t, "doc")), ("LONGTEXT", None, None, false));
    assert_eq!(col(t, "ts").default.as_deref(), Some("CURRENT_TIMESTAMP"));
    assert!(!col(t, "ts").nullable);
    assert_eq!(ty(col(t, "c")), ("DATETIME", None, None, false));
}

#[test]
fn all_mariadb_column_types() {
    let mut s = Schema::new();
    apply(
        &mut s,
        "CREATE TABLE types (\
         a TINYINT, b TINYINT(1), c SMALLINT UNSIGNED, d MEDIUMINT(8) UNSIGNED ZEROFILL, \
         e INT(11), f INTEGER UNSIGNED, g BIGINT(20) UNSIGNED, h INT1, i INT8, \
         j DECIMAL(10,2), k NUMERIC(5), l DEC(6,3) UNSIGNED, m FIXED(4,1), \
         n FLOAT, o FLOAT(7,3), p DOUBLE, q DOUBLE PRECISION, r REAL, s DOUBLE(16,4) UNSIGNED, \
         t BIT, u BIT(64), v BOOL, w BOOLEAN, x SERIAL, \
         ya DATE, yb TIME, yc TIME(6), yd DATETIME(3), ye TIMESTAMP(6), yf YEAR, yg YEAR(4), \
         za CHAR, zb CHAR(10), zc VARCHAR(255), zd NATIONAL VARCHAR(10), ze NCHAR(5), \
         zf NVARCHAR(7), zg NATIONAL CHAR(3), \
         ba BINARY(16), bb VARBINARY(255), bc TINYBLOB, bd BLOB, be MEDIUMBLOB, bf LONGBLOB, \
         bg TINYTEXT, bh TEXT, bi MEDIUMTEXT, bj LONGTEXT, bk TEXT(100), \
         ca ENUM('a','b'), cb SET('x','y','z'), cc JSON, \
         ga GEOMETRY, gb POINT, gc LINESTRING, gd POLYGON, ge MULTIPOINT, gf MULTILINESTRING, \
         gg MULTIPOLYGON, gh GEOMETRYCOLLECTION, \
         ua UUID, ub INET6, uc INET4)",
    );
    let t = table(&s, "types");
    let expect: &[(&str, Ty)] = &[
        ("a", ("TINYINT", None, None, false)),
        ("b", ("TINYINT", Some(1), None, false)),
        ("c", ("SMALLINT", None, None, true)),
        ("d", ("MEDIUMINT", Some(8), None, true)),
        ("e", ("INT", Some(11), None, false)),
        ("f", ("INT", None, None, true)),
        ("g", ("BIGINT", Some(20), None, true)),
        ("h", ("TINYINT", None, None, false)),
        ("i", ("BIGINT", None, None, false)),
        ("j", ("DECIMAL", Some(10), Some(2), false)),
        ("k", ("DECIMAL", Some(5), None, false)),
        ("l", ("DECIMAL", Some(6), Some(3), true)),
        ("m", ("DECIMAL", Some(4), Some(1), false)),
        ("n", ("FLOAT", None, None, false)),
        ("o", ("FLOAT", Some(7), Some(3), false)),
        ("p", ("DOUBLE", None, None, false)),
        ("q", ("DOUBLE", None, None, false)),
        ("r", ("DOUBLE", None, None, false)),
        ("s", ("DOUBLE", Some(16), Some(4), true)),
        ("t", ("BIT", None, None, false)),
        ("u", ("BIT", Some(64), None, false)),
        ("v", ("BOOLEAN", None, None, false)),
        ("w", ("BOOLEAN", None, None, false)),
        ("x", ("BIGINT", None, None, true)),
        ("ya", ("DATE", None, None, false)),
        ("yb", ("TIME", None, None, false)),
        ("yc", ("TIME", Some(6), None, false)),
        ("yd", ("DATETIME", Some(3), None, false)),
        ("ye", ("TIMESTAMP", Some(6), None, false)),
        ("yf", ("YEAR", None, None, false)),
        ("yg", ("YEAR", Some(4), None, false)),
        ("za", ("CHAR", None, None, false)),
        ("zb", ("CHAR", Some(10), None, false)),
        ("zc", ("VARCHAR", Some(255), None, false)),
        ("zd", ("VARCHAR", Some(10), None, false)),
        ("ze", ("CHAR", Some(5), None, false)),
        ("zf", ("VARCHAR", Some(7), None, false)),
        ("zg", ("CHAR", Some(3), None, false)),
        ("ba", ("BINARY", Some(16), None, false)),
        ("bb", ("VARBINARY", Some(255), None, false)),
        ("bc", ("TINYBLOB", None, None, false)),
        ("bd", ("BLOB", None, None, false)),
        ("be", ("MEDIUMBLOB", None, None, false)),
        ("bf", ("LONGBLOB", None, None, false)),
        ("bg", ("TINYTEXT", None, None, false)),
        ("bh", ("TEXT", None, None, false)),
        ("bi", ("MEDIUMTEXT", None, None, false)),
        ("bj", ("LONGTEXT", None, None, false)),
        ("bk", ("TEXT", Some(100), None, false)),
        ("ca", ("ENUM", None, None, false)),
        ("cb", ("SET", None, None, false)),
        ("cc", ("JSON", None, None, false)),
        ("ga", ("GEOMETRY", None, None, false)),
        ("gb", ("POINT", None, None, false)),
        ("gc", ("LINESTRING", None, None, false)),
        ("gd", ("POLYGON", None, None, false)),
        ("ge", ("MULTIPOINT", None, None, false)),
        ("gf", ("MULTILINESTRING", None, None, false)),
        ("gg", ("MULTIPOLYGON", None, None, false)),
        ("gh", ("GEOMETRYCOLLECTION", None, None, false)),
        ("ua", ("UUID", None, None, false)),
        ("ub", ("INET6", None, None, false)),
        ("uc", ("INET4", None, None, false)),
    ];
    assert_eq!(t.columns.len(), expect.len());
    for (name, want) in expect {
        assert_eq!(ty(col(t, name)), *want, "column {name}");
    }
    let serial = col(t, "x");
    assert!(serial.auto_increment && !serial.nullable);
    assert_eq!(col(t, "cb").enum_values, ["x", "y", "z"]);
    assert_eq!(col(t, "zd").charset.as_deref(), Some("utf8mb3"));
    assert_eq!(col(t, "ze").charset.as_deref(), Some("utf8mb3"));
    // No table charset known: character columns have none either, others never.
    assert_eq!(col(t, "zc").charset, None);
    assert_eq!(col(t, "e").charset, None);
}

#[test]
fn character_sets_and_collations() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE DATABASE shop CHARACTER SET latin1");
    apply(
        &mut s,
        "CREATE TABLE cs (a VARCHAR(10), b VARCHAR(10) CHARSET utf8, c TEXT COLLATE utf8mb4_bin, \
         d CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, e VARCHAR(10) BINARY, \
         f ENUM('x') CHARACTER SET utf8mb4, g INT, h TEXT BINARY CHARACTER SET latin2)",
    );
    let t = table(&s, "cs");
    assert_eq!(
        t.charset.as_deref(),
        Some("latin1"),
        "inherited from the database"
    );
    assert_eq!(col(t, "a").charset.as_deref(), Some("latin1"));
    assert_eq!(col(t, "b").charset.as_deref(), Some("utf8mb3"));
    assert_eq!(col(t, "c").charset.as_deref(), Some("utf8mb4"));
    assert_eq!(col(t, "d").charset.as_deref(), Some("ascii"));
    assert!(!col(t, "d").nullable);
    assert_eq!(ty(col(t, "e")), ("VARCHAR", Some(10), None, false));
    assert_eq!(col(t, "f").charset.as_deref(), Some("utf8mb4"));
    assert_eq!(col(t, "g").charset, None);
    assert_eq!(col(t, "h").charset.as_deref(), Some("latin2"));

    apply(
        &mut s,
        "CREATE TABLE cs2 (a VARCHAR(3)) COLLATE=utf8mb4_unicode_ci",
    );
    assert_eq!(table(&s, "cs2").charset.as_deref(), Some("utf8mb4"));
    assert_eq!(
        col(table(&s, "cs2"), "a").charset.as_deref(),
        Some("utf8mb4")
    );

    // ALTER TABLE ... DEFAULT CHARSET changes the default for new columns only.
    apply(
        &mut s,
        "ALTER TABLE cs2 DEFAULT CHARACTER SET = latin2, ADD b TEXT",
    );
    let t = table(&s, "cs2");
    assert_eq!(t.charset.as_deref(), Some("latin2"));
    assert_eq!(col(t, "a").charset.as_deref(), Some("utf8mb4"));
    assert_eq!(col(t, "b").charset.as_deref(), Some("latin2"));

    // CONVERT TO changes every character column; TEXT grows to hold as many characters.
    assert_eq!(col(table(&s, "cs"), "c").type_name, "TEXT");
    assert_eq!(col(table(&s, "cs"), "h").type_name, "TEXT");
    apply(
        &mut s,
        "ALTER TABLE cs CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    );
    let t = table(&s, "cs");
    assert_eq!(t.charset.as_deref(), Some("utf8mb4"));
    for c in &t.columns {
        let want = c.is_character().then_some("utf8mb4");
        assert_eq!(c.charset.as_deref(), want, "column {}", c.name);
    }
    assert_eq!(
        col(t, "c").type_name,
        "TEXT",
        "utf8mb4 to utf8mb4 keeps TEXT"
    );
    assert_eq!(
        col(t, "h").type_name,
        "MEDIUMTEXT",
        "latin2 TEXT to utf8mb4"
    );

    apply(
        &mut s,
        "CREATE DATABASE IF NOT EXISTS `dump` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci */",
    );
    s.apply("dump", "CREATE TABLE t (a TEXT)").expect("create");
    assert_eq!(
        s.table("dump", "t")
            .and_then(|t| t.charset.clone())
            .as_deref(),
        Some("utf8mb4")
    );
    apply(&mut s, "CREATE DATABASE q CHARACTER SET = 'latin2'");
    s.apply("q", "CREATE TABLE t (a TEXT)").expect("create");
    assert_eq!(
        s.table("q", "t").and_then(|t| t.charset.clone()).as_deref(),
        Some("latin2")
    );
    apply(&mut s, "ALTER DATABASE shop CHARACTER SET = utf16");
    apply(&mut s, "CREATE TABLE cs3 (a CHAR(1))");
    assert_eq!(table(&s, "cs3").charset.as_deref(), Some("utf16"));
}

#[test]
fn defaults() {
    let mut s = Schema::new();
    apply(
        &mut s,
        "CREATE TABLE d (a INT DEFAULT NULL, b INT NOT NULL DEFAULT '5', c INT DEFAULT -1, \
         d DECIMAL(5,2) DEFAULT 1.50, e VARCHAR(5) DEFAULT \"dq\", f DATETIME DEFAULT NOW(), \
         g DATE DEFAULT '2020-01-01', h BIT(1) DEFAULT b'0', i VARCHAR(5) DEFAULT '', \
         j TIMESTAMP(6) NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), \
         k VARCHAR(9) DEFAULT 'it''s', l INT, m BOOLEAN DEFAULT TRUE, n INT DEFAULT (1 + 2))",
    );
    let t = table(&s, "d");
    let d = |n| col(t, n).default.as_deref();
    assert_eq!(d("a"), None);
    assert_eq!(d("b"), Some("5"));
    assert_eq!(d("c"), Some("-1"));
    assert_eq!(d("d"), Some("1.50"));
    assert_eq!(d("e"), Some("dq"));
    assert_eq!(d("f"), Some("CURRENT_TIMESTAMP"));
    assert_eq!(d("g"), Some("2020-01-01"));
    assert!(d("h").is_some());
    assert_eq!(d("i"), Some(""));
    assert_eq!(d("j"), Some("CURRENT_TIMESTAMP"));
    assert_eq!(d("k"), Some("it's"));
    assert_eq!(d("l"), None);
    assert_eq!(d("m"), Some("1"));
    assert_eq!(d("n"), Some("1 + 2"));
}

#[test]
fn keys_inline_table_constraint_and_prefix() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE k1 (a INT KEY, b INT UNIQUE KEY)");
    assert_eq!(table(&s, "k1").primary_key, ["a"]);
    apply(
        &mut s,
        "CREATE TABLE k2 (a INT, b VARCHAR(100), c INT, CONSTRAINT pk PRIMARY KEY USING BTREE (b(10), a), INDEX (c), FULLTEXT KEY ft (b), CHECK (c > 0))",
    );
    let t = table(&s, "k2");
    assert_eq!(t.primary_key, ["b", "a"]);
    assert!(!col(t, "a").nullable && !col(t, "b").nullable && col(t, "c").nullable);
    // Key names are spelled as the columns are.
    apply(&mut s, "CREATE TABLE k3 (Id INT, PRIMARY KEY (ID))");
    assert_eq!(table(&s, "k3").primary_key, ["Id"]);
}

#[test]
fn alter_table_columns_and_positions() {
    let mut s = Schema::new();
    apply(
        &mut s,
        "CREATE TABLE t (a INT PRIMARY KEY, b INT, e INT, f INT, g INT, h INT)",
    );
    let changes = apply(
        &mut s,
        "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0 AFTER b, ADD d VARCHAR(10) FIRST, \
         DROP COLUMN e, MODIFY COLUMN f BIGINT UNSIGNED, CHANGE g g2 INT(11) NOT NULL AFTER a, \
         RENAME COLUMN h TO h2",
    );
    assert!(
        matches!(&changes[..], [TableChange::Alter { old, .. }] if old == &("shop".to_string(), "t".to_string()))
    );
    let t = table(&s, "t");
    assert_eq!(names(t), ["d", "a", "g2", "b", "c", "f", "h2"]);
    let positions: Vec<u32> = t.columns.iter().map(|c| c.position).collect();
    assert_eq!(positions, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(ty(col(t, "f")), ("BIGINT", None, None, true));
    assert!(!col(t, "g2").nullable);
    assert_eq!(col(t, "c").default.as_deref(), Some("0"));

    apply(
        &mut s,
        "ALTER TABLE t MODIFY a BIGINT NOT NULL FIRST, MODIFY d VARCHAR(20) AFTER h2",
    );
    let t = table(&s, "t");
    assert_eq!(names(t), ["a", "g2", "b", "c", "f", "h2", "d"]);
    assert_eq!(col(t, "d").length, Some(20));

    apply(
        &mut s,
        "ALTER TABLE t ALTER COLUMN c SET DEFAULT 5, ALTER b SET DEFAULT 'x'",
    );
    assert_eq!(col(table(&s, "t"), "c").default.as_deref(), Some("5"));
    assert_eq!(col(table(&s, "t"), "b").default.as_deref(), Some("x"));
    apply(&mut s, "ALTER TABLE t ALTER COLUMN c DROP DEFAULT");
    assert_eq!(col(table(&s, "t"), "c").default, None);

    // Several clauses naming columns added earlier in the same statement.
    apply(&mut s, "ALTER TABLE t ADD x INT, ADD y INT AFTER x, DROP x");
    assert_eq!(
        names(table(&s, "t")),
        ["a", "g2", "b", "c", "f", "h2", "d", "y"]
    );

    // Column names are case-insensitive.
    apply(
        &mut s,
        "ALTER TABLE t DROP COLUMN Y, CHANGE COLUMN `B` `bee` TEXT",
    );
    assert_eq!(
        names(table(&s, "t")),
        ["a", "g2", "bee", "c", "f", "h2", "d"]
    );
}

#[test]
fn alter_table_mariadb_forms() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE t (a INT)");
    apply(
        &mut s,
        "ALTER TABLE t ADD COLUMN (b INT, c VARCHAR(5) NOT NULL, INDEX (b))",
    );
    assert_eq!(names(table(&s, "t")), ["a", "b", "c"]);
    apply(
        &mut s,
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT, ADD IF NOT EXISTS d INT, \
         DROP COLUMN IF EXISTS zz, MODIFY COLUMN IF EXISTS yy INT, CHANGE IF EXISTS xx ww INT",
    );
    assert_eq!(names(table(&s, "t")), ["a", "b", "c", "d"]);
    apply(
        &mut s,
        "ALTER ONLINE TABLE t ENGINE=InnoDB, ALGORITHM=INPLACE, LOCK=NONE, FORCE, COMMENT = 'x', \
         ADD INDEX idx (a), ADD UNIQUE KEY uk (b), DROP INDEX idx, RENAME INDEX uk TO uk2, \
         ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES o(id), DROP FOREIGN KEY fk, \
         DROP CONSTRAINT chk, ADD PARTITION (PARTITION p3 VALUES LESS THAN (2000)), \
         AUTO_INCREMENT = 100, ROW_FORMAT=COMPRESSED",
    );
    assert_eq!(names(table(&s, "t")), ["a", "b", "c", "d"]);
    apply(&mut s, "ALTER IGNORE TABLE t ADD e INT");
    assert_eq!(names(table(&s, "t")).len(), 5);
}

#[test]
fn alter_primary_key() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE t (a INT, b INT, c INT)");
    apply(&mut s, "ALTER TABLE t ADD PRIMARY KEY (a, b)");
    let t = table(&s, "t");
    assert_eq!(t.primary_key, ["a", "b"]);
    assert!(!col(t, "a").nullable);
    apply(
        &mut s,
        "ALTER TABLE t DROP PRIMARY KEY, ADD CONSTRAINT pk PRIMARY KEY (c)",
    );
    assert_eq!(table(&s, "t").primary_key, ["c"]);
    apply(&mut s, "ALTER TABLE t CHANGE c c2 INT");
    assert_eq!(table(&s, "t").primary_key, ["c2"]);
    apply(&mut s, "ALTER TABLE t RENAME COLUMN c2 TO c3");
    assert_eq!(table(&s, "t").primary_key, ["c3"]);
    apply(&mut s, "ALTER TABLE t DROP COLUMN c3");
    assert!(table(&s, "t").primary_key.is_empty());
    apply(
        &mut s,
        "ALTER TABLE t ADD COLUMN id INT NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST",
    );
    let t = table(&s, "t");
    assert_eq!(t.primary_key, ["id"]);
    assert_eq!(names(t), ["id", "a", "b"]);
}

#[test]
fn rename_tables() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE a (x INT)");
    apply(&mut s, "CREATE TABLE b (y INT)");
    // The classic swap through a temporary name.
    let changes = apply(&mut s, "RENAME TABLE a TO tmp, b TO a, tmp TO b");
    assert_eq!(changes.len(), 3);
    assert_eq!(names(table(&s, "a")), ["y"]);
    assert_eq!(names(table(&s, "b")), ["x"]);
    assert!(s.table("shop", "tmp").is_none());

    apply(&mut s, "ALTER TABLE a RENAME TO a2");
    assert!(s.table("shop", "a").is_none());
    assert_eq!(table(&s, "a2").name, "a2");
    apply(&mut s, "ALTER TABLE a2 RENAME a3");
    apply(&mut s, "ALTER TABLE a3 RENAME AS other.a4, ADD z INT");
    let moved = s.table("other", "a4").expect("moved to other db");
    assert_eq!(moved.database, "other");
    assert_eq!(names(moved), ["y", "z"]);
    let changes = apply(&mut s, "RENAME TABLE other.a4 TO `shop`.`back`");
    match &changes[..] {
        [TableChange::Alter { old, table }] => {
            assert_eq!(old, &("other".to_string(), "a4".to_string()));
            assert_eq!(
                (table.database.as_str(), table.name.as_str()),
                ("shop", "back")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn drop_truncate_and_databases() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE a (x INT)");
    apply(&mut s, "CREATE TABLE b (x INT)");
    apply(&mut s, "CREATE TABLE other.c (x INT)");
    assert_eq!(
        apply(&mut s, "TRUNCATE TABLE a"),
        [TableChange::Truncate {
            database: "shop".into(),
            table: "a".into()
        }]
    );
    assert_eq!(apply(&mut s, "TRUNCATE b").len(), 1);
    let changes = apply(
        &mut s,
        "DROP TABLE IF EXISTS a, nothere, other.c /* generated by server */",
    );
    assert_eq!(changes.len(), 2);
    assert!(s.table("shop", "a").is_none() && s.table("other", "c").is_none());
    assert!(apply(&mut s, "DROP TEMPORARY TABLE IF EXISTS b").is_empty());
    assert!(s.table("shop", "b").is_some());
    apply(&mut s, "CREATE TEMPORARY TABLE tmp (x INT)");
    assert!(s.table("shop", "tmp").is_none());
    let changes = apply(&mut s, "DROP DATABASE IF EXISTS shop");
    assert_eq!(
        changes,
        [TableChange::Drop {
            database: "shop".into(),
            table: "b".into()
        }]
    );
    assert_eq!(s.tables().count(), 0);
    apply(&mut s, "CREATE SCHEMA IF NOT EXISTS fresh");
    assert!(s.databases().any(|d| d == "fresh"));
}

#[test]
fn create_like_if_not_exists_or_replace() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE a (x INT PRIMARY KEY, y TEXT)");
    apply(&mut s, "CREATE TABLE b LIKE a");
    assert_eq!(names(table(&s, "b")), ["x", "y"]);
    assert_eq!(table(&s, "b").name, "b");
    apply(&mut s, "CREATE TABLE IF NOT EXISTS other.c (LIKE shop.a)");
    assert_eq!(
        s.table("other", "c").map(|t| t.primary_key.clone()),
        Some(vec!["x".to_string()])
    );
    assert!(apply(&mut s, "CREATE TABLE IF NOT EXISTS a (z INT)").is_empty());
    assert_eq!(names(table(&s, "a")), ["x", "y"]);
    apply(&mut s, "CREATE OR REPLACE TABLE a (z INT)");
    assert_eq!(names(table(&s, "a")), ["z"]);
    // A plain CREATE of a known table (SHOW CREATE TABLE at snapshot) replaces it.
    apply(&mut s, "CREATE TABLE a (w INT)");
    assert_eq!(names(table(&s, "a")), ["w"]);
}

#[test]
fn table_options_the_parser_lacks() {
    let mut s = Schema::new();
    apply(
        &mut s,
        "CREATE TABLE p (id INT, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 \
         PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    );
    assert_eq!(table(&s, "p").primary_key, ["id"]);
    apply(&mut s, "CREATE TABLE v (id INT) WITH SYSTEM VERSIONING");
    apply(
        &mut s,
        "CREATE TABLE e (id INT) ENGINE=InnoDB DEFAULT CHARSET=latin1 /*!50100 PARTITION BY HASH (id) PARTITIONS 4 */",
    );
    assert_eq!(table(&s, "e").charset.as_deref(), Some("latin1"));
    apply(&mut s, "/*!40101 CREATE TABLE m (id INT) */");
    assert!(s.table("shop", "m").is_some());
}

#[test]
fn names_quoting_and_case() {
    let mut s = Schema::new();
    apply(
        &mut s,
        "CREATE TABLE `Order Items` (`Select` INT, `we``ird` INT, ok INT)",
    );
    let t = table(&s, "Order Items");
    assert_eq!(names(t), ["Select", "we`ird", "ok"]);
    assert!(
        s.table("shop", "order items").is_none(),
        "table names are case-sensitive"
    );
    apply(&mut s, "CREATE TABLE order_items (a INT)");
    apply(&mut s, "CREATE TABLE Order_Items (b INT)");
    assert_eq!(names(table(&s, "order_items")), ["a"]);
    assert_eq!(names(table(&s, "Order_Items")), ["b"]);
    apply(&mut s, "ALTER TABLE `Order Items` MODIFY `select` BIGINT");
    assert_eq!(col(table(&s, "Order Items"), "select").type_name, "BIGINT");
}

#[test]
fn statements_that_define_no_table() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE t (a INT)");
    let before = s.clone();
    for sql in [
        "BEGIN",
        "COMMIT",
        "XA START 'x'",
        "SAVEPOINT s1",
        "GRANT SELECT ON *.* TO 'u'@'%'",
        "CREATE USER 'u'@'%' IDENTIFIED BY 'secret'",
        "SET @@session.foreign_key_checks=1",
        "SET NAMES utf8mb4",
        "/*!40101 SET character_set_client = utf8 */",
        "CREATE VIEW v AS SELECT * FROM t",
        "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v2` AS select 1",
        "CREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN SELECT 1; END",
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
        "CREATE FUNCTION f() RETURNS INT RETURN 1",
        "CREATE INDEX i ON t (a)",
        "DROP INDEX i ON t",
        "DROP VIEW v",
        "INSERT INTO t VALUES (1)",
        "FLUSH TABLES",
        "ANALYZE TABLE t",
        "# just a comment",
        "-- another comment",
        "/* block comment */",
        "",
        "%%% not sql at all",
        "CREATE TEMPORARY TABLE tt (x INT)",
    ] {
        assert!(apply(&mut s, sql).is_empty(), "{sql}");
        if sql != "CREATE TEMPORARY TABLE tt (x INT)" {
            assert!(!Schema::is_schema_statement(sql), "{sql}");
        }
    }
    for sql in [
        "CREATE TABLE x (a INT)",
        "/* c */ ALTER ONLINE TABLE x ADD b INT",
        "drop table x",
        "RENAME TABLE a TO b",
        "TRUNCATE x",
        "CREATE DATABASE d",
        "ALTER SCHEMA d CHARACTER SET utf8",
        "DROP DATABASE d",
        "USE d",
    ] {
        assert!(Schema::is_schema_statement(sql), "{sql}");
    }
    assert_eq!(s.tables().count(), before.tables().count());
    assert_eq!(table(&s, "t"), table(&before, "t"));
}

#[test]
fn use_sets_the_database_for_statements_without_one() {
    let mut s = Schema::new();
    s.apply("", "USE `inv`").expect("use");
    s.apply("", "CREATE TABLE t (a INT)").expect("create");
    assert!(s.table("inv", "t").is_some());
    // The event's own default database wins.
    s.apply("other", "CREATE TABLE u (a INT)").expect("create");
    assert!(s.table("other", "u").is_some());
}

#[test]
fn errors_name_the_statement() {
    let mut s = Schema::new();
    apply(&mut s, "CREATE TABLE t (a INT)");
    let e = s
        .apply("shop", "CREATE TABLE broken (a INT,, b)")
        .expect_err("bad");
    assert!(matches!(e, DdlError::Parse { .. }), "{e}");
    assert!(e.to_string().contains("CREATE TABLE broken"), "{e}");

    let e = s
        .apply("shop", "ALTER TABLE t DROP COLUMN nope")
        .expect_err("bad");
    assert!(
        matches!(&e, DdlError::UnknownColumn { column, .. } if column == "nope"),
        "{e}"
    );
    assert!(e.to_string().contains("`shop`.`t`"), "{e}");
    // The failed statement changed nothing.
    assert_eq!(names(table(&s, "t")), ["a"]);

    let e = s
        .apply("shop", "ALTER TABLE t ADD b INT AFTER nope")
        .expect_err("bad");
    assert!(matches!(e, DdlError::UnknownColumn { .. }), "{e}");
    assert_eq!(names(table(&s, "t")), ["a"]);

    let e = s.apply("", "CREATE TABLE x (a INT)").expect_err("no db");
    assert!(matches!(e, DdlError::NoDatabase { .. }), "{e}");
    // A DROP of several tables that fails on the second drops none.
    let e = s.apply("", "DROP TABLE shop.t, nodb").expect_err("no db");
    assert!(matches!(e, DdlError::NoDatabase { .. }), "{e}");
    assert!(s.table("shop", "t").is_some());

    let e = s
        .apply("shop", "CREATE TABLE c AS SELECT * FROM t")
        .expect_err("ctas");
    assert!(matches!(e, DdlError::Unsupported { .. }), "{e}");
    let e = s
        .apply("shop", "CREATE TABLE c (x INT) SELECT 1 AS x")
        .expect_err("ctas");
    assert!(matches!(e, DdlError::Unsupported { .. }), "{e}");

    let e = s
        .apply("shop", "CREATE TABLE c LIKE missing")
        .expect_err("like");
    assert!(e.to_string().contains("missing"), "{e}");

    let e = s
        .apply("shop", "CREATE TABLE k (a INT, PRIMARY KEY (nope))")
        .expect_err("key");
    assert!(matches!(e, DdlError::UnknownColumn { .. }), "{e}");

    let long = format!("CREATE TABLE t2 (a INT, {} ,,)", "b INT, ".repeat(100));
    let e = s.apply("shop", &long).expect_err("bad");
    assert!(
        e.to_string().len() < 600,
        "statement is shortened in messages"
    );
}

#[test]
fn alter_or_rename_of_unknown_table_changes_nothing() {
    let mut s = Schema::new();
    assert!(apply(&mut s, "ALTER TABLE ghost ADD a INT").is_empty());
    assert!(apply(&mut s, "RENAME TABLE ghost TO g2").is_empty());
    assert!(apply(&mut s, "TRUNCATE ghost").is_empty());
    assert!(apply(&mut s, "DROP TABLE IF EXISTS ghost").is_empty());
    assert_eq!(s.tables().count(), 0);
}

/// Every prefix of every statement, and some byte soup: an error or a result, never a panic.
#[test]
fn truncated_and_garbage_input_never_panics() {
    let statements = [
        "CREATE TABLE `t` (`a` int(11) NOT NULL DEFAULT '0', `b` enum('x','y''z') CHARACTER SET latin1, PRIMARY KEY (`a`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 /*!50100 PARTITION BY HASH (a) */",
        "ALTER TABLE `t` ADD COLUMN (c INT, d TEXT BINARY), CHANGE `b` `bb` VARCHAR(10) CHARSET utf8 AFTER `a`, CONVERT TO CHARACTER SET utf8mb4, RENAME x",
        "RENAME TABLE a TO b, `c`.`d` TO e",
        "ALTER DATABASE `shop` DEFAULT CHARACTER SET = 'latin1'",
        "CREATE TABLE t (a NATIONAL CHAR VARYING(10), b VARCHAR(3) BINARY, c INT DEFAULT b'01')",
    ];
    for sql in statements {
        let mut s = Schema::new();
        let _ = s.apply("shop", "CREATE TABLE t (a INT, b TEXT)");
        for end in 0..=sql.len() {
            if let Some(prefix) = sql.get(..end) {
                let mut copy = s.clone();
                let _ = copy.apply("shop", prefix);
            }
        }
    }
    let mut s = Schema::new();
    for sql in [
        "CREATE TABLE (",
        "ALTER TABLE",
        "ALTER TABLE t ,,,",
        "CREATE TABLE t (a INT) '",
        "ALTER TABLE `",
        "CREATE TABLE t (((((",
        "ALTER DATABASE",
        "RENAME TABLE",
    ] {
        let _ = s.apply("shop", sql);
    }
}

/// DDL as ORMs and migration tools emit it.
#[test]
fn orm_generated_ddl() {
    let mut s = Schema::new();
    // Rails
    apply(
        &mut s,
        "CREATE TABLE `users` (`id` bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, `email` varchar(255) DEFAULT '' NOT NULL, `created_at` datetime(6) NOT NULL)",
    );
    let t = table(&s, "users");
    assert!(!col(t, "email").nullable);
    assert_eq!(col(t, "email").default.as_deref(), Some(""));
    assert_eq!(t.primary_key, ["id"]);
    // Django, with the trailing semicolon
    apply(
        &mut s,
        "CREATE TABLE `app_x` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `name` varchar(100) NOT NULL, `owner_id` integer NULL);",
    );
    apply(
        &mut s,
        "ALTER TABLE `app_x` ADD CONSTRAINT `app_x_owner_id_fk` FOREIGN KEY (`owner_id`) REFERENCES `users` (`id`);",
    );
    apply(
        &mut s,
        "ALTER TABLE `app_x` MODIFY `name` varchar(200) NOT NULL;",
    );
    assert_eq!(col(table(&s, "app_x"), "name").length, Some(200));
    // Hibernate
    apply(
        &mut s,
        "create table Person (id bigint not null, name varchar(255), primary key (id)) engine=InnoDB",
    );
    assert_eq!(table(&s, "Person").primary_key, ["id"]);
    // Laravel
    apply(
        &mut s,
        "create table `accounts` (`id` bigint unsigned not null auto_increment primary key, `email` varchar(255) not null) default character set utf8mb4 collate 'utf8mb4_unicode_ci'",
    );
    assert_eq!(table(&s, "accounts").charset.as_deref(), Some("utf8mb4"));
    apply(
        &mut s,
        "alter table `accounts` add `votes` int not null after `id`",
    );
    assert_eq!(names(table(&s, "accounts")), ["id", "votes", "email"]);
    // Prisma
    apply(
        &mut s,
        "CREATE TABLE `User` (\n    `id` INTEGER NOT NULL AUTO_INCREMENT,\n    `email` VARCHAR(191) NOT NULL,\n\n    UNIQUE INDEX `User_email_key`(`email`),\n    PRIMARY KEY (`id`)\n) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;",
    );
    assert_eq!(table(&s, "User").primary_key, ["id"]);
    // gh-ost / pt-online-schema-change: shadow table, alter, atomic swap
    apply(&mut s, "CREATE TABLE `_users_gho` LIKE `users`");
    apply(&mut s, "ALTER TABLE `_users_gho` ADD COLUMN `age` INT NULL");
    apply(
        &mut s,
        "RENAME TABLE `users` TO `_users_del`, `_users_gho` TO `users`",
    );
    assert_eq!(
        names(table(&s, "users")),
        ["id", "email", "created_at", "age"]
    );
    apply(&mut s, "DROP TABLE IF EXISTS `_users_del`");
    assert!(s.table("shop", "_users_del").is_none());
}

/// Random edits of real statements (deterministic xorshift, fixed seed): every one gives an
/// error or a result, never a panic, and a failed statement leaves the schema as it was.
#[test]
fn mutated_ddl_never_panics_and_failures_change_nothing() {
    let seeds = [
        "CREATE TABLE `t` (`a` int(11) NOT NULL DEFAULT '0', `b` enum('x','y''z') CHARACTER SET latin1, `c` varchar(10) BINARY, PRIMARY KEY (`a`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "ALTER TABLE `t` ADD COLUMN (c INT, d TEXT), CHANGE `b` `bb` VARCHAR(10) CHARSET utf8 AFTER `a`, CONVERT TO CHARACTER SET utf8mb4, DROP PRIMARY KEY, ADD PRIMARY KEY (c)",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS e INT FIRST, MODIFY COLUMN IF EXISTS a BIGINT, RENAME t2",
        "RENAME TABLE t TO u, u TO t",
        "CREATE TABLE x LIKE t",
    ];
    let pieces: [&[u8]; 14] = [
        b"(", b")", b",", b"'", b"`", b"\"", b"/*", b"*/", b"--", b"#", b";", b" NOT ", b" FIRST",
        b"\\",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut base = Schema::new();
    base.apply("shop", "CREATE TABLE t (a INT, b TEXT, c INT)")
        .expect("base table");
    for round in 0..3000 {
        let seed = seeds[round % seeds.len()].as_bytes();
        let mut sql = seed.to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % (sql.len() + 1);
            match next() % 3 {
                0 if !sql.is_empty() => {
                    let end = (at + 1 + (next() as usize) % 8).min(sql.len());
                    sql.drain(at.min(sql.len())..end);
                }
                1 => {
                    let piece = pieces[(next() as usize) % pieces.len()];
                    sql.splice(at..at, piece.iter().copied());
                }
                _ => {
                    let cut = (next() as usize) % (sql.len() + 1);
                    sql.truncate(cut);
                }
            }
        }
        let text = String::from_utf8_lossy(&sql).into_owned();
        let mut s = base.clone();
        if s.apply("shop", &text).is_err() {
            let before: Vec<&TableDef> = base.tables().map(|t| &**t).collect();
            let after: Vec<&TableDef> = s.tables().map(|t| &**t).collect();
            assert_eq!(
                before, after,
                "a failed statement changed the schema: {text}"
            );
        }
    }
}
