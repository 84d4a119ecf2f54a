//! Bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO) and the string
//! commands LCS and SUBSTR, compared byte for byte with a real redis-server 7.0 (scripts hold
//! no expected values: the reference server is the expectation). Also: their keyspace events
//! and WATCH behaviour, 512 MB offsets and the memory they take, and their persistence.
//!
//! To check the scripts themselves, run them with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test bitmaps`.

mod common;

use common::{differential, encode_command, escape, split_args, Differential, RawConn, Server};
use std::time::Duration;

#[test]
fn setbit_and_getbit() {
    differential(
        r#"
        SETBIT b 7 1
        GET b
        SETBIT b 7 1
        SETBIT b 7 0
        SETBIT b 0 1
        GETBIT b 0
        GETBIT b 1
        GETBIT b 7
        GETBIT b 8
        GETBIT b 1000000
        GETBIT nokey 0
        GETBIT nokey 4294967295
        SETBIT b 100 0
        STRLEN b
        GET b
        OBJECT ENCODING b
        SET n 123
        OBJECT ENCODING n
        GETBIT n 2
        SETBIT n 0 1
        OBJECT ENCODING n
        GET n
        SET e ""
        SETBIT e 3 0
        GET e
        SET short abc
        SETBIT short 0 0
        OBJECT ENCODING short
        SET emb "\x00\xff"
        SETBIT emb 9 0
        GET emb
        SETBIT c 0 1 extra
        SETBIT c 0
        GETBIT c
        GETBIT c 0 0
        SETBIT c -1 1
        SETBIT c 4294967296 1
        SETBIT c 18446744073709551616 1
        SETBIT c 1.0 1
        SETBIT c 01 1
        SETBIT c +1 1
        SETBIT c " 1" 1
        SETBIT c #1 1
        SETBIT c x 1
        SETBIT c "" 1
        SETBIT c 0 2
        SETBIT c 0 -1
        SETBIT c 0 01
        SETBIT c 0 " 1"
        SETBIT c 0 1.0
        SETBIT c 0 ""
        SETBIT c x 2
        GETBIT c -1
        GETBIT c 4294967296
        GETBIT c x
        EXISTS c
        LPUSH l a
        SETBIT l 0 1
        SETBIT l x 1
        SETBIT l 0 5
        GETBIT l 0
        GETBIT l x
        HSET h f v
        GETBIT h 0
        SETBIT h 0 0
        SET t v EX 100
        SETBIT t 3 1
        TTL t
        setbit lower 1 1
        SeTbIt lower 2 1
        GET lower
        "#,
    );
}

#[test]
fn bitcount_ranges_in_bytes_and_bits() {
    differential(
        r#"
        SET s foobar
        BITCOUNT s
        BITCOUNT s 0 0
        BITCOUNT s 1 1
        BITCOUNT s 0 -1
        BITCOUNT s -2 -1
        BITCOUNT s -1 -2
        BITCOUNT s -100 100
        BITCOUNT s 100 -100
        BITCOUNT s 3 2
        BITCOUNT s 6 10
        BITCOUNT s 5 5
        BITCOUNT s 0 -1 BYTE
        BITCOUNT s 0 -1 BIT
        BITCOUNT s 1 1 bit
        BITCOUNT s 5 30 BIT
        BITCOUNT s 7 8 bit
        BITCOUNT s 0 7 BiT
        BITCOUNT s -5 -1 BIT
        BITCOUNT s -48 -41 BIT
        BITCOUNT s -1000 -41 BIT
        BITCOUNT s 40 1000 BIT
        BITCOUNT s 47 47 BIT
        BITCOUNT s 48 48 BIT
        BITCOUNT s 9 3 BIT
        BITCOUNT s -1 -2 BIT
        BITCOUNT s 9223372036854775807 -9223372036854775808
        BITCOUNT s -9223372036854775808 9223372036854775807
        BITCOUNT s -9223372036854775808 9223372036854775807 BIT
        BITCOUNT s 9223372036854775807 9223372036854775807 BIT
        BITCOUNT s 0
        BITCOUNT s 0 1 2
        BITCOUNT s 0 1 BIT extra
        BITCOUNT s 0 1 bits
        BITCOUNT s a b
        BITCOUNT s 0 b
        BITCOUNT s a 1 BIT
        BITCOUNT s 0 1.5
        BITCOUNT s -1 -2 nonsense
        BITCOUNT s -2 -1 nonsense
        BITCOUNT s 9223372036854775808 1
        BITCOUNT nokey
        BITCOUNT nokey 0 -1
        BITCOUNT nokey a b
        BITCOUNT nokey 0
        BITCOUNT nokey 0 1 xx
        BITCOUNT nokey 0 1 2 3
        SET e ""
        BITCOUNT e
        BITCOUNT e 0 -1
        BITCOUNT e 0 -1 BIT
        BITCOUNT e 0
        SET one x
        BITCOUNT one -1 -25
        BITCOUNT one -13 -69 BIT
        BITCOUNT one -2 -3 nonsense
        BITCOUNT one -3 -2
        BITCOUNT one -30 -20 BIT
        BITPOS one 1 -2 -3
        BITPOS one 0 -3 -5
        BITPOS one 1 -20 -30 BIT
        BITPOS one 0 -20 -30 BIT
        SET n 1234567
        BITCOUNT n
        BITCOUNT n 1 2
        BITCOUNT n 3 20 BIT
        SET bin "\xff\x00\xaa\x55\x0f\xf0\x01\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
        BITCOUNT bin
        BITCOUNT bin 1 16
        BITCOUNT bin 13 140 BIT
        BITCOUNT bin 0 142 BIT
        LPUSH l a
        BITCOUNT l
        BITCOUNT l 0 1
        BITCOUNT l a b
        BITCOUNT l 0
        BITCOUNT
        "#,
    );
}

