//! Conformance against libiio 0.24 on the shared corpus of context XML files
//! (`../shared/contexts` next to the crate; the suite is skipped when it is absent).
//!
//! For every well-formed `NAME.xml`:
//! - our `iio_info` text (stdout and stderr lines in the order they are written) must equal
//!   `NAME.xml.iio_info.txt`, the output of the real `iio_info -u xml:NAME.xml` 2>&1;
//! - `Context::to_xml()` plus a newline must equal `NAME.xml.iio_genxml.txt`.
//!
//! The `*.MALFORMED.xml` files must be refused with `Error::Xml` carrying a position.
//!
//! One normalisation, and only one: a ground-truth file may start with diagnostics libxml2
//! printed while validating the file against its own DTD (`NAME.xml:15: element context:
//! validity error : ...` followed by the offending source line and a caret line). They are
//! warnings of the C XML library libiio uses, not output of libiio; ferroio does not
//! validate against the DTD, so those leading 3-line blocks are removed before comparing.
//! The report names the files where that happened.

use ferroio::{Context, Error};
use std::cell::RefCell;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/contexts");
    dir.is_dir().then_some(dir)
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the corpus directory")
        .map(|e| e.expect("read a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

/// A writer shared by the two streams, so lines keep the order they were written in.
#[derive(Clone, Default)]
struct Merged(Rc<RefCell<Vec<u8>>>);

impl Write for Merged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Removes leading libxml2 validity diagnostics (3 lines each) for `file_name`; returns the
/// rest and how many blocks were removed.
fn strip_libxml2_diagnostics<'a>(text: &'a str, file_name: &str) -> (&'a str, usize) {
    let mut rest = text;
    let mut blocks = 0;
    let prefix = format!("{file_name}:");
    while rest.starts_with(&prefix) && rest.lines().next().is_some_and(|l| l.contains(" error : "))
    {
        let mut cut = rest;
        for _ in 0..3 {
            cut = cut.split_once('\n').map_or("", |(_, tail)| tail);
        }
        rest = cut;
        blocks += 1;
    }
    (rest, blocks)
}

fn info_text(ctx: &Context) -> String {
    let merged = Merged::default();
    let (mut out, mut err) = (merged.clone(), merged.clone());
    ferroio::info::write_info(ctx, &mut out, &mut err).expect("write to memory");
    let bytes = merged.0.borrow().clone();
    String::from_utf8(bytes).expect("info text is UTF-8")
}

/// The first differing line, for a readable failure.
fn first_difference(ours: &str, theirs: &str) -> String {
    for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        if a != b {
            return format!("line {}: ours {a:?}, libiio {b:?}", i + 1);
        }
    }
    format!(
        "lengths differ: ours {} lines, libiio {} lines",
        ours.lines().count(),
        theirs.lines().count()
    )
}

