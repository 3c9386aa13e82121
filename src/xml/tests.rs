//! Tests of the XML parser and writer: error positions, hostile input, libiio's ordering
//! and escaping rules, and the round-trip property `parse(write(d)) == d`.

use super::{parse, write};
use crate::error::Error;
use crate::format::DataFormat;
use crate::model::{AttrData, ChannelData, ContextData, DeviceData, ScanData};

/// Parses and returns (line, column, message) of the expected error.
fn error_of(xml: &[u8]) -> (usize, usize, String) {
    match parse(xml, "test.xml") {
        Err(Error::Xml {
            source_name,
            line,
            column,
            message,
        }) => {
            assert_eq!(source_name, "test.xml");
            (line, column, message)
        }
        Err(e) => panic!("expected an XML error, got {e}"),
        Ok(d) => panic!("expected an XML error, got {d:?}"),
    }
}

fn assert_error(xml: &str, line: usize, column: usize, needle: &str) {
    let (l, c, m) = error_of(xml.as_bytes());
    assert_eq!((l, c), (line, column), "position of {m:?} in {xml:?}");
    assert!(m.contains(needle), "{m:?} should mention {needle:?}");
}

const SMALL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE context [<!ELEMENT context (device | context-attribute)*>]>
<context name="local" description="Linux box">
  <context-attribute name="uri" value="local:" />
  <!-- a comment -->
  <device id="iio:device0" name="adc" label="left">
    <channel id="voltage1" type="input">
      <scan-element index="1" format="le:s12/16&gt;&gt;4" scale="0.500000" />
      <attribute name="raw" filename="in_voltage1_raw" value="12" />
    </channel>
    <channel id="temp" type="input"><attribute name="raw" /></channel>
    <channel id="voltage0" type="output">
      <scan-element index="0" format="be:u16/16>>0" />
    </channel>
    <attribute name="sampling_frequency" />
    <debug-attribute name="direct_reg_access" />
    <buffer-attribute name="watermark" />
  </device>
  <device id="trigger0" />
</context>
"#;

#[test]
fn reads_what_libiio_keeps() {
    let d = parse(SMALL.as_bytes(), "small").unwrap();
    assert_eq!(d.name, "xml");
    assert_eq!(d.description, "Linux box");
    // No version in the file: none in the snapshot (libiio reports its own).
    assert_eq!(d.version, None);
    assert_eq!(super::version_of(&d), (0, 24, "v0.24"));
    assert_eq!(d.attrs, vec![("uri".to_string(), "local:".to_string())]);
    assert_eq!(d.devices.len(), 2);
    let dev = &d.devices[0];
    assert_eq!(dev.label.as_deref(), Some("left"));
    let ids: Vec<&str> = dev.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["voltage0", "voltage1", "temp"]);
    assert!(dev.channels[0].output);
    let scan = dev.channels[1].scan.as_ref().unwrap();
    assert_eq!(scan.index, Ok(1));
    assert_eq!(
        scan.format,
        Some(DataFormat::parse("le:s12/16>>4").unwrap())
    );
    assert_eq!(scan.scale, Some(0.5));
    assert_eq!(dev.channels[2].attrs[0].filename, "raw");
    assert_eq!(dev.channels[1].attrs[0].filename, "in_voltage1_raw");
    assert_eq!(dev.attrs[0].name, "sampling_frequency");
    assert_eq!(dev.debug_attrs[0].name, "direct_reg_access");
    assert_eq!(dev.buffer_attrs[0].name, "watermark");
    assert_eq!(dev.buffer_count, 1);
    assert_eq!(d.devices[1].id, "trigger0");
    assert_eq!(d.devices[1].buffer_count, 0);
}

#[test]
fn channel_order_is_libiio_0_24s() {
    // Scan elements by index, equal indexes by shift, the rest after them in document order.
    let xml = r#"<context><device id="d">
        <channel id="n1" type="input"/>
        <channel id="b" type="input"><scan-element index="0" format="le:u1/16>>3"/></channel>
        <channel id="n0" type="input"/>
        <channel id="c" type="input"><scan-element index="2" format="le:u1/16>>0"/></channel>
        <channel id="a" type="input"><scan-element index="0" format="le:u1/16>>1"/></channel>
        <channel id="z" type="input"><scan-element index="0" format="le:u1/16>>1"/></channel>
        </device></context>"#;
    let d = parse(xml.as_bytes(), "t").unwrap();
    let ids: Vec<&str> = d.devices[0]
        .channels
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["a", "z", "b", "c", "n1", "n0"]);
}