#[test]
fn bitpos_with_and_without_ranges() {
    differential(
        r#"
        SET s foobar
        BITPOS s 1
        BITPOS s 0
        BITPOS s 1 1
        BITPOS s 0 1
        BITPOS s 1 2 -1
        BITPOS s 0 -1
        BITPOS s 1 -1 -2
        BITPOS s 0 -1 -2
        BITPOS s 1 100
        BITPOS s 0 100
        BITPOS s 1 -100 100
        BITPOS s 1 0 0 BYTE
        BITPOS s 0 2 -1 BIT
        BITPOS s 1 7 15 bit
        BITPOS s 1 3 4 BIT
        BITPOS s 0 0 0 BIT
        BITPOS s 1 0 0 BIT
        BITPOS s 0 47 47 BIT
        BITPOS s 1 -9223372036854775808 9223372036854775807 BIT
        BITPOS s 0 9223372036854775807 -9223372036854775808 BIT
        BITPOS s 1 a
        BITPOS s 1 0 a
        BITPOS s 1 a 1 xx
        BITPOS s 1 0 a xx
        BITPOS s 1 0 1 xx
        BITPOS s 1 0 1 BIT extra
        BITPOS s 1 0 BIT
        BITPOS s 2
        BITPOS s -1
        BITPOS s x
        BITPOS s 01
        BITPOS s ""
        SET z "\x00\x00\x00"
        BITPOS z 1
        BITPOS z 0
        BITPOS z 1 0 -1 BIT
        BITPOS z 0 5 10 BIT
        SET f "\xff\xff\xff"
        BITPOS f 0
        BITPOS f 0 0
        BITPOS f 0 1
        BITPOS f 0 2
        BITPOS f 0 3
        BITPOS f 0 0 -1
        BITPOS f 0 0 -1 BYTE
        BITPOS f 0 0 -1 BIT
        BITPOS f 0 3 10 BIT
        BITPOS f 1 3 10 BIT
        BITPOS f 1 23 23 BIT
        SET g "\xff\xf0"
        BITPOS g 0 0 -1 BIT
        BITPOS g 0 0 11 BIT
        BITPOS g 0 0 12 BIT
        BITPOS g 1 12 15 BIT
        BITPOS g 1 11 15 BIT
        BITPOS g 0 1
        BITPOS g 0 2
        BITPOS g 1 2
        SET long "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04"
        BITPOS long 1
        BITPOS long 1 3
        BITPOS long 1 3 -2
        BITPOS long 1 5 325 BIT
        BITPOS long 1 5 324 BIT
        BITPOS long 0 40 40
        SET ones "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe"
        BITPOS ones 0
        BITPOS ones 0 1
        BITPOS ones 0 1 -1
        BITPOS ones 0 1 -2
        BITPOS ones 0 9 270 BIT
        BITPOS ones 0 9 271 BIT
        SET e ""
        BITPOS e 0
        BITPOS e 1
        BITPOS e 0 0
        BITPOS e 0 0 -1
        BITPOS e 1 0 -1 BIT
        SET n 12
        BITPOS n 1
        BITPOS n 0 1
        BITPOS nokey 1
        BITPOS nokey 0
        BITPOS nokey 1 a
        BITPOS nokey 0 0 1 xx
        BITPOS nokey 0 0 1 2 3
        BITPOS nokey 2
        BITPOS nokey x
        LPUSH l a
        BITPOS l 1
        BITPOS l 2
        BITPOS l 1 a
        BITPOS l 1 0 1 xx
        BITPOS s
        BITPOS
        "#,
    );
}