#[test]
fn corpus_matches_libiio_0_24() {
    let Some(dir) = corpus() else {
        println!("skipped: ../shared/contexts is not present");
        return;
    };
    let mut failures = Vec::new();
    let (mut info_ok, mut xml_ok, mut wellformed) = (0, 0, 0);
    for path in xml_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let uri = format!("xml:{}", path.display());
        if name.ends_with(".MALFORMED.xml") {
            match Context::from_uri(&uri) {
                Err(Error::Xml {
                    line,
                    column,
                    message,
                    ..
                }) => {
                    assert!(line >= 1 && column >= 1);
                    println!("{name}: rejected at {line}:{column}: {message}");
                }
                Err(e) => failures.push(format!("{name}: wrong error kind: {e}")),
                Ok(_) => failures.push(format!("{name}: accepted a malformed file")),
            }
            continue;
        }
        wellformed += 1;
        let ctx = match Context::from_uri(&uri) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: refused: {e}"));
                continue;
            }
        };

        let expected = std::fs::read_to_string(dir.join(format!("{name}.iio_info.txt")))
            .expect("read the iio_info ground truth");
        let (expected, blocks) = strip_libxml2_diagnostics(&expected, &name);
        let ours = info_text(&ctx);
        let note = if blocks > 0 {
            format!(" ({blocks} libxml2 validity diagnostics ignored)")
        } else {
            String::new()
        };
        if ours == expected {
            info_ok += 1;
            println!("{name}: iio_info matches{note}");
        } else {
            failures.push(format!(
                "{name}: iio_info differs: {}",
                first_difference(&ours, expected)
            ));
        }

        let expected = std::fs::read_to_string(dir.join(format!("{name}.iio_genxml.txt")))
            .expect("read the iio_genxml ground truth");
        let ours = ctx.to_xml() + "\n";
        if ours == expected {
            xml_ok += 1;
            println!("{name}: iio_genxml matches");
        } else {
            let at = ours
                .bytes()
                .zip(expected.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(expected.len()));
            let from = at.saturating_sub(60);
            failures.push(format!(
                "{name}: XML differs at byte {at}: ours …{:?}, libiio …{:?}",
                ours.get(from..(at + 60).min(ours.len())).unwrap_or(""),
                expected
                    .get(from..(at + 60).min(expected.len()))
                    .unwrap_or("")
            ));
        }
    }
    println!("iio_info: {info_ok}/{wellformed} match; iio_genxml: {xml_ok}/{wellformed} match");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn written_xml_reads_back_to_the_same_snapshot() {
    let Some(dir) = corpus() else {
        println!("skipped: ../shared/contexts is not present");
        return;
    };
    for path in xml_files(&dir) {
        if path.to_string_lossy().ends_with(".MALFORMED.xml") {
            continue;
        }
        let ctx = Context::from_xml_file(&path).expect("corpus file parses");
        let again = Context::from_xml_str(&ctx.to_xml()).expect("our XML parses");
        // The written XML always names a version: libiio's own when the file had none, and
        // 7 bytes of the git tag, as 0.24 reports it.
        let mut expected = ctx.data().clone();
        expected.version = Some(match expected.version.take() {
            None => (0, 24, "v0.24".into()),
            Some((major, minor, git)) => (major, minor, git.chars().take(7).collect()),
        });
        // 0.24's XML has no place for event attributes (1.x descriptions carry them).
        for dev in &mut expected.devices {
            dev.event_attrs.clear();
            for chn in &mut dev.channels {
                chn.event_attrs.clear();
            }
        }
        assert_eq!(&expected, again.data(), "{}", path.display());
        assert_eq!(ctx.to_xml(), again.to_xml(), "{}", path.display());
        // And libiio 1.x's XML reads back to the same devices, channels and attributes
        // (its lists sorted).
        let v1 = Context::from_xml_str(&ctx.to_xml_v1()).expect("our 1.x XML parses");
        assert_eq!(v1.to_xml_v1(), ctx.to_xml_v1(), "{}", path.display());
    }
}

/// A description given empty is written back empty (`description=""`), one not given is
/// left out: as Debian's libiio 0.24 `iio_genxml -x` writes them.
#[test]
fn empty_and_absent_descriptions_as_iio_genxml_writes_them() {
    if std::process::Command::new("iio_genxml")
        .arg("-h")
        .output()
        .is_err()
    {
        println!("skipped: Debian's iio_genxml (libiio-utils) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, context) in [
        ("empty.xml", r#"<context name="local" description="">"#),
        ("absent.xml", r#"<context name="local">"#),
    ] {
        let path = dir.path().join(name);
        let xml = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>{context}<device id="iio:device0" name="x"/></context>"#
        );
        std::fs::write(&path, xml).unwrap();
        let theirs = std::process::Command::new("iio_genxml")
            .arg("-x")
            .arg(&path)
            .output()
            .unwrap();
        let theirs = String::from_utf8_lossy(&theirs.stdout);
        // It prints "XML generated:", the XML, then the result of reading it back.
        let theirs = theirs
            .lines()
            .find(|l| l.starts_with("<?xml"))
            .unwrap_or_default();
        let ours = Context::from_xml_file(&path).unwrap().to_xml();
        assert_eq!(ours, theirs, "{name}");
    }
}