#[test]
fn document_order_elsewhere_and_context_attribute_replacement() {
    let xml = r#"<context>
        <context-attribute name="b" value="1"/><context-attribute name="a" value="2"/>
        <context-attribute name="b" value="3"/>
        <device id="z"><attribute name="y"/><attribute name="x"/><attribute name="y"/></device>
        <device id="a"/></context>"#;
    let d = parse(xml.as_bytes(), "t").unwrap();
    assert_eq!(
        d.attrs,
        vec![("b".into(), "3".into()), ("a".into(), "2".into())]
    );
    let names: Vec<&str> = d.devices[0].attrs.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["y", "x", "y"]);
    assert_eq!(d.devices[1].id, "a");
}

#[test]
fn libiio1_markup_is_read_and_the_unknown_skipped_with_its_subtree() {
    let xml = r#"<context name="local" version-major="1" version-minor="0" version-git="0123456789">
        <device id="d"><event-attribute name="e"/>
          <buffer index="0"><attribute name="inside_buffer"/><channel id="accel_x" type="input"/></buffer>
          <buffer index="1"><attribute name="of_buffer_1"/></buffer>
          <channel id="accel_x" type="input" label="X axis">
            <event-attribute name="thresh" filename="in_accel_x_thresh"/>
            <attribute name="raw" value="5"/><whatever><attribute name="deep"/></whatever>
          </channel>
          <buffer-attribute name="inside_buffer"/><buffer-attribute name="legacy_only"/>
        </device><foo><device id="ignored"/></foo></context>"#;
    let d = parse(xml.as_bytes(), "t").unwrap();
    // The tag whole; libiio 0.24 reports 7 bytes of it.
    assert_eq!(d.version, Some((1, 0, "0123456789".into())));
    assert_eq!(super::version_of(&d), (1, 0, "0123456"));
    assert_eq!(d.devices.len(), 1);
    let dev = &d.devices[0];
    assert!(dev.attrs.is_empty());
    assert_eq!(
        dev.event_attrs,
        [AttrData {
            name: "e".into(),
            filename: String::new(),
            problem: None
        }]
    );
    // Buffer 0's attributes; after a <buffer>, the legacy copies are not read again.
    let names = |v: &[AttrData]| v.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&dev.buffer_attrs), ["inside_buffer"]);
    assert_eq!(dev.buffer_count, 2);
    let chn = &dev.channels[0];
    assert_eq!(chn.label.as_deref(), Some("X axis"));
    assert_eq!(names(&chn.attrs), ["raw"]);
    assert_eq!(chn.event_attrs[0].filename, "in_accel_x_thresh");
    // And 1.x's writer gives it back: buffers, event attributes, the legacy copy.
    let v1 = super::write_v1(&d);
    let body = &v1[v1.find("]>").unwrap() + 2..];
    assert_eq!(
        body,
        "<context name=\"xml\" version-major=\"1\" version-minor=\"0\" version-git=\"01234567\" >\
         <device id=\"d\" ><channel id=\"accel_x\" label=\"X axis\" type=\"input\" >\
         <attribute name=\"raw\" filename=\"raw\" />\
         <event-attribute name=\"thresh\" filename=\"in_accel_x_thresh\" /></channel>\
         <buffer index=\"0\" ><attribute name=\"inside_buffer\" /></buffer>\
         <buffer index=\"1\" ></buffer><event-attribute name=\"e\" /></device></context>"
    );
}

#[test]
fn references_and_white_space_in_attribute_values() {
    let xml = "<context description=\"a&amp;b&lt;&#x41;&#66;\tc\r\nd&#10;e\"/>";
    let d = parse(xml.as_bytes(), "t").unwrap();
    assert_eq!(d.description, "a&b<AB c d\ne");
}