#[test]
fn bitop_operations_and_destination() {
    differential(
        r#"
        SET a "\xff\x0f\xaa\x01"
        SET b "\x0f\xf0"
        SET c "\x55"
        BITOP AND d a b
        GET d
        BITOP OR d a b c
        GET d
        BITOP XOR d a b c
        GET d
        BITOP NOT d a
        GET d
        OBJECT ENCODING d
        BITOP and d b a
        GET d
        BITOP Or d c
        GET d
        BITOP xor d a a
        GET d
        BITOP AND d a nokey
        GET d
        BITOP OR d nokey a
        GET d
        BITOP AND d nokey nokey2
        EXISTS d
        BITOP AND d nokey
        EXISTS d
        BITOP NOT d nokey
        SET d x
        BITOP NOT d nokey
        EXISTS d
        BITOP NOT d a b
        BITOP NOT d
        BITOP AND d
        BITOP NAND d a
        BITOP "" d a
        BITOP d a
        BITOP AND a a b
        GET a
        SET e ""
        BITOP OR d e e
        EXISTS d
        BITOP OR e e
        EXISTS e
        SET n 255
        BITOP NOT d n
        GET d
        LPUSH l x
        BITOP AND d a l
        BITOP OR d l a
        BITOP NOT d l
        BITOP NOT l a
        TYPE l
        GET l
        SET t v EX 100
        BITOP OR t a
        TTL t
        SET same "\x01\x02"
        BITOP XOR same same same
        GET same
        SET ten 1234567890
        BITOP AND d ten ten
        OBJECT ENCODING d
        GET d
        BITOP NOT d ten
        GET d
        "#,
    );
}

#[test]
fn bitop_over_long_strings() {
    let mut d = Differential::new();
    let long_a: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
    let long_b: Vec<u8> = (0..777u32).map(|i| (i * 91 % 253) as u8).collect();
    d.check(common::Compare::Exact, &[&b"SET"[..], b"a", &long_a]);
    d.check(common::Compare::Exact, &[&b"SET"[..], b"b", &long_b]);
    for op in ["AND", "OR", "XOR"] {
        d.check(common::Compare::Exact, &["BITOP", op, "d", "a", "b", "a"]);
        d.check(common::Compare::Exact, &["GET", "d"]);
        d.check(common::Compare::Exact, &["BITCOUNT", "d"]);
    }
    d.check(common::Compare::Exact, &["BITOP", "NOT", "d", "a"]);
    d.check(common::Compare::Exact, &["GET", "d"]);
    let probes: &[&[&str]] = &[
        &["BITPOS", "d", "1", "100", "-1"],
        &["BITPOS", "a", "0", "3", "-10"],
        &["BITCOUNT", "a", "13", "7000"],
        &["BITCOUNT", "b", "-5000", "-13"],
        &["BITCOUNT", "a", "13", "7000", "BIT"],
        &["BITPOS", "b", "1", "777", "6000", "BIT"],
        &["BITPOS", "b", "0", "-6000", "-3", "BIT"],
    ];
    for args in probes {
        d.check(common::Compare::Exact, args);
    }
}

#[test]
fn bitfield_get_set_incrby() {
    differential(
        r#"
        BITFIELD k
        EXISTS k
        BITFIELD k GET u8 0
        EXISTS k
        BITFIELD k SET u8 0 255 GET u8 0 GET i8 0 GET u4 4 GET i4 4
        BITFIELD k SET i8 #1 -100 GET i8 8 GET u8 #1
        BITFIELD k INCRBY u8 0 10 INCRBY i8 8 -100
        GET k
        OBJECT ENCODING k
        BITFIELD k SET u5 7 23 GET u5 7 GET u16 0
        BITFIELD k GET i64 0 GET u63 0 GET i64 1 GET u63 1
        BITFIELD k SET i64 0 -1 GET u63 0 GET u63 1 GET i64 0
        BITFIELD k SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -1
        BITFIELD k SET u63 0 9223372036854775807 INCRBY u63 0 1
        BITFIELD k SET i1 0 1 SET i1 1 -1 GET i1 0 GET u1 0 INCRBY i1 0 1 INCRBY u1 0 1
        BITFIELD k GET u8 100 GET i16 99 GET u8 #1000
        STRLEN k
        BITFIELD k SET u8 #20 1
        STRLEN k
        BITFIELD k INCRBY u2 1000 1 GET u2 1000
        STRLEN k
        BITFIELD k GET u8 4294967288 GET i64 4294967231 GET u8 #536870911
        BITFIELD k GET i64 #67108863
        BITFIELD k get u8 0 Set u8 0 1 IncrBy u8 0 1 GET u8 0
        SET n 1234
        BITFIELD n GET u8 0 SET u8 8 0
        GET n
        OBJECT ENCODING n
        SET e ""
        BITFIELD e GET u8 0
        BITFIELD e INCRBY u8 0 1
        GET e
        "#,
    );
}

