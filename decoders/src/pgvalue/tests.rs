use base64::Engine as _;

use super::*;

fn ok(ty: &PgType, text: &str) -> PgValue {
    match decode_text(ty, text.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("{text:?} as {}: {e}", ty.name()),
    }
}

fn bad(ty: &PgType, text: &[u8]) -> DecodeError {
    match decode_text(ty, text) {
        Ok(v) => panic!("{text:?} as {} decoded to {v:?}", ty.name()),
        Err(e) => e,
    }
}

fn dec(s: &str) -> Decimal {
    match Decimal::parse(s) {
        Ok(d) => d,
        Err(e) => panic!("{s}: {e}"),
    }
}

fn b64(d: &Decimal) -> String {
    base64::engine::general_purpose::STANDARD.encode(d.to_unscaled_be_bytes())
}

const DAY_US: i64 = 86_400_000_000;

#[test]
fn oids() {
    assert_eq!(PgType::from_builtin_oid(23), Some(PgType::Int4));
    assert_eq!(PgType::from_builtin_oid(1700), Some(PgType::Numeric));
    assert_eq!(PgType::from_builtin_oid(1184), Some(PgType::TimestampTz));
    assert_eq!(PgType::from_builtin_oid(3802), Some(PgType::Jsonb));
    assert_eq!(
        PgType::from_builtin_oid(1007),
        Some(PgType::Array(Box::new(PgType::Int4)))
    );
    assert_eq!(
        PgType::from_builtin_oid(1009),
        Some(PgType::Array(Box::new(PgType::Text)))
    );
    assert_eq!(
        PgType::from_builtin_oid(1231),
        Some(PgType::Array(Box::new(PgType::Numeric)))
    );
    assert_eq!(PgType::from_builtin_oid(99_999), None);
    assert_eq!(PgType::from_extension_name("hstore"), Some(PgType::Hstore));
    assert_eq!(
        PgType::from_extension_name("_citext"),
        Some(PgType::Array(Box::new(PgType::Citext)))
    );
    assert_eq!(PgType::from_extension_name("__citext"), None);
}