#[test]
fn error_positions_are_exact() {
    assert_error(
        "<context>\n  <device id=\"d\">\n    <channel id=\"c\" type=\"input\">\n  </device>\n</context>",
        4,
        3,
        "does not match",
    );
    assert_error("junk<context/>", 1, 1, "before the root");
    assert_error("\n\n   x<context/>", 3, 4, "before the root");
    assert_error("<context/>\n  x", 2, 3, "after the root");
    assert_error("<context/><context/>", 1, 11, "second root");
    assert_error("<context>\n<device name=\"x\"/></context>", 2, 1, "no 'id'");
    assert_error(
        "<context><device id=\"d\"><channel id=\"c\" type=\"input\">\
         <scan-element index=\"0\" format=\"le:x12/16>>0\"/></channel></device></context>",
        1,
        86,
        "invalid data format",
    );
    assert_error(
        "<context><device id=\"d\"><channel id=\"c\" type=\"sideways\"/></device></context>",
        1,
        47,
        "'input' or 'output'",
    );
    assert_error(
        "<context><device id=\"d\"><channel type=\"input\"/></device></context>",
        1,
        25,
        "no 'id'",
    );
    assert_error(
        "<context><device id=\"d\"><channel id=\"c\" type=\"input\">\
         <scan-element format=\"le:s8/8>>0\"/></channel></device></context>",
        1,
        54,
        "no 'index'",
    );
    assert_error(
        "<context><device id=\"d\"><channel id=\"c\" type=\"input\">\
         <scan-element index=\"-1\" format=\"le:s8/8>>0\"/></channel></device></context>",
        1,
        75,
        "scan index",
    );
    assert_error(
        "<context><device id=\"d\"><channel id=\"c\" type=\"input\">\
         <scan-element index=\"1\" format=\"le:s8/8>>0\" scale=\"1.5x\"/></channel></device></context>",
        1,
        105,
        "scale",
    );
    assert_error("<context><device id=\"d\">", 1, 25, "line 1, column 10");
    assert_error("<context description=\"a<b\"/>", 1, 24, "'<'");
    assert_error(
        "<context description=\"&foo;\"/>",
        1,
        23,
        "undefined entity",
    );
    assert_error(
        "<context description=\"&#1;\"/>",
        1,
        23,
        "not an XML character",
    );
    assert_error("<context description=\"a & b\"/>", 1, 25, "reference");
    assert_error("<context a=\"1\" a=\"2\"/>", 1, 16, "twice");
    assert_error("<context a=\"1\"b=\"2\"/>", 1, 15, "white space");
    assert_error("<context a=1/>", 1, 12, "quoted");
    assert_error("<context a/>", 1, 11, "'='");
    assert_error("<1context/>", 1, 2, "element name");
    // Columns count characters, not bytes.
    assert_error("<context description=\"ééé\" bad/>", 1, 31, "'='");
    // CR LF and lone CR end lines.
    assert_error("<context>\r\n<device/>\r\n</context>", 2, 1, "no 'id'");
    assert_error("<context>\r<device/></context>", 2, 1, "no 'id'");
    assert_error("<context>\n<!-- a -- b -->\n</context>", 2, 8, "comment");
    assert_error("<context/>\n<?xml version=\"1.0\"?>", 2, 1, "declaration");
    assert_error("<context><!DOCTYPE context></context>", 1, 10, "DOCTYPE");
    assert_error("<context>&nope;</context>", 1, 10, "undefined entity");
    assert_error("<context>]]></context>", 1, 10, "']]>'");
    assert_error("<context>\u{1}</context>", 1, 10, "U+0001");
    assert_error("<device id=\"d\"/>", 1, 1, "<context>");
    assert_error("", 1, 1, "no root element");
    assert_error("  \n <!-- only a comment -->\n", 3, 1, "no root element");
    assert_error("<context version-major=\"x1\"/>", 1, 25, "version-major");
}

#[test]
fn well_formedness_errors_win_over_meaning_errors() {
    // libxml2 checks the whole document before libiio looks at it.
    assert_error(
        "<context><device/>\n<oops></context>",
        2,
        7,
        "does not match",
    );
}