#[test]
fn bitfield_overflow_modes() {
    differential(
        r#"
        BITFIELD o SET u8 0 250 INCRBY u8 0 10 OVERFLOW SAT INCRBY u8 0 10 OVERFLOW FAIL INCRBY u8 0 10 GET u8 0
        BITFIELD o SET u8 0 5 INCRBY u8 0 -10 OVERFLOW SAT INCRBY u8 0 -10 OVERFLOW FAIL INCRBY u8 0 -10 OVERFLOW WRAP INCRBY u8 0 -10
        BITFIELD o SET i8 0 127 INCRBY i8 0 1 OVERFLOW SAT INCRBY i8 0 1000 INCRBY i8 0 -1000 OVERFLOW FAIL INCRBY i8 0 -1
        BITFIELD o OVERFLOW WRAP SET i8 0 -128 INCRBY i8 0 -1 INCRBY i8 0 -300 INCRBY i8 0 300
        BITFIELD o SET u8 0 256 SET u8 0 -1 SET u8 0 1000 GET u8 0
        BITFIELD o OVERFLOW SAT SET u8 0 256 SET u8 0 -1 GET u8 0 SET u8 0 -100 GET u8 0
        BITFIELD o OVERFLOW FAIL SET u8 0 256 SET u8 0 -1 SET u8 0 255 GET u8 0
        BITFIELD o SET i8 0 128 SET i8 0 -129 SET i8 0 300 SET i8 0 -300 GET i8 0
        BITFIELD o OVERFLOW SAT SET i8 0 128 SET i8 0 -129 GET i8 0 SET i8 0 -9223372036854775808 GET i8 0
        BITFIELD o OVERFLOW WRAP SET i8 0 -9223372036854775808 GET i8 0 SET i8 0 9223372036854775807 GET i8 0
        BITFIELD o OVERFLOW FAIL SET i8 0 -9223372036854775808 SET i8 0 9223372036854775807 SET i8 0 -128
        BITFIELD o OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 9223372036854775807 SET i64 0 -9223372036854775808 INCRBY i64 0 -1 INCRBY i64 0 -9223372036854775808
        BITFIELD o OVERFLOW WRAP SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -1 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 9223372036854775807
        BITFIELD o OVERFLOW FAIL SET i64 0 9223372036854775807 INCRBY i64 0 1 SET i64 0 -9223372036854775808 INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807
        BITFIELD o OVERFLOW SAT SET u63 0 9223372036854775807 INCRBY u63 0 1 INCRBY u63 0 -9223372036854775808 INCRBY u63 0 9223372036854775807
        BITFIELD o OVERFLOW WRAP SET u63 0 -1 GET u63 0 INCRBY u63 0 9223372036854775807 INCRBY u63 0 -9223372036854775808
        BITFIELD o OVERFLOW FAIL SET u63 0 -1 INCRBY u63 0 -1 SET u63 0 0 INCRBY u63 0 -1 INCRBY u63 0 9223372036854775807 INCRBY u63 0 1
        BITFIELD o OVERFLOW SAT SET u1 0 5 INCRBY u1 0 -5 SET i1 0 5 GET i1 0 INCRBY i1 0 -5 GET i1 0
        BITFIELD o OVERFLOW WRAP SET i1 0 1 GET i1 0 INCRBY i1 0 1 INCRBY i1 0 -3 INCRBY u1 0 3
        BITFIELD o SET i32 3 -2147483648 OVERFLOW SAT INCRBY i32 3 -1 OVERFLOW WRAP INCRBY i32 3 -1 INCRBY i32 3 2147483648
        BITFIELD o OVERFLOW FAIL INCRBY u2 100 8
        STRLEN o
        BITFIELD x OVERFLOW FAIL SET u2 0 10
        EXISTS x
        GET x
        OBJECT ENCODING x
        BITFIELD y OVERFLOW FAIL INCRBY i4 12 100 GET i4 12
        GET y
        BITFIELD y OVERFLOW SAT OVERFLOW WRAP OVERFLOW FAIL
        BITFIELD y overflow sat incrby u4 0 100 overflow fail incrby u4 0 1 overflow wrap incrby u4 0 1
        "#,
    );
}

