//! Every value type, through a table and as a bound parameter.

use sqlite_runtime::{Params, SqliteDatabase, Value, ValueRef, params};

use super::support::scalar;
use crate::{CaseResult, Context};

/// Stores `value` in an untyped column and reads it back, then selects it as a bound
/// parameter; both must give `value` back exactly, with the expected `typeof`.
fn round_trip(db: &mut dyn SqliteDatabase, value: &Value, type_name: &str) -> CaseResult {
    db.exec("CREATE TABLE IF NOT EXISTS rt (id INTEGER PRIMARY KEY, v)")?;
    let inserted = db.run(
        "INSERT INTO rt (v) VALUES (?)",
        Params::from(&[value.as_ref()]),
    )?;
    let row = db
        .get(
            "SELECT v, typeof(v) AS t FROM rt WHERE id = ?",
            params![inserted.last_insert_rowid],
        )?
        .ok_or("the inserted row is missing")?;
    assert_same(row.value("v")?, value, "through a table");
    assert_eq!(
        row.get::<String>("t")?,
        type_name,
        "typeof through a table for {value:?}"
    );

    let row = db
        .get(
            "SELECT ?1 AS v, typeof(?1) AS t",
            Params::from(&[value.as_ref()]),
        )?
        .ok_or("SELECT ? returned no row")?;
    assert_same(row.value("v")?, value, "as a bound parameter");
    assert_eq!(
        row.get::<String>("t")?,
        type_name,
        "typeof(?) for {value:?}"
    );

    // The value also compares equal to itself inside SQLite (except NULL).
    if !matches!(value, Value::Null) {
        let found: i64 = scalar(
            db,
            "SELECT count(*) FROM rt WHERE id = ? AND v = ?",
            Params::from(&[
                ValueRef::Integer(inserted.last_insert_rowid),
                value.as_ref(),
            ]),
        )?;
        assert_eq!(found, 1, "WHERE v = ? must match {value:?}");
    }
    Ok(())
}

/// Equality that tells -0.0 from 0.0 and compares reals bit for bit.
fn assert_same(found: &Value, expected: &Value, how: &str) {
    match (found, expected) {
        (Value::Real(a), Value::Real(b)) => assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{how}: real {b:e} came back as {a:e}"
        ),
        (Value::Blob(a), Value::Blob(b)) => {
            assert_eq!(a.len(), b.len(), "{how}: blob length");
            assert!(a == b, "{how}: blob bytes differ");
        }
        _ => assert_eq!(found, expected, "{how}"),
    }
}

/// Integers, including the extremes, come back exactly.
pub(crate) fn values_integers_round_trip(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    for i in [
        0,
        1,
        -1,
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
        1 << 53,
        (1 << 53) + 1,
        4_294_967_296,
    ] {
        round_trip(&mut *db, &Value::Integer(i), "integer")?;
    }
    Ok(())
}

/// Reals come back bit for bit, including extremes and the sign of zero.
pub(crate) fn values_reals_round_trip(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    for r in [
        0.0,
        1.5,
        -2.25,
        0.1,
        1e308,
        -1e308,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        5e-324, // the smallest subnormal
        123_456_789.123_456_79,
    ] {
        round_trip(&mut *db, &Value::Real(r), "real")?;
    }
    Ok(())
}

/// -0.0 keeps its sign bit as a bound parameter and in a column without affinity.
pub(crate) fn values_negative_zero_keeps_sign(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let row = db.get("SELECT ?", params![-0.0f64])?.ok_or("no row")?;
    match row.value(0)? {
        Value::Real(r) => assert_eq!(r.to_bits(), (-0.0_f64).to_bits(), "got {r}"),
        other => panic!("-0.0 came back as {other:?}"),
    }
    db.exec("CREATE TABLE z (v BLOB)")?;
    db.run("INSERT INTO z VALUES (?)", params![-0.0f64])?;
    let v: f64 = scalar(&mut *db, "SELECT v FROM z", Params::NONE)?;
    assert_eq!(
        v.to_bits(),
        (-0.0_f64).to_bits(),
        "stored -0.0 came back as {v}"
    );
    Ok(())
}

/// Text: empty, multi-byte, emoji, embedded NUL, long.
pub(crate) fn values_text_round_trip(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let long = "αβγ🦀".repeat(100_000);
    for text in [
        "",
        "plain ascii",
        "héllo wörld — ñ ü ß",
        "日本語のテキスト",
        "🦀👍🏽👨‍👩‍👧‍👦",
        "line\nbreak\ttab\r\n",
        "'quoted' \"double\" ;-- not a comment",
        long.as_str(),
    ] {
        round_trip(&mut *db, &Value::Text(text.to_owned()), "text")?;
    }
    Ok(())
}

/// Text holding NUL characters round-trips whole, its byte length preserved.
pub(crate) fn values_text_with_nul_round_trip(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    for text in ["a\0b\0c", "\0", "\0\0tail"] {
        round_trip(&mut *db, &Value::Text(text.to_owned()), "text")?;
    }
    let bytes: i64 = scalar(
        &mut *db,
        "SELECT length(CAST(? AS BLOB))",
        params!["a\0b🦀"],
    )?;
    assert_eq!(bytes, 7);
    Ok(())
}