#[test]
fn non_utf8_input() {
    let (l, c, m) = error_of(b"<context>\n<device id=\"a\xff\"/></context>");
    assert_eq!((l, c), (2, 14));
    assert!(m.contains("UTF-8") && m.contains("0xFF"), "{m}");
    // Declared ISO-8859-1 is decoded as such.
    let d = parse(
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><context description=\"caf\xe9\"/>",
        "t",
    )
    .unwrap();
    assert_eq!(d.description, "café");
    // Other declared encodings are refused, not misread.
    let (l, c, m) = error_of(b"<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?><context/>");
    assert_eq!((l, c), (1, 31));
    assert!(m.contains("EBCDIC-US"), "{m}");
    // UTF-16 with a byte-order mark, and UTF-8 with one.
    let utf16: Vec<u8> = std::iter::once(0xFEFFu16)
        .chain("<context description=\"ü\"/>".encode_utf16())
        .flat_map(|u| u.to_le_bytes())
        .collect();
    assert_eq!(parse(&utf16, "t").unwrap().description, "ü");
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(b"<context description=\"x\"/>");
    assert_eq!(parse(&bom, "t").unwrap().description, "x");
    let (l, c, _) = error_of(&[0xFF, 0xFE, 0x3C]);
    assert_eq!((l, c), (1, 1));
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let full = SMALL.as_bytes();
    let end_of_root = SMALL.rfind("</context>").unwrap() + "</context>".len();
    for cut in 0..full.len() {
        let result = parse(&full[..cut], "t");
        if cut < end_of_root {
            match result {
                Err(Error::Xml { line, column, .. }) => assert!(line >= 1 && column >= 1),
                other => panic!("prefix of {cut} bytes: {other:?}"),
            }
        } else {
            assert!(result.is_ok(), "prefix of {cut} bytes");
        }
    }
}

/// A small deterministic generator (xorshift64*), so the property tests need no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[test]
fn garbage_and_mutations_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pieces: &[&[u8]] = &[
        b"<",
        b">",
        b"/>",
        b"</",
        b"<?",
        b"?>",
        b"<!--",
        b"-->",
        b"<![CDATA[",
        b"]]>",
        b"<!DOCTYPE context [",
        b"]>",
        b"&",
        b"&amp;",
        b"&#x",
        b";",
        b"\"",
        b"'",
        b"=",
        b" ",
        b"\n",
        b"\r",
        b"context",
        b"device",
        b"channel",
        b"scan-element",
        b"attribute",
        b" id=\"x\"",
        b" type=\"input\"",
        b" index=\"0\"",
        b" format=\"le:s8/8>>0\"",
        b"\xff",
        b"\xc3",
        b"\xa9",
        b"\0",
        b"\xef\xbb\xbf",
    ];
    for round in 0..3000 {
        let mut doc: Vec<u8> = Vec::new();
        if round % 2 == 0 {
            doc.extend_from_slice(SMALL.as_bytes());
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(doc.len() as u64 + 1) as usize;
                let piece = pieces[rng.below(pieces.len() as u64) as usize];
                if rng.chance(50) {
                    doc.splice(at..at, piece.iter().copied());
                } else {
                    let end = (at + 1 + rng.below(8) as usize).min(doc.len());
                    doc.drain(at..end);
                }
            }
        } else {
            for _ in 0..rng.below(40) {
                let piece = pieces[rng.below(pieces.len() as u64) as usize];
                doc.extend_from_slice(piece);
            }
        }
        if let Err(e) = parse(&doc, "fuzz") {
            assert!(matches!(e, Error::Xml { line, column, .. } if line >= 1 && column >= 1));
        }
    }
}

#[test]
fn huge_values_and_deep_nesting() {
    let big = "a".repeat(8 << 20);
    let xml = format!("<context description=\"{big}\"><device id=\"d\" name=\"{big}\"/></context>");
    let d = parse(xml.as_bytes(), "t").unwrap();
    assert_eq!(d.description.len(), big.len());
    assert_eq!(d.devices[0].name.as_deref().map(str::len), Some(big.len()));

    // Many attributes on one element, many context attributes: linear, not quadratic.
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let ctx_attrs: String = (0..100_000)
        .map(|i| {
            format!(
                "<context-attribute name=\"k{}\" value=\"{i}\"/>",
                i % 50_000
            )
        })
        .collect();
    let xml = format!("<context{attrs}>{ctx_attrs}</context>");
    let started = std::time::Instant::now();
    let d = parse(xml.as_bytes(), "t").unwrap();
    assert_eq!(d.attrs.len(), 50_000);
    assert_eq!(d.attrs[0], ("k0".to_string(), "50000".to_string()));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    let depth = 200_000;
    let xml = format!(
        "<context>{}{}</context>",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    );
    assert!(parse(xml.as_bytes(), "t").unwrap().devices.is_empty());
    let xml = format!("<context>{}", "<x>".repeat(depth));
    let (l, _, m) = error_of(xml.as_bytes());
    assert_eq!(l, 1);
    assert!(m.contains("<x>"), "{m}");
}