/// Every width of every type, written and read back at an unaligned offset.
#[test]
fn bitfield_every_type() {
    let mut script = String::new();
    for bits in 1..=64 {
        for (sign, limit) in [("i", 64), ("u", 63)] {
            if bits > limit {
                continue;
            }
            let ty = format!("{sign}{bits}");
            script.push_str(&format!(
                "BITFIELD t{ty} SET {ty} 3 -7 GET {ty} 3 INCRBY {ty} 3 9223372036854775807 GET u8 0 GET {ty} #2\n\
                 BITFIELD t{ty} OVERFLOW SAT INCRBY {ty} 3 -9223372036854775808 INCRBY {ty} 3 9223372036854775807 OVERFLOW FAIL INCRBY {ty} 3 1 SET {ty} #1 12345678901\n\
                 GET t{ty}\n"
            ));
        }
    }
    script.push_str("BITFIELD k GET u64 0\nBITFIELD k GET i65 0\nBITFIELD k GET u0 0\n");
    differential(&script);
}

#[test]
fn bitfield_errors_and_read_only_variant() {
    differential(
        r##"
        BITFIELD
        BITFIELD_RO
        BITFIELD k get
        BITFIELD k GET u8
        BITFIELD k SET u8 0
        BITFIELD k INCRBY u8 0
        BITFIELD k OVERFLOW
        BITFIELD k OVERFLOW foo
        BITFIELD k OVERFLOW foo GET u8 0
        BITFIELD k GET u8 0 OVERFLOW foo
        BITFIELD k GET u8 0 foo
        BITFIELD k foo
        BITFIELD k GET u64 0
        BITFIELD k GET i65 0
        BITFIELD k GET i0 0
        BITFIELD k GET x8 0
        BITFIELD k GET U8 0
        BITFIELD k GET I8 0
        BITFIELD k GET u08 0
        BITFIELD k GET u+8 0
        BITFIELD k GET u-8 0
        BITFIELD k GET "" 0
        BITFIELD k GET i 0
        BITFIELD k GET "u8\x00zz" 0
        BITFIELD k GET u8 -1
        BITFIELD k GET u8 #-1
        BITFIELD k GET u8 ##1
        BITFIELD k GET u8 #
        BITFIELD k GET u8 "#"
        BITFIELD k GET u8 x
        BITFIELD k GET u8 1.5
        BITFIELD k GET u8 4294967296
        BITFIELD k GET u8 #536870912
        BITFIELD k GET i64 #67108864
        BITFIELD k GET i64 #9223372036854775807
        BITFIELD k GET i64 #288230376151711745
        BITFIELD k GET i3 #3074457345618258603
        BITFIELD k SET u8 0 x
        BITFIELD k SET u8 0 1.5
        BITFIELD k SET u8 0 9223372036854775808
        BITFIELD k INCRBY u8 0 ""
        BITFIELD k SET u8 x 1
        BITFIELD k SET x8 x y
        BITFIELD k GET u8 0 SET u8 0 x
        BITFIELD k SET u8 0 1 GET u64 0
        EXISTS k
        BITFIELD_RO k
        BITFIELD_RO k GET u8 0 GET i8 #1
        BITFIELD_RO k SET u8 0 1
        BITFIELD_RO k GET u8 0 INCRBY u8 0 1
        BITFIELD_RO k OVERFLOW SAT
        BITFIELD_RO k OVERFLOW SAT GET u8 0
        BITFIELD_RO k OVERFLOW foo
        BITFIELD_RO k SET u8 0 x
        BITFIELD_RO k GET u64 0
        EXISTS k
        SET s "\x80\x01"
        BITFIELD_RO s GET i8 0 GET u16 0 GET i4 #3 GET u63 0
        LPUSH l a
        BITFIELD l GET u8 0
        BITFIELD l SET u8 0 1
        BITFIELD l OVERFLOW SAT
        BITFIELD l
        BITFIELD l GET u64 0
        BITFIELD_RO l GET u8 0
        BITFIELD_RO l SET u8 0 1
        BITFIELD_RO l
        "##,
    );
}