#[test]
fn scalars() {
    assert_eq!(ok(&PgType::Bool, "t"), PgValue::Bool(true));
    assert_eq!(ok(&PgType::Bool, "f"), PgValue::Bool(false));
    bad(&PgType::Bool, b"x");
    assert_eq!(ok(&PgType::Int2, "-32768"), PgValue::Int2(i16::MIN));
    bad(&PgType::Int2, b"32768");
    assert_eq!(ok(&PgType::Int4, "2147483647"), PgValue::Int4(i32::MAX));
    assert_eq!(
        ok(&PgType::Int8, "-9223372036854775808"),
        PgValue::Int8(i64::MIN)
    );
    bad(&PgType::Int8, b"");
    bad(&PgType::Int8, b"1.5");
    assert_eq!(ok(&PgType::Oid, "4294967295"), PgValue::Oid(u32::MAX));
    assert_eq!(
        ok(&PgType::Float8, "3.141592653589793"),
        PgValue::Float8(std::f64::consts::PI)
    );
    assert_eq!(ok(&PgType::Float4, "1.10000002"), PgValue::Float4(1.1));
    assert_eq!(
        ok(&PgType::Float8, "Infinity"),
        PgValue::Float8(f64::INFINITY)
    );
    assert_eq!(
        ok(&PgType::Float4, "-Infinity"),
        PgValue::Float4(f32::NEG_INFINITY)
    );
    assert!(matches!(ok(&PgType::Float8, "NaN"), PgValue::Float8(f) if f.is_nan()));
    assert_eq!(ok(&PgType::Float8, "1e-300"), PgValue::Float8(1e-300));
    bad(&PgType::Float8, b"abc");
    assert_eq!(ok(&PgType::Bpchar, "ab   "), PgValue::Text("ab   ".into()));
    assert_eq!(
        ok(&PgType::Jsonb, r#"{"a": [1, 2]}"#),
        PgValue::Text(r#"{"a": [1, 2]}"#.into())
    );
    assert_eq!(ok(&PgType::Varbit, "0101"), PgValue::Text("0101".into()));
    assert_eq!(
        ok(&PgType::Uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        PgValue::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
    );
    assert_eq!(ok(&PgType::Text, "日本"), PgValue::Text("日本".into()));
    assert_eq!(
        bad(&PgType::Text, b"ab\xffc"),
        DecodeError::InvalidValue {
            offset: 2,
            pg_type: "text",
            reason: "invalid utf-8"
        }
    );
}

#[test]
fn bytea() {
    assert_eq!(
        ok(&PgType::Bytea, "\\xdeadBEEF00"),
        PgValue::Bytea(vec![0xde, 0xad, 0xbe, 0xef, 0])
    );
    assert_eq!(ok(&PgType::Bytea, "\\x"), PgValue::Bytea(vec![]));
    assert_eq!(bad(&PgType::Bytea, b"\\x0g").offset(), 3);
    bad(&PgType::Bytea, b"\\xabc");
    // legacy escape format
    assert_eq!(
        ok(&PgType::Bytea, "a\\\\b\\000\\377"),
        PgValue::Bytea(vec![b'a', b'\\', b'b', 0, 255])
    );
    bad(&PgType::Bytea, b"a\\9");
    bad(&PgType::Bytea, b"a\\");
}

#[test]
fn numeric_debezium_bytes() {
    let cases = [
        ("12345678.91", 2, "SZYC0w=="),
        ("-99999999.99", 2, "/av0HAE="),
        ("0.00", 2, "AA=="),
        ("3.14159265358979323846", 20, "EQfV61tbpNfG"),
        ("-0.000001", 6, "/w=="),
    ];
    for (s, scale, want) in cases {
        let d = dec(s);
        assert_eq!(d.scale(), scale, "{s}");
        assert_eq!(b64(&d), want, "{s}");
        assert_eq!(d.to_plain_string(), s);
    }
}

#[test]
fn numeric_bytes_like_java_biginteger() {
    let cases: [(&str, &[u8]); 11] = [
        ("0", &[0x00]),
        ("-1", &[0xff]),
        ("1", &[0x01]),
        ("127", &[0x7f]),
        ("128", &[0x00, 0x80]),
        ("-128", &[0x80]),
        ("-129", &[0xff, 0x7f]),
        ("255", &[0x00, 0xff]),
        ("-256", &[0xff, 0x00]),
        ("1234567891", &[0x49, 0x96, 0x02, 0xd3]),
        ("-9999999999", &[0xfd, 0xab, 0xf4, 0x1c, 0x01]),
    ];
    for (s, want) in cases {
        assert_eq!(dec(s).to_unscaled_be_bytes(), want, "{s}");
    }
    // 2^64 = 18446744073709551616 crosses limb boundaries
    assert_eq!(
        dec("18446744073709551616").to_unscaled_be_bytes(),
        [1, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        dec("-18446744073709551616").to_unscaled_be_bytes(),
        [0xff, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    // 10^40: the known big-endian hex is 1d6329f1c35ca4bfabb9f5610000000000
    let bytes = dec("10000000000000000000000000000000000000000").to_unscaled_be_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "1d6329f1c35ca4bfabb9f5610000000000");
}

#[test]
fn numeric_java_forms() {
    // BigDecimal.toString(): scientific once the adjusted exponent is below -6.
    for (input, java) in [
        ("0.000001", "0.000001"),
        ("0.0000001", "1E-7"),
        ("-0.00000012", "-1.2E-7"),
        ("0.00000000", "0E-8"),
        ("12345678.91", "12345678.91"),
        ("100", "100"),
        ("0", "0"),
    ] {
        assert_eq!(dec(input).to_java_string(), java, "{input}");
    }
    // stripTrailingZeros() with a negative scale clamped to 0.
    for (input, plain, scale) in [
        ("1.50", "1.5", 1),
        ("100", "100", 0),
        ("0.00", "0", 0),
        ("-2.000", "-2", 0),
    ] {
        let d = dec(input).strip_trailing_zeros();
        assert_eq!((d.to_plain_string().as_str(), d.scale()), (plain, scale));
    }
}

#[test]
fn numeric_parse_and_format() {
    assert_eq!(dec("-0.000001").to_plain_string(), "-0.000001");
    assert_eq!(dec("-0.00").to_plain_string(), "0.00");
    assert!(!dec("-0.00").is_negative());
    assert_eq!(dec("007.50").to_plain_string(), "7.50");
    assert_eq!(dec("1e5").to_plain_string(), "100000");
    assert_eq!(dec("1.5E-3").to_plain_string(), "0.0015");
    assert_eq!(dec("1.5E-3").scale(), 4);
    assert_eq!(dec(".5").to_plain_string(), "0.5");
    assert_eq!(dec("5.").to_plain_string(), "5");
    assert_eq!(dec("+12").to_plain_string(), "12");
    for s in [
        "",
        "-",
        ".",
        "1.2.3",
        "1e",
        "abc",
        "1 ",
        "1e999999999",
        "1e-999999999",
    ] {
        assert!(Decimal::parse(s).is_err(), "{s:?}");
    }
    assert_eq!(
        ok(&PgType::Numeric, "NaN"),
        PgValue::Numeric(PgNumeric::NaN)
    );
    assert_eq!(
        ok(&PgType::Numeric, "Infinity"),
        PgValue::Numeric(PgNumeric::PosInfinity)
    );
    assert_eq!(
        ok(&PgType::Numeric, "-Infinity"),
        PgValue::Numeric(PgNumeric::NegInfinity)
    );
    assert_eq!(
        ok(&PgType::Numeric, "1.10"),
        PgValue::Numeric(PgNumeric::Finite(dec("1.10")))
    );
    assert_eq!(PgNumeric::Finite(dec("-1.10")).to_string(), "-1.10");
}

#[test]
fn numeric_rescale_and_f64() {
    assert_eq!(dec("1.5").rescale(3).to_plain_string(), "1.500");
    assert_eq!(dec("0").rescale(2).to_plain_string(), "0.00");
    assert_eq!(dec("1.245").rescale(2).to_plain_string(), "1.25");
    assert_eq!(dec("1.244").rescale(2).to_plain_string(), "1.24");
    assert_eq!(dec("-1.245").rescale(2).to_plain_string(), "-1.25");
    assert_eq!(dec("9.995").rescale(2).to_plain_string(), "10.00");
    assert_eq!(dec("-0.004").rescale(2).to_plain_string(), "0.00");
    assert!(!dec("-0.004").rescale(2).is_negative());
    assert_eq!(dec("0.005").rescale(2).to_plain_string(), "0.01");
    assert_eq!(dec("0.0005").rescale(2).to_plain_string(), "0.00");
    assert_eq!(dec("99.5").rescale(0).to_plain_string(), "100");
    assert_eq!(dec("12345678.91").to_f64(), 12_345_678.91);
    assert_eq!(dec("-0.000001").to_f64(), -0.000001);
    assert_eq!(dec("3.14159265358979323846").to_f64(), std::f64::consts::PI);
}

#[test]
fn money() {
    let m = |s: &str| match ok(&PgType::Money, s) {
        PgValue::Money(PgNumeric::Finite(d)) => d.to_plain_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(m("$1,234.56"), "1234.56");
    assert_eq!(m("-$1.00"), "-1.00");
    assert_eq!(m("($1.00)"), "-1.00");
    assert_eq!(m("$0.00"), "0.00");
    assert_eq!(m("-$92,233,720,368,547,758.08"), "-92233720368547758.08");
    bad(&PgType::Money, b"$");
}

#[test]
fn dates() {
    assert_eq!(
        ok(&PgType::Date, "1970-01-01"),
        PgValue::Date(PgDate::Days(0))
    );
    assert_eq!(
        ok(&PgType::Date, "2000-01-01"),
        PgValue::Date(PgDate::Days(10_957))
    );
    assert_eq!(
        ok(&PgType::Date, "1969-12-31"),
        PgValue::Date(PgDate::Days(-1))
    );
    assert_eq!(
        ok(&PgType::Date, "2024-02-29"),
        PgValue::Date(PgDate::Days(19_782))
    );
    // 0001-01-01 is day -719162; 1 BC (year 0) is a leap year of 366 days
    assert_eq!(
        ok(&PgType::Date, "0001-01-01"),
        PgValue::Date(PgDate::Days(-719_162))
    );
    assert_eq!(
        ok(&PgType::Date, "0001-12-31 BC"),
        PgValue::Date(PgDate::Days(-719_163))
    );
    assert_eq!(
        ok(&PgType::Date, "0001-01-01 BC"),
        PgValue::Date(PgDate::Days(-719_163 - 365))
    );
    assert_eq!(
        ok(&PgType::Date, "0001-02-29 BC"),
        PgValue::Date(PgDate::Days(-719_163 - 365 + 59))
    );
    assert_eq!(
        ok(&PgType::Date, "10000-01-01"),
        PgValue::Date(PgDate::Days(2_932_897))
    );
    assert_eq!(
        ok(&PgType::Date, "infinity"),
        PgValue::Date(PgDate::PosInfinity)
    );
    assert_eq!(
        ok(&PgType::Date, "-infinity"),
        PgValue::Date(PgDate::NegInfinity)
    );
    bad(&PgType::Date, b"2023-02-29");
    bad(&PgType::Date, b"2023-13-01");
    bad(&PgType::Date, b"2023-01-00");
    bad(&PgType::Date, b"2023-01-01 AD");
    bad(&PgType::Date, b"0000-01-01 BC");
    assert_eq!(
        ok(&PgType::Date, "5874897-12-31"),
        PgValue::Date(PgDate::Days(2_145_042_905))
    );
    bad(&PgType::Date, b"9999999-01-01");
    assert_eq!(bad(&PgType::Date, b"2023/01/01").offset(), 4);
}

#[test]
fn times() {
    assert_eq!(ok(&PgType::Time, "00:00:00"), PgValue::Time(0));
    assert_eq!(
        ok(&PgType::Time, "04:05:06.789"),
        PgValue::Time(((4 * 60 + 5) * 60 + 6) * 1_000_000 + 789_000)
    );
    assert_eq!(
        ok(&PgType::Time, "23:59:59.999999"),
        PgValue::Time(DAY_US - 1)
    );
    assert_eq!(ok(&PgType::Time, "24:00:00"), PgValue::Time(DAY_US));
    assert_eq!(ok(&PgType::Time, "00:00:00.0000005"), PgValue::Time(1));
    bad(&PgType::Time, b"24:00:01");
    bad(&PgType::Time, b"12:60:00");
    bad(&PgType::Time, b"12:00:00.");
    assert_eq!(
        ok(&PgType::TimeTz, "04:05:06.5+02"),
        PgValue::TimeTz {
            micros: 14_706_500_000,
            offset_seconds: 7200
        }
    );
    assert_eq!(
        ok(&PgType::TimeTz, "04:05:06+05:30"),
        PgValue::TimeTz {
            micros: 14_706_000_000,
            offset_seconds: 19_800
        }
    );
    assert_eq!(
        ok(&PgType::TimeTz, "04:05:06-03:30:15"),
        PgValue::TimeTz {
            micros: 14_706_000_000,
            offset_seconds: -12_615
        }
    );
    assert_eq!(
        ok(&PgType::TimeTz, "24:00:00+00"),
        PgValue::TimeTz {
            micros: DAY_US,
            offset_seconds: 0
        }
    );
    bad(&PgType::TimeTz, b"04:05:06");
    bad(&PgType::TimeTz, b"04:05:06+");
}

#[test]
fn timestamps() {
    let ts = |s| match ok(&PgType::Timestamp, s) {
        PgValue::Timestamp(PgTimestamp::Micros(us)) => us,
        other => panic!("{other:?}"),
    };
    let tstz = |s| match ok(&PgType::TimestampTz, s) {
        PgValue::TimestampTz(PgTimestamp::Micros(us)) => us,
        other => panic!("{other:?}"),
    };
    assert_eq!(ts("1970-01-01 00:00:00"), 0);
    assert_eq!(ts("2021-03-04 05:06:07.123456"), 1_614_834_367_123_456);
    assert_eq!(ts("2021-03-04 05:06:07.1"), 1_614_834_367_100_000);
    assert_eq!(ts("1969-12-31 23:59:59.999999"), -1);
    assert_eq!(ts("0001-01-01 00:00:00 BC"), (-719_163 - 365) * DAY_US);
    assert_eq!(tstz("2021-03-04 05:06:07.123456+00"), 1_614_834_367_123_456);
    assert_eq!(tstz("2021-03-04 07:06:07.123456+02"), 1_614_834_367_123_456);
    assert_eq!(
        tstz("2021-03-04 10:36:07.123456+05:30"),
        1_614_834_367_123_456
    );
    assert_eq!(
        tstz("2021-03-04 01:35:52.123456-03:30:15"),
        1_614_834_367_123_456
    );
    assert_eq!(tstz("0001-01-01 00:00:00+00 BC"), (-719_163 - 365) * DAY_US);
    assert_eq!(tstz("2021-03-04T05:06:07Z"), 1_614_834_367_000_000);
    assert_eq!(
        ok(&PgType::Timestamp, "infinity"),
        PgValue::Timestamp(PgTimestamp::PosInfinity)
    );
    assert_eq!(
        ok(&PgType::TimestampTz, "-infinity"),
        PgValue::TimestampTz(PgTimestamp::NegInfinity)
    );
    bad(&PgType::Timestamp, b"2021-03-04 05:06:07+00");
    bad(&PgType::TimestampTz, b"2021-03-04 05");
    bad(&PgType::TimestampTz, b"2021-03-04 05:06:07+00 XX");
    bad(&PgType::Timestamp, b"999999999-01-01 00:00:00");
}

#[test]
fn intervals() {
    let iv = |s| match ok(&PgType::Interval, s) {
        PgValue::Interval {
            months,
            days,
            micros,
        } => (months, days, micros),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        iv("1 year 2 mons 3 days 04:05:06.5"),
        (14, 3, ((4 * 60 + 5) * 60 + 6) * 1_000_000 + 500_000)
    );
    assert_eq!(iv("-1 days +02:03:00"), (0, -1, (2 * 60 + 3) * 60_000_000));
    assert_eq!(iv("00:00:00"), (0, 0, 0));
    assert_eq!(iv("-00:00:01"), (0, 0, -1_000_000));
    assert_eq!(iv("1 mon"), (1, 0, 0));
    assert_eq!(iv("-2 years -3 mons"), (-27, 0, 0));
    assert_eq!(iv("1000:00:00"), (0, 0, 3_600_000_000_000));
    assert_eq!(iv("3 days"), (0, 3, 0));
    assert_eq!(
        iv("@ 1 year 2 mons 4 hours 5 mins 6.5 secs ago"),
        (-14, 0, -((4 * 60 + 5) * 60_000_000 + 6_500_000))
    );
    assert_eq!(iv("infinity"), (i32::MAX, i32::MAX, i64::MAX));
    assert_eq!(iv("-infinity"), (i32::MIN, i32::MIN, i64::MIN));
    bad(&PgType::Interval, b"");
    bad(&PgType::Interval, b"1 fortnight");
    bad(&PgType::Interval, b"1.5 days");
    bad(&PgType::Interval, b"1 year garbage");
    bad(&PgType::Interval, b"999999999 years");
}

#[test]
fn point_and_hstore() {
    assert_eq!(
        ok(&PgType::Point, "(1.5,-2)"),
        PgValue::Point { x: 1.5, y: -2.0 }
    );
    bad(&PgType::Point, b"1,2");
    bad(&PgType::Point, b"(1;2)");
    assert_eq!(
        ok(
            &PgType::Hstore,
            r#""a"=>"1", "b"=>NULL, "c\"q"=>"x\\y", "n"=>"NULL""#
        ),
        PgValue::Hstore(vec![
            ("a".into(), Some("1".into())),
            ("b".into(), None),
            ("c\"q".into(), Some("x\\y".into())),
            ("n".into(), Some("NULL".into())),
        ])
    );
    assert_eq!(ok(&PgType::Hstore, ""), PgValue::Hstore(vec![]));
    assert_eq!(
        ok(&PgType::Hstore, "a=>1"),
        PgValue::Hstore(vec![("a".into(), Some("1".into()))])
    );
    bad(&PgType::Hstore, br#""a"=>"1","#);
    bad(&PgType::Hstore, br#""a"="1""#);
    bad(&PgType::Hstore, br#""a"=>"1"#);
}

fn arr(element: PgType) -> PgType {
    PgType::Array(Box::new(element))
}

#[test]
fn arrays() {
    let t = |s: &str| Some(PgValue::Text(s.into()));
    assert_eq!(
        ok(&arr(PgType::Int4), "{1,2,NULL,-4}"),
        PgValue::Array(vec![
            Some(PgValue::Int4(1)),
            Some(PgValue::Int4(2)),
            None,
            Some(PgValue::Int4(-4))
        ])
    );
    assert_eq!(ok(&arr(PgType::Int4), "{}"), PgValue::Array(vec![]));
    assert_eq!(
        ok(
            &arr(PgType::Text),
            r#"{plain,"with space","q\"uote","back\\slash","NULL",null, spaced ,"",a\,b}"#
        ),
        PgValue::Array(vec![
            t("plain"),
            t("with space"),
            t("q\"uote"),
            t("back\\slash"),
            t("NULL"),
            None,
            t("spaced"),
            t(""),
            t("a,b"),
        ])
    );
    assert_eq!(
        ok(&arr(PgType::Int2), "{{1,2},{3,4}}"),
        PgValue::Array((1..=4).map(|i| Some(PgValue::Int2(i))).collect())
    );
    assert_eq!(
        ok(&arr(PgType::Int4), "[0:1]={7,8}"),
        PgValue::Array(vec![Some(PgValue::Int4(7)), Some(PgValue::Int4(8))])
    );
    assert_eq!(
        ok(&arr(PgType::Numeric), "{1.5,NaN}"),
        PgValue::Array(vec![
            Some(PgValue::Numeric(PgNumeric::Finite(dec("1.5")))),
            Some(PgValue::Numeric(PgNumeric::NaN)),
        ])
    );
    assert_eq!(
        ok(&arr(PgType::TimestampTz), r#"{"2021-03-04 05:06:07+00"}"#),
        PgValue::Array(vec![Some(PgValue::TimestampTz(PgTimestamp::Micros(
            1_614_834_367_000_000
        )))])
    );
    assert_eq!(
        ok(&arr(PgType::Bytea), r#"{"\\xdead"}"#),
        PgValue::Array(vec![Some(PgValue::Bytea(vec![0xde, 0xad]))])
    );
    for s in [
        "",
        "{",
        "{1,",
        "{1,}",
        "{,1}",
        "1,2",
        "{1}}",
        "{1} x",
        "{\"a}",
        "{a\\",
        "{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}",
    ] {
        bad(&arr(PgType::Text), s.as_bytes());
    }
    // element error offsets point into the literal
    assert_eq!(bad(&arr(PgType::Int4), b"{1,x}").offset(), 3);
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn random_text_never_panics() {
    let types = [
        PgType::Bool,
        PgType::Int2,
        PgType::Int8,
        PgType::Float8,
        PgType::Numeric,
        PgType::Text,
        PgType::Bytea,
        PgType::Date,
        PgType::Time,
        PgType::TimeTz,
        PgType::Timestamp,
        PgType::TimestampTz,
        PgType::Interval,
        PgType::Money,
        PgType::Point,
        PgType::Hstore,
        arr(PgType::Int4),
        arr(PgType::Text),
        arr(PgType::Interval),
    ];
    let seeds: [&[u8]; 14] = [
        b"2021-03-04 05:06:07.123456+05:30 BC",
        b"-1 days +02:03:00.5",
        b"@ 1 year 2 mons ago",
        b"12345678.91e-3",
        b"\\xdeadbeef",
        b"a\\\\b\\000",
        br#""a"=>"1", "b"=>NULL"#,
        br#"{{1,2},{"x\"y",NULL}}"#,
        b"[1:2]={1,2}",
        b"($1,234.56)",
        b"(1.5,2e3)",
        b"24:00:00-03:30:15",
        b"Infinity",
        b"0001-02-29 BC",
    ];
    let alphabet = b"0123456789-+:. ,{}\"\\=>()[]$eEtfBCxNUL@agoyears\xff";
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    for i in 0..30_000 {
        let mut buf = seeds[rng.below(seeds.len())].to_vec();
        if i % 2 == 0 {
            for _ in 0..=rng.below(3) {
                let at = rng.below(buf.len());
                if let Some(b) = buf.get_mut(at) {
                    *b = alphabet[rng.below(alphabet.len())];
                }
            }
            if rng.below(4) == 0 {
                buf.truncate(rng.below(buf.len() + 1));
            }
        } else {
            buf = (0..rng.below(24))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
        }
        let ty = &types[rng.below(types.len())];
        if let Err(e) = decode_text(ty, &buf) {
            assert!(e.offset() <= buf.len() + 1, "{e} for {buf:?}");
        }
    }
}