/// An empty blob is a blob, not NULL; NULL is NULL.
pub(crate) fn values_empty_blob_is_not_null(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    round_trip(&mut *db, &Value::Blob(Vec::new()), "blob")?;
    round_trip(&mut *db, &Value::Null, "null")?;
    let empty: &[u8] = &[];
    let row = db
        .get(
            "SELECT typeof(?1), ?1 IS NULL, length(?1), typeof(?2), typeof(x'')",
            Params::from(&[ValueRef::Blob(empty), ValueRef::Null]),
        )?
        .ok_or("no row")?;
    assert_eq!(
        row.values(),
        &[
            Value::Text("blob".into()),
            Value::Integer(0),
            Value::Integer(0),
            Value::Text("null".into()),
            Value::Text("blob".into()),
        ]
    );
    let literal = db.get("SELECT x''", Params::NONE)?.ok_or("no row")?;
    assert_eq!(literal.value(0)?, &Value::Blob(Vec::new()));
    // Empty text is not NULL either.
    let kind: String = scalar(&mut *db, "SELECT typeof(?)", params![""])?;
    assert_eq!(kind, "text");
    Ok(())
}

/// Blobs with NUL and every byte value come back exactly.
pub(crate) fn values_blobs_round_trip(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let all_bytes: Vec<u8> = (0..=255).collect();
    for blob in [
        vec![0],
        vec![0, 0, 0],
        vec![1, 0, 2, 0, 255],
        all_bytes,
        b"not\0text\xff\xfe".to_vec(),
    ] {
        round_trip(&mut *db, &Value::Blob(blob), "blob")?;
    }
    Ok(())
}

/// A 4 MiB blob comes back byte for byte.
pub(crate) fn values_large_blob(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("large.db")?;
    let blob: Vec<u8> = (0..4 * 1024 * 1024_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    round_trip(&mut *db, &Value::Blob(blob.clone()), "blob")?;
    let length: i64 = scalar(&mut *db, "SELECT length(v) FROM rt", Params::NONE)?;
    assert_eq!(length, 4 * 1024 * 1024);
    // And through a fresh connection, from disk.
    db.close()?;
    let mut db = cx.open_file("large.db")?;
    let back: Vec<u8> = scalar(&mut *db, "SELECT v FROM rt", Params::NONE)?;
    assert!(back == blob, "the blob read from disk differs");
    Ok(())
}

/// `typeof` of each bound value type, and literals keep their storage class.
pub(crate) fn values_typeof_bound_parameters(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let row = db
        .get(
            "SELECT typeof(?), typeof(?), typeof(?), typeof(?), typeof(?)",
            Params::from(&[
                ValueRef::Null,
                ValueRef::Integer(1),
                ValueRef::Real(1.0),
                ValueRef::Text("1"),
                ValueRef::Blob(b"1"),
            ]),
        )?
        .ok_or("no row")?;
    let types: Vec<String> = (0..5).map(|i| row.get(i)).collect::<Result<_, _>>()?;
    assert_eq!(types, ["null", "integer", "real", "text", "blob"]);
    // A real with an integral value stays a real; an integer stays an integer.
    let row = db
        .get("SELECT 1, 1.0, ?, ?", params![2.0f64, 2i64])?
        .ok_or("no row")?;
    assert_eq!(
        row.values(),
        &[
            Value::Integer(1),
            Value::Real(1.0),
            Value::Real(2.0),
            Value::Integer(2)
        ]
    );
    Ok(())
}

/// Column affinity converts as SQLite documents, identically on every backend.
pub(crate) fn values_column_affinity(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE a (i INTEGER, r REAL, t TEXT, b BLOB, n NUMERIC)")?;
    db.run(
        "INSERT INTO a VALUES (?, ?, ?, ?, ?)",
        params!["42", 3i64, 5i64, "7", "2.50"],
    )?;
    let row = db.get("SELECT * FROM a", Params::NONE)?.ok_or("no row")?;
    assert_eq!(
        row.values(),
        &[
            Value::Integer(42),
            Value::Real(3.0),
            Value::Text("5".into()),
            Value::Text("7".into()),
            Value::Real(2.5),
        ]
    );
    Ok(())
}

/// Owned values read back can be passed straight back as parameters.
pub(crate) fn values_rows_feed_back_as_parameters(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let row = db
        .get("SELECT NULL, 7, 2.5, 'txt', x'00ff'", Params::NONE)?
        .ok_or("no row")?;
    let params: Vec<ValueRef<'_>> = row.values().iter().map(Value::as_ref).collect();
    let echoed = db
        .get("SELECT ?, ?, ?, ?, ?", Params::from(&params))?
        .ok_or("no row")?;
    assert_eq!(echoed.values(), row.values());
    Ok(())
}