#[test]
fn lcs_and_substr() {
    differential(
        r#"
        MSET key1 ohmytext key2 mynewtext
        LCS key1 key2
        LCS key1 key2 LEN
        LCS key1 key2 IDX
        LCS key1 key2 IDX MINMATCHLEN 4
        LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN
        LCS key1 key2 idx withmatchlen
        LCS key1 key2 WITHMATCHLEN
        LCS key1 key2 MINMATCHLEN 2
        LCS key1 key2 MINMATCHLEN -5 IDX
        LCS key1 key2 IDX MINMATCHLEN 1 MINMATCHLEN 3
        LCS key1 key2 LEN LEN
        LCS key1 key2 LEN WITHMATCHLEN
        LCS key2 key1 IDX WITHMATCHLEN
        LCS key1 key1 IDX
        LCS key1 key2 LEN IDX
        LCS key1 key2 IDX LEN
        LCS key1 key2 MINMATCHLEN
        LCS key1 key2 MINMATCHLEN x
        LCS key1 key2 MINMATCHLEN 9223372036854775808 IDX
        LCS key1 key2 foo
        LCS key1 key2 LEN foo
        LCS key1 nokey
        LCS nokey key1 LEN
        LCS nokey nokey2 IDX
        LCS nokey nokey2 IDX WITHMATCHLEN
        SET a1 aaaa
        SET a2 aa
        LCS a1 a2
        LCS a1 a2 IDX WITHMATCHLEN
        SET n1 12345
        SET n2 2345
        LCS n1 n2 IDX
        SET x1 "abcabcabcabc"
        SET x2 "cbacbacbacba"
        LCS x1 x2
        LCS x1 x2 IDX WITHMATCHLEN
        LCS x2 x1 IDX MINMATCHLEN 2 WITHMATCHLEN
        SET bin1 "\x00\x01\x02\xff\x00"
        SET bin2 "\xff\x00\x02\x01"
        LCS bin1 bin2
        LCS bin1 bin2 IDX
        SET e ""
        LCS e key1
        LCS e key1 IDX
        LPUSH l x
        LCS l key1
        LCS key1 l
        LCS l key1 foo
        LCS l nokey LEN IDX
        LCS key1
        LCS
        SET s "Hello World"
        SUBSTR s 0 4
        SUBSTR s -5 -1
        SUBSTR s 5 1
        SUBSTR s -1 -5
        SUBSTR s 0 -100
        SUBSTR s -100 2
        SUBSTR s 100 200
        SUBSTR s 0 a
        SUBSTR nokey 0 -1
        SUBSTR l 0 -1
        SUBSTR s 0
        SUBSTR s 0 1 2
        "#,
    );
}

#[test]
fn lcs_table_limit() {
    differential(
        r#"
        SETRANGE big1 12000 x
        SETRANGE big2 12000 y
        LCS big1 big2
        LCS big1 big2 LEN
        LCS big1 big2 IDX
        LCS big1 nokey LEN
        SETRANGE b3 100000 x
        LCS b3 nokey
        LCS b3 big1 LEN
        SETRANGE mid1 2000 abc
        SETRANGE mid2 1500 cab
        LCS mid1 mid2 LEN
        LCS mid1 mid2 IDX MINMATCHLEN 2 WITHMATCHLEN
        "#,
    );
}

#[test]
fn resp3_replies() {
    differential(
        r#"
        @any HELLO 3
        MSET key1 ohmytext key2 mynewtext
        LCS key1 key2 IDX WITHMATCHLEN
        LCS key1 key2 IDX
        LCS nokey nokey IDX
        BITFIELD k OVERFLOW FAIL SET u2 0 10 SET u2 0 1 GET u2 0
        BITFIELD_RO k GET u2 0
        BITCOUNT k
        BITPOS k 1
        GETBIT k 7
        SETBIT k 7 0
        BITOP NOT d k
        "#,
    );
}

#[test]
fn watch_sees_only_real_changes() {
    differential(
        r#"
        SET k a
        WATCH k
        @conn 1
        SETBIT k 1 1
        BITFIELD k SET u8 0 97 GET u8 0
        BITFIELD k OVERFLOW FAIL INCRBY u8 0 200
        BITFIELD_RO k GET u8 0
        @conn 0
        MULTI
        GET k
        EXEC
        WATCH k
        @conn 1
        SETBIT k 0 1
        @conn 0
        MULTI
        GET k
        EXEC
        WATCH k
        @conn 1
        BITFIELD k INCRBY u8 0 1
        @conn 0
        MULTI
        GET k
        EXEC
        WATCH k
        @conn 1
        SETBIT k 200 0
        @conn 0
        MULTI
        GET k
        EXEC
        WATCH d
        @conn 1
        BITOP AND d nokey
        @conn 0
        MULTI
        EXISTS d
        EXEC
        WATCH d
        @conn 1
        BITOP OR d k
        @conn 0
        MULTI
        GET d
        EXEC
        MULTI
        SETBIT m 3 1
        BITFIELD m INCRBY u8 0 1
        BITOP NOT m m
        GETBIT m 0
        BITFIELD m SET u8 0 x
        EXEC
        GET m
        "#,
    );
}