#[test]
fn writer_follows_libiio_0_24() {
    let d = parse(SMALL.as_bytes(), "small").unwrap();
    let xml = write(&d);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><!DOCTYPE context ["));
    let body = &xml[xml.find("]>").unwrap() + 2..];
    assert_eq!(
        body,
        "<context name=\"xml\" version-major=\"0\" version-minor=\"24\" version-git=\"v0.24\" \
         description=\"Linux box\" ><context-attribute name=\"uri\" value=\"local:\" />\
         <device id=\"iio:device0\" name=\"adc\" label=\"left\" >\
         <channel id=\"voltage0\" type=\"output\" ><scan-element index=\"0\" \
         format=\"be:U16/16&gt;&gt;0\" /></channel>\
         <channel id=\"voltage1\" type=\"input\" ><scan-element index=\"1\" \
         format=\"le:s12/16&gt;&gt;4\" scale=\"0.500000\" />\
         <attribute name=\"raw\" filename=\"in_voltage1_raw\" /></channel>\
         <channel id=\"temp\" type=\"input\" ><attribute name=\"raw\" filename=\"raw\" /></channel>\
         <attribute name=\"sampling_frequency\" /><buffer-attribute name=\"watermark\" />\
         <debug-attribute name=\"direct_reg_access\" /></device>\
         <device id=\"trigger0\" ></device></context>"
    );
}

#[test]
fn writer_escaping_and_numbers() {
    let s = "X&<>\"'é";
    let d = ContextData {
        name: "xml".into(),
        description: s.into(),
        has_description: true,
        version: Some((1, 2, "abcdefghij".into())),
        attrs: vec![(s.into(), s.into())],
        devices: vec![DeviceData {
            id: s.into(),
            name: Some(s.into()),
            channels: vec![ChannelData {
                id: s.into(),
                name: Some(s.into()),
                scan: Some(ScanData {
                    index: Ok(7),
                    format_text: "le:s12/16X3>>4".into(),
                    format: Some(DataFormat::parse("le:s12/16X3>>4").unwrap()),
                    scale: Some(f64::from("1234567.891".parse::<f32>().unwrap())),
                    enable_file: String::new(),
                }),
                attrs: vec![AttrData {
                    name: s.into(),
                    filename: s.into(),
                    problem: None,
                }],
                ..ChannelData::default()
            }],
            attrs: vec![AttrData::named(s)],
            ..DeviceData::default()
        }],
    };
    let xml = write(&d);
    let body = &xml[xml.find("]>").unwrap() + 2..];
    // Full escaping where 0.24 sanitises, only & < " elsewhere (0.24 writes those raw).
    let full = "X&amp;&lt;&gt;&quot;&apos;é";
    let minimal = "X&amp;&lt;>&quot;'é";
    assert_eq!(
        body,
        format!(
            "<context name=\"xml\" version-major=\"1\" version-minor=\"2\" version-git=\"abcdefg\" \
             description=\"{full}\" ><context-attribute name=\"{minimal}\" value=\"{full}\" />\
             <device id=\"{minimal}\" name=\"{minimal}\" ><channel id=\"{full}\" name=\"{minimal}\" \
             type=\"input\" ><scan-element index=\"7\" format=\"le:s12/16X3&gt;&gt;4\" \
             scale=\"1234567.875000\" /><attribute name=\"{minimal}\" filename=\"{full}\" />\
             </channel><attribute name=\"{minimal}\" /></device></context>"
        )
    );
    // And it reads back to the same snapshot (the version as libiio reports it).
    let mut expected = d.clone();
    expected.version = Some((1, 2, "abcdefg".into()));
    expected.devices[0].attrs[0].filename = String::new();
    expected.devices[0].channels[0]
        .scan
        .as_mut()
        .unwrap()
        .format_text = "le:s12/16X3>>4".into();
    expected.devices[0].buffer_count = 1;
    assert_eq!(parse(xml.as_bytes(), "t").unwrap(), expected);
    assert_eq!(super::write::c_percent_f(f64::NAN), "nan");
    assert_eq!(super::write::c_percent_f(-0.0), "-0.000000");
    assert_eq!(super::write::c_percent_f(f64::NEG_INFINITY), "-inf");
    assert_eq!(super::write::c_percent_f(0.0000015), "0.000002");
}

/// A random snapshot of the kind the parser produces (libiio channel order, canonical
/// format text, six-decimal scales, file names on channel attributes only).
fn random_snapshot(rng: &mut Rng) -> ContextData {
    let alphabet = [
        "a", "Z", "0", "_", "-", ":", ",", " ", "&", "<", ">", "\"", "'", "é", "µ", "水", "🦀",
        "=", "/", ";",
    ];
    let text = |rng: &mut Rng, min: u64| -> String {
        (0..min + rng.below(8))
            .map(|_| rng.pick(&alphabet))
            .collect()
    };
    let formats = [
        "le:s12/16>>4",
        "be:U16/16>>0",
        "le:S64/64>>0",
        "le:u1/16>>7",
        "be:s24/32X2>>8",
    ];
    let mut devices = Vec::new();
    for _ in 0..rng.below(4) {
        let mut channels = Vec::new();
        for _ in 0..rng.below(6) {
            let scan = rng.chance(60).then(|| {
                let format = DataFormat::parse(rng.pick(&formats)).unwrap();
                ScanData {
                    index: Ok(rng.below(4) as u32),
                    format_text: format.to_string(),
                    format: Some(format),
                    scale: rng.chance(50).then(|| {
                        let micro = rng.below(10_000_000) as f32 / 1e6;
                        // What "%f" then strtof make of it.
                        f64::from(format!("{micro:.6}").parse::<f32>().unwrap())
                    }),
                    enable_file: String::new(),
                }
            });
            let attrs = (0..rng.below(4))
                .map(|_| AttrData {
                    name: text(rng, 1),
                    filename: text(rng, 1),
                    problem: None,
                })
                .collect();
            channels.push(ChannelData {
                id: text(rng, 1),
                name: rng.chance(30).then(|| text(rng, 0)),
                label: None,
                output: rng.chance(30),
                scan,
                attrs,
                event_attrs: Vec::new(),
            });
        }
        super::parse::reorder_channels(&mut channels);
        let named = |rng: &mut Rng| -> Vec<AttrData> {
            (0..rng.below(3))
                .map(|_| AttrData {
                    name: text(rng, 0),
                    filename: String::new(),
                    problem: None,
                })
                .collect()
        };
        let buffer_count = u32::from(channels.iter().any(|c| c.scan.is_some()));
        devices.push(DeviceData {
            id: text(rng, 0),
            name: rng.chance(70).then(|| text(rng, 0)),
            label: rng.chance(20).then(|| text(rng, 0)),
            channels,
            attrs: named(rng),
            buffer_attrs: named(rng),
            debug_attrs: named(rng),
            event_attrs: Vec::new(),
            buffer_count,
        });
    }
    let mut attrs: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.below(4) {
        let key = text(rng, 0);
        if !attrs.iter().any(|(k, _)| *k == key) {
            attrs.push((key, text(rng, 0)));
        }
    }
    let git: String = (0..rng.below(8))
        .map(|_| rng.pick(&["a", "f", "0", "9", "."]))
        .collect();
    let description = if rng.chance(20) {
        String::new()
    } else {
        text(rng, 1)
    };
    ContextData {
        name: "xml".into(),
        has_description: !description.is_empty() || rng.chance(50),
        description,
        version: Some((rng.below(3) as u32, rng.below(40) as u32, git)),
        attrs,
        devices,
    }
}

#[test]
fn round_trip_property() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let d = random_snapshot(&mut rng);
        let xml = write(&d);
        let back =
            parse(xml.as_bytes(), "round-trip").unwrap_or_else(|e| panic!("{e}\n{xml}\n{d:?}"));
        assert_eq!(back, d, "{xml}");
        // parse(write(parse(x))) == parse(x) with x = write(d).
        assert_eq!(parse(write(&back).as_bytes(), "again").unwrap(), back);
    }
}