/// The largest offsets: a bit in the last byte of a 512 MB string, and one past it.
#[test]
fn offsets_up_to_512_megabytes() {
    differential(
        r#"
        SETBIT big 4294967295 1
        STRLEN big
        GETBIT big 4294967295
        GETBIT big 4294967294
        BITCOUNT big
        BITCOUNT big -1 -1
        BITCOUNT big -8 -1 BIT
        BITPOS big 1
        BITPOS big 1 -1
        BITPOS big 0 -1 -1 BIT
        SETBIT big 4294967296 1
        SETBIT big 4294967295 0
        BITCOUNT big
        BITFIELD big GET u8 #536870911 SET i8 4294967288 -1 GET u4 4294967292
        BITFIELD big SET u8 4294967295 1
        STRLEN big
        BITFIELD big GET i64 4294967295
        SETRANGE big 536870911 x
        SETRANGE big 536870912 x
        APPEND big y
        STRLEN big
        DEL big
        BITFIELD f SET i64 4294967295 -1
        STRLEN f
        BITFIELD f GET u63 4294967296
        DEL f
        SETRANGE r 536870912 x
        SETRANGE r 536870911 ""
        EXISTS r
        "#,
    );
}

/// INFO's used_memory figure, in bytes.
fn used_memory(conn: &mut RawConn) -> u64 {
    let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "memory"])).to_string();
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in {info}"))
}

/// A bit at the far end allocates the whole 512 MB string (counted by used_memory, as in
/// Redis), and deleting the key gives it back.
#[test]
fn setbit_at_the_last_offset_takes_512_megabytes_and_gives_them_back() {
    let server = Server::start();
    let mut conn = server.raw();
    conn.set_timeout(Duration::from_secs(30));
    let before = used_memory(&mut conn);
    assert_eq!(conn.cmd(&["SETBIT", "k", "4294967295", "1"]), b":0\r\n");
    let with_key = used_memory(&mut conn);
    assert!(
        with_key >= before + 512 * 1024 * 1024,
        "used_memory {before} -> {with_key}"
    );
    assert!(
        with_key < before + 520 * 1024 * 1024,
        "used_memory {before} -> {with_key}: more than the string"
    );
    assert_eq!(conn.cmd(&["STRLEN", "k"]), b":536870912\r\n");
    assert_eq!(conn.cmd(&["BITCOUNT", "k"]), b":1\r\n");
    assert_eq!(conn.cmd(&["DEL", "k"]), b":1\r\n");
    let after = used_memory(&mut conn);
    assert!(
        after < before + 1024 * 1024,
        "used_memory {before} -> {after} after DEL"
    );
}

// ---------------------------------------------------------------------------------------------
// Keyspace events
// ---------------------------------------------------------------------------------------------

/// Channel published after a script: events up to its message are the script's.
const END_CHANNEL: &str = "__keyspace@0__:end-of-script";

/// Runs `script` on a server with every keyspace event on (`new` and `keymiss` too) and returns the replies and the
/// events received, in order, as text.
fn events_of(server: &Server, script: &str) -> (Vec<String>, Vec<String>) {
    let mut conn = server.raw();
    let mut sub = server.raw();
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEAnm"]),
        b"+OK\r\n"
    );
    sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    let mut replies = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let args = split_args(line).expect("script line");
        replies.push(format!("{line} -> {}", escape(&conn.cmd(&args))));
    }
    conn.send(&encode_command(&["PUBLISH", END_CHANNEL, "x"]));
    conn.read_reply();
    let mut events = Vec::new();
    loop {
        let message = escape(&sub.read_reply());
        if message.contains(END_CHANNEL) {
            return (replies, events);
        }
        events.push(message);
    }
}

#[test]
fn keyspace_events_match_redis() {
    let script = r#"
        SETBIT a 3 1
        SETBIT a 3 1
        SETBIT a 3 0
        SETBIT a 100 0
        SETBIT a 100 0
        BITFIELD a SET u8 0 5
        BITFIELD a SET u8 0 5
        BITFIELD a GET u8 0
        BITFIELD a SET u8 0 5 SET u8 8 3 INCRBY u4 0 1
        BITFIELD a OVERFLOW FAIL INCRBY u2 0 8
        BITFIELD a OVERFLOW FAIL INCRBY u2 4000 8
        BITFIELD a SET u8 8000 0
        BITFIELD x OVERFLOW FAIL SET u2 0 10
        BITFIELD_RO a GET u8 0
        BITOP AND c a nope
        BITOP AND c nope
        BITOP AND c nope
        BITOP NOT c a
        LPUSH l v
        BITOP OR l a
        GETBIT a 3
        BITCOUNT a
        BITPOS a 1
        LCS a c
        SUBSTR a 0 1
    "#;
    let reference = common::RedisServer::start();
    let ours = Server::start();
    let expected = events_of(&reference, script);
    let actual = events_of(&ours, script);
    assert!(expected.1.len() >= 20, "too few events: {:?}", expected.1);
    assert_eq!(actual.0, expected.0, "replies differ");
    assert_eq!(actual.1, expected.1, "keyspace events differ");
}

// ---------------------------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------------------------

/// SETBIT and BITFIELD on a large persisted string are journaled as replayable edits (appended
/// to its operation log, no new snapshot); BITOP into it makes a new snapshot; everything
/// survives a restart. Needs `MONGODB_URI` (scripts/test.sh sets it); see `common::mongodb_uri`.
#[test]
fn bit_writes_persist_through_the_journal() {
    let Some(uri) = common::mongodb_uri() else {
        return;
    };
    let name = common::unique_name("bits");
    let mut server = Server::start_with(&["--mongodb-uri", &uri, "--mongodb-database", &name]);
    let mut conn = server.raw();
    let save = |conn: &mut RawConn| {
        conn.set_timeout(Duration::from_secs(120));
        assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
        conn.set_timeout(common::REPLY_TIMEOUT);
    };
    let info = |conn: &mut RawConn, field: &str| -> u64 {
        let text = String::from_utf8_lossy(&conn.cmd(&["INFO", "persistence"])).to_string();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {text}"))
    };
    // 4 MB: large enough to be persisted as a base plus an operation log.
    assert_eq!(conn.cmd(&["SETBIT", "big", "33554431", "1"]), b":0\r\n");
    assert_eq!(conn.cmd(&["SETBIT", "small", "3", "1"]), b":0\r\n");
    save(&mut conn);
    let snapshots = info(&mut conn, "mongodb_snapshots_written");
    for i in 0..10u64 {
        let offset = (i * 1_000_003).to_string();
        conn.cmd(&["SETBIT", "big", &offset, "1"]);
        conn.cmd(&[
            "BITFIELD",
            "big",
            "INCRBY",
            "i16",
            &format!("#{i}"),
            "-300",
            "SET",
            "u8",
            "#100",
            &i.to_string(),
        ]);
        conn.cmd(&[
            "BITFIELD", "big", "OVERFLOW", "FAIL", "INCRBY", "u2", "40000000", "7",
        ]);
        conn.cmd(&["SETBIT", "small", &(i * 3).to_string(), "1"]);
        save(&mut conn);
    }
    assert_eq!(
        info(&mut conn, "mongodb_snapshots_written"),
        snapshots,
        "a bit edit rewrote the large string instead of appending to its log"
    );
    // One append per hand-off of the key: one per SAVE above.
    assert!(info(&mut conn, "mongodb_log_appends") >= 10);
    conn.cmd(&["BITOP", "NOT", "copy", "small"]);
    conn.cmd(&["BITOP", "XOR", "big", "big", "small"]);
    conn.cmd(&["SETBIT", "big", "12345", "1"]);
    save(&mut conn);
    assert_eq!(
        info(&mut conn, "mongodb_snapshots_written"),
        snapshots + 1,
        "BITOP into the large string is not replayable: one new snapshot"
    );
    conn.cmd(&[
        "BITFIELD", "grown", "OVERFLOW", "FAIL", "SET", "u2", "16", "9",
    ]);
    save(&mut conn);
    let reads: &[&[&str]] = &[
        &["GET", "big"],
        &["GET", "small"],
        &["GET", "copy"],
        &["GET", "grown"],
        &["STRLEN", "big"],
        &["BITCOUNT", "big"],
        &["OBJECT", "ENCODING", "big"],
    ];
    let before: Vec<Vec<u8>> = reads.iter().map(|r| conn.cmd(r)).collect();
    drop(conn);
    server.restart();
    let mut conn = server.raw();
    conn.set_timeout(Duration::from_secs(30));
    let after: Vec<Vec<u8>> = reads.iter().map(|r| conn.cmd(r)).collect();
    assert!(before == after, "values changed across a restart");
    drop(conn);
    server.stop();
    if let Ok(client) = mongodb::sync::Client::with_uri_str(&uri) {
        let _ = client.database(&name).drop().run();
    }
}