#[test]
fn scales_beyond_six_decimals_settle_after_one_round() {
    // 0.24 prints scales with %f, so digits past the sixth are lost once, then stable.
    let xml = r#"<context><device id="d"><channel id="voltage0" type="input">
        <scan-element index="0" format="le:s16/16>>0" scale="0.0000382"/></channel></device></context>"#;
    let once = parse(xml.as_bytes(), "t").unwrap();
    let twice = parse(write(&once).as_bytes(), "t").unwrap();
    let thrice = parse(write(&twice).as_bytes(), "t").unwrap();
    assert_eq!(twice, thrice);
    let scale = |d: &ContextData| d.devices[0].channels[0].scan.as_ref().unwrap().scale;
    assert_eq!(scale(&once), Some(f64::from(0.0000382_f32)));
    assert_eq!(scale(&twice), Some(f64::from(0.000038_f32)));
}

#[test]
fn the_dtd_is_checked_not_interpreted() {
    // A DTD with quoted '>' and '<' (which a bracket-counting reader gets wrong), comments,
    // a PI, notations, external ids, parameter entities and an entity used in an attribute.
    let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE context SYSTEM "context.dtd" [
  <!-- a comment with <brackets> -->
  <?pi with > inside?>
  <!ELEMENT context (device | context-attribute)*>
  <!ELEMENT device ((channel, attribute?)+ | debug-attribute)>
  <!ELEMENT x (#PCDATA | a | b)*>
  <!ELEMENT y (#PCDATA)>
  <!ATTLIST context name CDATA #REQUIRED description CDATA "a > b" x NMTOKENS #IMPLIED>
  <!ATTLIST channel type (input|output) #REQUIRED id ID #REQUIRED n NOTATION (png) #IMPLIED>
  <!ENTITY board "Pluto &amp; co">
  <!ENTITY rev "&board; rev. B">
  <!ENTITY % params "ignored">
  <!ENTITY logo SYSTEM "logo.png" NDATA png>
  <!NOTATION png PUBLIC "image/png">
]>
<context name="x" description="&board;:&#9;x"><device id="d">
  <channel id="c" type="  output  "/></device></context>"#;
    let d = parse(xml.as_bytes(), "t").unwrap();
    // Expanded as XML says (libiio 0.24 keeps only the first node of such a value).
    assert_eq!(d.description, "Pluto & co:\tx");
    // `type` is declared as an enumeration, so its value is trimmed (XML 1.0, 3.3.3).
    assert!(d.devices[0].channels[0].output);

    let bad = |dtd: &str| {
        let xml = format!("<!DOCTYPE context [\n{dtd}\n]>\n<context/>");
        error_of(xml.as_bytes())
    };
    let cases: [(&str, usize, usize, &str); 12] = [
        ("<!ELEMENT context>", 2, 18, "white space required"),
        ("<!ELEMENT context (a | b, c)>", 2, 25, "mixed in one"),
        ("<!ELEMENT context (#PCDATA | a)>", 2, 32, "')*'"),
        (
            "<!ATTLIST context name CDATA>",
            2,
            29,
            "white space required",
        ),
        (
            "<!ATTLIST context name (a|b #IMPLIED>",
            2,
            29,
            "enumeration",
        ),
        ("<!ATTLIST context name CDATA \"a<b\">", 2, 32, "'<'"),
        (
            "<!ATTLIST context name CDATA #REQUIREDx CDATA #IMPLIED>",
            2,
            39,
            "white space",
        ),
        ("<!ENTITY a \"x &b\">", 2, 15, "reference"),
        ("<!ENTITY a SYSTEM>", 2, 18, "white space required"),
        ("<!-- a -- b -->", 2, 8, "'--'"),
        ("<!FOO bar>", 2, 1, "malformed markup declaration"),
        ("<!ELEMENT context ANY", 3, 1, "'>'"),
    ];
    for (dtd, line, column, needle) in cases {
        let (l, c, m) = bad(dtd);
        assert_eq!((l, c), (line, column), "{dtd}: {m}");
        assert!(m.contains(needle), "{dtd}: {m}");
    }
    let deep = format!("<!ELEMENT context {}a{}>", "(".repeat(100), ")".repeat(100));
    assert!(bad(&deep).2.contains("nested too deeply"));
    // Entity text is read again: '<' from a character reference is refused in attributes,
    // nested references are expanded, runaway expansion stops.
    let xml = "<!DOCTYPE context [<!ENTITY a \"&#60;\">]><context description=\"&a;\"/>";
    assert!(error_of(xml.as_bytes()).2.contains("'<'"));
    let xml = "<!DOCTYPE c [<!ENTITY a \"x&#38;amp;y\"><!ENTITY b \"[&a;]\">]><context description=\"&b;\"/>";
    assert_eq!(parse(xml.as_bytes(), "t").unwrap().description, "[x&y]");
    let xml = "<!DOCTYPE c [<!ENTITY a \"&a;\">]><context description=\"&a;\"/>";
    assert!(error_of(xml.as_bytes()).2.contains("too deeply"));
    let mut laughs = String::from("<!DOCTYPE c [<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        let refs = format!("&l{};", i - 1).repeat(10);
        laughs.push_str(&format!("<!ENTITY l{i} \"{refs}\">"));
    }
    laughs.push_str("]><context description=\"&l9;\"/>");
    assert!(error_of(laughs.as_bytes()).2.contains("more text than"));
    // Many references to one big entity: bounded for the whole document, not per value.
    let big = "x".repeat(4096);
    let attrs: String = (0..64).map(|i| format!(" a{i}=\"&big;\"")).collect();
    let xml = format!("<!DOCTYPE c [<!ENTITY big \"{big}\">]><context{attrs}/>");
    assert!(error_of(xml.as_bytes()).2.contains("more text than"));
    let xml = "<!DOCTYPE c [<!ENTITY e SYSTEM \"e.txt\">]><context description=\"&e;\"/>";
    assert!(error_of(xml.as_bytes()).2.contains("external"));
    assert_error(
        "<!DOCTYPE context [<!ENTITY % p \"\"> %p;]><context/>",
        1,
        37,
        "parameter-entity",
    );
    assert_error(
        "<!DOCTYPE context><!DOCTYPE context><context/>",
        1,
        19,
        "DOCTYPE",
    );
    assert_error("<!doctype context><context/>", 1, 1, "DOCTYPE");
    assert_error("<?xml version=\"2.0\"?><context/>", 1, 16, "version");
    assert_error("<?xml encoding=\"utf-8\"?><context/>", 1, 17, "version");
    assert_error(
        "<?xml version=\"1.0\" standalone=\"maybe\"?><context/>",
        1,
        33,
        "standalone",
    );
}

#[test]
fn scan_element_values_libiio_would_misread_are_refused() {
    let scan = |attrs: &str| {
        format!(
            "<context><device id=\"d\"><channel id=\"c\" type=\"input\"><scan-element {attrs}/>\
             </channel></device></context>"
        )
    };
    let ok = |attrs: &str| {
        let d = parse(scan(attrs).as_bytes(), "t").unwrap();
        d.devices[0].channels[0].scan.clone().unwrap()
    };
    // strtoll(.., 0) forms and strtof forms libiio accepts.
    assert_eq!(ok("index=\"0x10\" format=\"le:s8/8>>0\"").index, Ok(16));
    assert_eq!(ok("index=\" 010 \" format=\"le:s8/8>>0\"").index, Ok(8));
    assert_eq!(
        ok("index=\"3\" format=\"be:u12/16>>4 \" scale=\" 1e-3\"").scale,
        Some(f64::from(1e-3f32))
    );
    for attrs in [
        "index=\"3x\" format=\"le:s8/8>>0\"",
        "index=\"4294967296\" format=\"le:s8/8>>0\"",
        "index=\"1\" format=\" le:s8/8>>0\"",
        "index=\"1\" format=\"le:s8/8>>0\" scale=\"1e50\"",
        "index=\"1\" format=\"le:s8/8>>0\" scale=\"\"",
    ] {
        let (_, _, m) = error_of(scan(attrs).as_bytes());
        assert!(!m.is_empty(), "{attrs}");
    }
}

#[test]
fn a_present_but_empty_description_is_written_back() {
    // As libiio 0.24's and 1.x's iio_genxml do: `description=""` when the source had it,
    // nothing when it had none.
    let given = parse(
        br#"<context name="local" description=""><device id="d"/></context>"#,
        "t",
    )
    .unwrap();
    assert!(given.has_description);
    assert!(write(&given).contains(r#"version-git="v0.24" description="" >"#));
    assert!(super::write_v1(&given).contains(r#"version-git="4e3cfe61" description="" >"#));
    let none = parse(br#"<context name="local"><device id="d"/></context>"#, "t").unwrap();
    assert!(!none.has_description);
    assert!(write(&none).contains(r#"version-git="v0.24" >"#));
}
