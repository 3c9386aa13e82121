//! Parsing libiio context XML into a [`ContextData`] snapshot.
//!
//! What is kept, and in which order, follows libiio 0.24's `xml.c` and `context.c`, checked
//! against the real 0.24 tools on the files of the shared context corpus:
//! - the context is named `xml` whatever its `name` attribute says; `description` is kept;
//!   the version is `version-major`/`-minor`/`-git` when `version-git` is present (the tag
//!   whole; libiio 0.24 hands out 7 bytes of it, 1.x 8: the writers cut it), otherwise none
//!   (libiio then reports its own: `write::version_of`);
//! - a scan element's format is kept parsed, its text in the form libiio prints
//!   (`le:S64/64>>0` for `le:s64/64>>0`);
//! - devices, device attributes, debug and buffer attributes and channel attributes stay in
//!   document order (0.24 sorts nothing of the XML); a `<context-attribute>` whose name was
//!   already seen replaces the earlier value in place;
//! - channels are re-ordered as 0.24's `reorder_channels` does: scan elements by index, equal
//!   indexes by shift, then the channels without a scan element, otherwise in document order;
//! - a channel attribute without `filename` gets its name as file name;
//! - libiio 1.x markup is read as 1.x reads it: `<event-attribute>` of devices and channels
//!   (with its `filename`), `<buffer index="N">` (the device has N+1 buffers; the attributes
//!   of buffer 0 are its buffer attributes, and the legacy `<buffer-attribute>` copies after
//!   a `<buffer>` are not read again), channel `label`;
//! - other unknown elements are skipped with their whole subtree, unknown attributes
//!   (`value="..."` of emulator files) are ignored;
//! - the `scale` of a scan element is read as a C `float`, as 0.24 does, so it prints the
//!   same with `%f`.
//!
//! Where 0.24 shrugs and we refuse: a channel `type` other than `input`/`output` (0.24 takes
//! anything for input), a scan-element without `index` or `format` or with an index, format
//! or scale that does not parse completely (0.24 keeps whatever `strtoll`/`sscanf`/`strtof`
//! made of it), a `version-major`/`version-minor` that is not a number. Every error is an
//! [`Error::Xml`] with the 1-based line and column (in characters) of the offending markup
//! or attribute value.
//!
//! Well-formedness is checked as libxml2 checks it before libiio sees the document: one
//! root element, nothing but white space and markup outside it, matched tags, quoted
//! attribute values without `<`, defined entity and character references only, no
//! duplicate attributes, XML characters only, a well-formed XML declaration and DTD (see
//! `dtd.rs`). Of the DTD only what changes attribute values is used: internal entities
//! (expanded, where libiio 0.24 keeps only the first text node of such a value) and
//! tokenized attribute types (`type (input|output)` values are trimmed, as libxml2 does).
//! Validity (does the document follow its DTD) is not checked; libxml2 only warns about it
//! and libiio goes on. Memory use is bounded by a small multiple of the input size, time is
//! linear in it, and the only recursion is bounded.

use super::decode::{decode, find};
use super::dtd;
use super::lex::{is_name, is_space, is_space_char, is_xml_char, locate, resolve_builtin};
use crate::error::{Error, Result};
use crate::format::DataFormat;
use crate::model::{AttrData, ChannelData, ContextData, DeviceData, ScanData};
use quick_xml::errors::{Error as QxError, IllFormedError};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// Parses libiio context XML. `source` names the input in error messages.
pub(crate) fn parse(bytes: &[u8], source: &str) -> Result<ContextData> {
    let text = decode(bytes).map_err(|(line, column, message)| Error::Xml {
        source_name: source.to_string(),
        line,
        column,
        message,
    })?;
    let parser = Parser {
        text: &text,
        source,
        out: ContextData {
            name: "xml".into(),
            ..ContextData::default()
        },
        open: Vec::new(),
        device: None,
        channel: None,
        root: RootState::NotSeen,
        doctype_seen: false,
        entities: HashMap::new(),
        tokenized: HashMap::new(),
        context_attr_index: HashMap::new(),
        buffers_seen: false,
        entity_budget: Cell::new(text.len()),
        semantic: None,
    };
    parser.run()
}

/// The most buffers a device may list (libiio's device index is a byte; so is ours).
const MAX_BUFFERS: u32 = 256;

fn new_reader(text: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_comments = true;
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    reader
}

/// What an open element means to the context being built.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Context,
    Device,
    Channel,
    /// A libiio 1.x `<buffer index="N">` of the device being read.
    Buffer(u32),
    /// Anything else: kept only to match the end tag.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RootState {
    NotSeen,
    Open,
    Closed,
}

/// One attribute of a start tag: name, decoded value, offset of the value's first char.
struct XmlAttr<'a> {
    name: &'a str,
    value: String,
    at: usize,
}

/// The attributes of one start tag, looked up by name.
struct Attrs<'a>(Vec<XmlAttr<'a>>);

impl<'a> Attrs<'a> {
    fn get(&self, name: &str) -> Option<&XmlAttr<'a>> {
        self.0.iter().find(|a| a.name == name)
    }

    fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(|a| a.value.clone())
    }
}

struct Parser<'a> {
    text: &'a str,
    source: &'a str,
    out: ContextData,
    /// Open elements: role, offset of `<`, name.
    open: Vec<(Role, usize, &'a str)>,
    device: Option<DeviceData>,
    channel: Option<ChannelData>,
    root: RootState,
    doctype_seen: bool,
    /// Internal general entities of the DTD (see [`dtd::Declared`]).
    entities: HashMap<String, Option<String>>,
    /// Attributes the DTD declares tokenized (see [`dtd::Declared`]).
    tokenized: HashMap<String, HashMap<String, bool>>,
    /// Where each context attribute sits in `out.attrs`, for replacement by name.
    context_attr_index: HashMap<String, usize>,
    /// The device being read has had a libiio 1.x `<buffer>` element.
    buffers_seen: bool,
    /// Bytes of entity text attribute values may still take in, all of them together: the
    /// size of the document, so the parse never holds more than about twice the input.
    entity_budget: Cell<usize>,
    /// The first error about the meaning of the document. Reported only if the document
    /// turns out well-formed, as libiio (libxml2 first, then its own checks) would.
    semantic: Option<Error>,
}

impl<'a> Parser<'a> {
    fn error(&self, offset: usize, message: impl Into<String>) -> Error {
        let (line, column) = locate(self.text, offset);
        Error::Xml {
            source_name: self.source.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    fn semantic_error(&mut self, offset: usize, message: impl Into<String>) {
        if self.semantic.is_none() {
            self.semantic = Some(self.error(offset, message));
        }
    }

    fn run(mut self) -> Result<ContextData> {
        if let Some((at, c)) = self.text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
            return Err(self.error(
                at,
                format!("character U+{:04X} is not allowed in XML", u32::from(c)),
            ));
        }
        let text = self.text;
        // quick-xml reads the document except its DOCTYPE declaration, which is read by
        // `dtd` (quick-xml finds its end by counting angle brackets, quotes or not); after
        // it a fresh reader starts at `base`.
        let mut base = 0;
        let mut reader = new_reader(text);
        loop {
            let at = base + reader.buffer_position() as usize;
            if self.open.is_empty() && text[at..].starts_with("<!DOCTYPE") {
                if self.doctype_seen || self.root != RootState::NotSeen {
                    return Err(self.error(at, "misplaced <!DOCTYPE declaration"));
                }
                let (end, declared) =
                    dtd::read_doctype(text, at).map_err(|(pos, m)| self.error(pos, m))?;
                self.doctype_seen = true;
                self.entities = declared.entities;
                self.tokenized = declared.tokenized;
                base = end;
                reader = new_reader(&text[end..]);
                continue;
            }
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let pos = base + reader.error_position() as usize;
                    return Err(self.error(pos, quick_xml_message(&e)));
                }
            };
            match event {
                Event::Decl(_) => {
                    if at != 0 {
                        return Err(
                            self.error(at, "the XML declaration is only allowed at the very start")
                        );
                    }
                    let content = &text[at + 2..];
                    let end = content.find("?>").unwrap_or(content.len());
                    let attrs = self.attributes(&content[..end], at + 2 + 3, 3)?;
                    self.check_declaration(at, &attrs)?;
                }
                Event::PI(pi) => {
                    let target = std::str::from_utf8(pi.target()).unwrap_or("");
                    if target.eq_ignore_ascii_case("xml") || !is_name(target) {
                        return Err(self.error(
                            at,
                            format!("invalid processing instruction target '{target}'"),
                        ));
                    }
                }
                Event::DocType(_) => {
                    // A DOCTYPE at the top level was taken above; this one is misspelt or
                    // inside an element.
                    return Err(self.error(at, "misplaced or malformed <!DOCTYPE declaration"));
                }
                Event::Comment(_) => {}
                Event::CData(_) => {
                    if self.open.is_empty() {
                        return Err(self.error(at, "CDATA section outside the root element"));
                    }
                }
                Event::Text(t) => {
                    let raw: &[u8] = &t;
                    if self.open.is_empty() {
                        if let Some(i) = raw.iter().position(|&b| !is_space(b)) {
                            let what = if self.root == RootState::NotSeen {
                                "text before the root element (a start tag '<' was expected)"
                            } else {
                                "text after the root element"
                            };
                            return Err(self.error(at + i, what));
                        }
                    } else if let Some(i) = find(raw, b"]]>") {
                        return Err(self.error(at + i, "']]>' is not allowed in text"));
                    }
                }
                Event::GeneralRef(r) => {
                    if self.open.is_empty() {
                        return Err(self.error(at, "reference outside the root element"));
                    }
                    // Text content is not kept, so any declared entity will do here.
                    let name = std::str::from_utf8(&r).unwrap_or("");
                    match resolve_builtin(name) {
                        Ok(Some(_)) => {}
                        Ok(None) if self.entities.contains_key(name) => {}
                        Ok(None) => {
                            return Err(self.error(at, format!("undefined entity '&{name};'")))
                        }
                        Err(message) => return Err(self.error(at, message)),
                    }
                }
                Event::Start(e) => {
                    let content = &text[at + 1..at + 1 + e.len()];
                    self.start(at, content, false)?;
                }
                Event::Empty(e) => {
                    let content = &text[at + 1..at + 1 + e.len()];
                    self.start(at, content, true)?;
                }
                Event::End(_) => {
                    if let Some((role, _, _)) = self.open.pop() {
                        self.end(role);
                    }
                    if self.open.is_empty() {
                        self.root = RootState::Closed;
                    }
                }
                Event::Eof => break,
            }
        }
        if let Some(&(_, at, name)) = self.open.last() {
            let (line, column) = locate(self.text, at);
            return Err(self.error(
                self.text.len(),
                format!(
                    "unexpected end of input: <{name}> opened at line {line}, column {column} \
                     is not closed"
                ),
            ));
        }
        if self.root == RootState::NotSeen {
            return Err(self.error(
                self.text.len(),
                "no root element (libiio context XML has a <context> element)",
            ));
        }
        match self.semantic {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }

    /// What `&name;` stands for: a character, a predefined entity, or an internal entity
    /// of the DTD whose value is plain text.
    fn resolve(&self, name: &str) -> std::result::Result<Resolved<'_>, String> {
        if let Some(c) = resolve_builtin(name)? {
            return Ok(Resolved::Char(c));
        }
        match self.entities.get(name) {
            Some(Some(text)) => Ok(Resolved::Text(text)),
            Some(None) => Err(format!(
                "entity '&{name};' is external; it cannot be used in an attribute value"
            )),
            None => Err(format!("undefined entity '&{name};'")),
        }
    }

    /// Appends what `&name;` stands for inside an attribute value: entity text is read
    /// again for references, white space becomes spaces, `<` is refused. `depth` and the
    /// document-wide `entity_budget` stop runaway, exponential or quadratic expansions.
    fn expand_reference(
        &self,
        name: &str,
        out: &mut String,
        depth: usize,
    ) -> std::result::Result<(), String> {
        let text = match self.resolve(name)? {
            Resolved::Char(c) => {
                out.push(c);
                return Ok(());
            }
            Resolved::Text(t) => t,
        };
        if depth >= 16 {
            return Err(format!("entity '&{name};' nests references too deeply"));
        }
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let budget = self.entity_budget.get();
            if budget < c.len_utf8() {
                return Err(format!(
                    "entity '&{name};': entities expand to more text than the document holds"
                ));
            }
            match c {
                '<' => {
                    return Err(format!(
                        "entity '&{name};' holds '<', not allowed in an attribute value"
                    ))
                }
                '&' => {
                    let end = rest
                        .find(';')
                        .ok_or_else(|| format!("malformed reference in entity '&{name};'"))?;
                    self.expand_reference(&rest[1..end], out, depth + 1)?;
                    rest = &rest[end + 1..];
                    continue;
                }
                c if is_space_char(c) => out.push(' '),
                c => out.push(c),
            }
            self.entity_budget.set(budget - c.len_utf8());
            rest = &rest[c.len_utf8()..];
        }
        Ok(())
    }

    /// The XML declaration: `version` first (1.x), then optionally `encoding` and
    /// `standalone`, nothing else.
    fn check_declaration(&self, at: usize, attrs: &Attrs<'_>) -> Result<()> {
        let allowed = ["version", "encoding", "standalone"];
        let mut last = None;
        for a in &attrs.0 {
            let rank = allowed.iter().position(|&n| n == a.name);
            if rank.is_none() || rank <= last {
                return Err(self.error(
                    a.at,
                    format!("unexpected '{}' in the XML declaration", a.name),
                ));
            }
            last = rank;
            let v = a.value.as_str();
            let ok = match a.name {
                "version" => v
                    .strip_prefix("1.")
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
                "encoding" => {
                    v.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                        && v.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                }
                _ => v == "yes" || v == "no",
            };
            if !ok {
                return Err(self.error(
                    a.at,
                    format!("invalid {} '{v}' in the XML declaration", a.name),
                ));
            }
        }
        match attrs.0.first() {
            Some(a) if a.name == "version" => Ok(()),
            Some(a) => Err(self.error(a.at, "the XML declaration must start with its version")),
            None => Err(self.error(at, "the XML declaration has no version")),
        }
    }

    /// A start tag (or an empty-element tag): `content` is the text between `<` and `>`
    /// (without the `/` of an empty-element tag), found at offset `at`.
    fn start(&mut self, at: usize, content: &'a str, empty: bool) -> Result<()> {
        let name_len = content.bytes().position(is_space).unwrap_or(content.len());
        let name = &content[..name_len];
        if !is_name(name) {
            return Err(self.error(at + 1, format!("invalid element name '{name}'")));
        }
        if self.root == RootState::Closed && self.open.is_empty() {
            return Err(self.error(at, "a second root element (only one is allowed)"));
        }
        let mut attrs = self.attributes(&content[name_len..], at + 1 + name_len, 0)?;
        let declared = self.tokenized.get(name);
        for a in &mut attrs.0 {
            if declared.and_then(|d| d.get(a.name)) == Some(&true) {
                a.value = a
                    .value
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        self.root = RootState::Open;
        let role = if self.semantic.is_some() {
            Role::Other
        } else {
            self.interpret(at, name, &attrs)
        };
        if empty {
            self.end(role);
            if self.open.is_empty() {
                self.root = RootState::Closed;
            }
        } else {
            self.open.push((role, at, name));
        }
        Ok(())
    }

    /// Parses the attributes of a tag. `raw` is the part after the element name, found at
    /// offset `at`; `skip` bytes of it are ignored (the `xml` of a declaration's content).
    fn attributes(&self, raw: &'a str, at: usize, skip: usize) -> Result<Attrs<'a>> {
        let raw = raw.get(skip..).unwrap_or("");
        let bytes = raw.as_bytes();
        let mut out: Vec<XmlAttr<'a>> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut i = 0;
        loop {
            let ws = i;
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            if i == bytes.len() {
                break;
            }
            if i == ws {
                return Err(self.error(at + i, "white space is required between attributes"));
            }
            let name_start = i;
            while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'=' {
                i += 1;
            }
            let name = &raw[name_start..i];
            if !is_name(name) {
                return Err(self.error(at + name_start, format!("invalid attribute name '{name}'")));
            }
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            if bytes.get(i) != Some(&b'=') {
                return Err(self.error(at + i, format!("'=' expected after attribute '{name}'")));
            }
            i += 1;
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            let quote = match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => q,
                _ => {
                    return Err(self.error(
                        at + i,
                        format!("the value of attribute '{name}' must be quoted"),
                    ))
                }
            };
            let value_start = i + 1;
            let len = bytes[value_start..]
                .iter()
                .position(|&b| b == quote)
                .ok_or_else(|| {
                    self.error(at + i, format!("unterminated value of attribute '{name}'"))
                })?;
            let value_raw = &raw[value_start..value_start + len];
            let value = self.attribute_value(value_raw, at + value_start)?;
            if !seen.insert(name) {
                return Err(self.error(at + name_start, format!("attribute '{name}' given twice")));
            }
            out.push(XmlAttr {
                name,
                value,
                at: at + value_start,
            });
            i = value_start + len + 1;
        }
        Ok(Attrs(out))
    }

    /// Decodes an attribute value as XML says: references resolved, each white-space
    /// character (a CR LF pair counting as one) turned into a space.
    fn attribute_value(&self, raw: &str, at: usize) -> Result<String> {
        let bytes = raw.as_bytes();
        let mut out = String::with_capacity(raw.len());
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'<' => {
                    return Err(self.error(at + i, "'<' is not allowed in an attribute value"));
                }
                b'\t' | b'\n' | b'\r' => {
                    out.push_str(&raw[copied..i]);
                    out.push(' ');
                    if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    i += 1;
                    copied = i;
                }
                b'&' => {
                    out.push_str(&raw[copied..i]);
                    let end = raw[i..].find(';').ok_or_else(|| {
                        self.error(at + i, "'&' must start a reference such as &amp;")
                    })?;
                    let name = &raw[i + 1..i + end];
                    self.expand_reference(name, &mut out, 0)
                        .map_err(|m| self.error(at + i, m))?;
                    i += end + 1;
                    copied = i;
                }
                _ => i += 1,
            }
        }
        out.push_str(&raw[copied..]);
        Ok(out)
    }

    /// Builds the context from a start tag whose parent has role `parent`; returns the role
    /// of the new element.
    fn interpret(&mut self, at: usize, name: &str, attrs: &Attrs<'_>) -> Role {
        let parent = self.open.last().map(|(role, _, _)| *role);
        match (parent, name) {
            (None, "context") => {
                self.start_context(attrs);
                Role::Context
            }
            (None, _) => {
                self.semantic_error(
                    at,
                    format!(
                        "the root element is <{name}>; libiio context XML starts with <context>"
                    ),
                );
                Role::Other
            }
            (Some(Role::Context), "device") => match self.require(at, name, attrs, "id") {
                Some(id) => {
                    self.device = Some(DeviceData {
                        id,
                        name: attrs.value("name"),
                        label: attrs.value("label"),
                        ..DeviceData::default()
                    });
                    Role::Device
                }
                None => Role::Other,
            },
            (Some(Role::Context), "context-attribute") => {
                let key = self.require(at, name, attrs, "name");
                let value = self.require(at, name, attrs, "value");
                if let (Some(key), Some(value)) = (key, value) {
                    match self.context_attr_index.get(&key) {
                        Some(&i) => self.out.attrs[i].1 = value,
                        None => {
                            self.context_attr_index
                                .insert(key.clone(), self.out.attrs.len());
                            self.out.attrs.push((key, value));
                        }
                    }
                }
                Role::Other
            }
            (Some(Role::Device), "channel") => {
                let id = self.require(at, name, attrs, "id");
                let output = match attrs.get("type") {
                    None => {
                        self.semantic_error(at, "<channel> has no 'type' attribute");
                        false
                    }
                    Some(t) if t.value == "input" => false,
                    Some(t) if t.value == "output" => true,
                    Some(t) => {
                        let message = format!(
                            "channel type must be 'input' or 'output', not '{}'",
                            t.value
                        );
                        self.semantic_error(t.at, message);
                        false
                    }
                };
                match id {
                    Some(id) if self.semantic.is_none() => {
                        self.channel = Some(ChannelData {
                            id,
                            name: attrs.value("name"),
                            label: attrs.value("label"),
                            output,
                            ..ChannelData::default()
                        });
                        Role::Channel
                    }
                    _ => Role::Other,
                }
            }
            (
                Some(Role::Device),
                "attribute" | "debug-attribute" | "buffer-attribute" | "event-attribute",
            ) => {
                if let Some(attr_name) = self.require(at, name, attrs, "name") {
                    let attr = AttrData {
                        name: attr_name,
                        filename: attrs.value("filename").unwrap_or_default(),
                        problem: None,
                    };
                    let buffers_seen = self.buffers_seen;
                    if let Some(dev) = self.device.as_mut() {
                        match name {
                            "attribute" => dev.attrs.push(AttrData {
                                filename: String::new(),
                                ..attr
                            }),
                            "debug-attribute" => dev.debug_attrs.push(AttrData {
                                filename: String::new(),
                                ..attr
                            }),
                            "event-attribute" => dev.event_attrs.push(attr),
                            // libiio 1.x: after a <buffer>, the legacy copies of its
                            // attributes are not read again.
                            _ if buffers_seen => {}
                            _ => dev.buffer_attrs.push(AttrData {
                                filename: String::new(),
                                ..attr
                            }),
                        }
                    }
                }
                Role::Other
            }
            (Some(Role::Device), "buffer") => {
                let index = attrs.get("index").and_then(|a| parse_c_unsigned(&a.value));
                match index {
                    Some(index) if index < MAX_BUFFERS => {
                        self.buffers_seen = true;
                        if let Some(dev) = self.device.as_mut() {
                            dev.buffer_count = dev.buffer_count.max(index + 1);
                        }
                        Role::Buffer(index)
                    }
                    _ => {
                        self.semantic_error(at, "<buffer> needs an 'index' below 256");
                        Role::Other
                    }
                }
            }
            (Some(Role::Buffer(index)), "attribute") => {
                if let Some(attr_name) = self.require(at, name, attrs, "name") {
                    // The snapshot keeps buffer 0's attributes (libiio 0.x's buffer).
                    if let (0, Some(dev)) = (index, self.device.as_mut()) {
                        if !dev.buffer_attrs.iter().any(|a| a.name == attr_name) {
                            dev.buffer_attrs.push(AttrData {
                                name: attr_name,
                                filename: String::new(),
                                problem: None,
                            });
                        }
                    }
                }
                Role::Other
            }
            (Some(Role::Channel), "event-attribute") => {
                if let Some(attr_name) = self.require(at, name, attrs, "name") {
                    let filename = attrs.value("filename").unwrap_or_else(|| attr_name.clone());
                    if let Some(chn) = self.channel.as_mut() {
                        chn.event_attrs.push(AttrData {
                            name: attr_name,
                            filename,
                            problem: None,
                        });
                    }
                }
                Role::Other
            }
            (Some(Role::Channel), "attribute") => {
                if let Some(attr_name) = self.require(at, name, attrs, "name") {
                    let filename = attrs.value("filename").unwrap_or_else(|| attr_name.clone());
                    if let Some(chn) = self.channel.as_mut() {
                        chn.attrs.push(AttrData {
                            name: attr_name,
                            filename,
                            problem: None,
                        });
                    }
                }
                Role::Other
            }
            (Some(Role::Channel), "scan-element") => {
                if let Some(scan) = self.scan_element(at, attrs) {
                    if let Some(chn) = self.channel.as_mut() {
                        chn.scan = Some(scan);
                    }
                }
                Role::Other
            }
            _ => Role::Other,
        }
    }

    fn start_context(&mut self, attrs: &Attrs<'_>) {
        let description = attrs.value("description");
        self.out.has_description = description.is_some();
        self.out.description = description.unwrap_or_default();
        let mut number = |key: &str| -> u32 {
            match attrs.get(key) {
                None => 0,
                Some(a) => match a.value.trim().parse::<u32>() {
                    Ok(v) if a.value.trim().bytes().all(|b| b.is_ascii_digit()) => v,
                    _ => {
                        let message = format!("{key} '{}' is not a non-negative integer", a.value);
                        self.semantic_error(a.at, message);
                        0
                    }
                },
            }
        };
        let major = number("version-major");
        let minor = number("version-minor");
        // A source without a version tag has none (libiio then reports its own); the tag
        // is kept whole (libiio 0.24 cuts it to 7 bytes, 1.x to 8: the writers do).
        self.out.version = attrs.value("version-git").map(|git| (major, minor, git));
    }

    fn scan_element(&mut self, at: usize, attrs: &Attrs<'_>) -> Option<ScanData> {
        let index_attr = attrs.get("index");
        let format_attr = attrs.get("format");
        let (index_attr, format_attr) = match (index_attr, format_attr) {
            (Some(i), Some(f)) => (i, f),
            (None, _) => {
                self.semantic_error(at, "<scan-element> has no 'index' attribute");
                return None;
            }
            (_, None) => {
                self.semantic_error(at, "<scan-element> has no 'format' attribute");
                return None;
            }
        };
        let index = match parse_c_unsigned(&index_attr.value) {
            Some(i) => i,
            None => {
                let message = format!(
                    "scan index '{}' is not a non-negative 32-bit integer",
                    index_attr.value
                );
                self.semantic_error(index_attr.at, message);
                return None;
            }
        };
        if format_attr
            .value
            .starts_with(|c: char| c.is_ascii_whitespace())
        {
            // libiio's sscanf reads the first character as the byte-order letter.
            let message = format!(
                "data format '{}' starts with white space",
                format_attr.value
            );
            self.semantic_error(format_attr.at, message);
            return None;
        }
        let format = match DataFormat::parse(&format_attr.value) {
            Ok(f) => f,
            Err(e) => {
                self.semantic_error(format_attr.at, e.to_string());
                return None;
            }
        };
        let scale = match attrs.get("scale") {
            None => None,
            Some(a) => match parse_c_float(&a.value) {
                Some(v) => Some(f64::from(v)),
                None => {
                    let message = format!("scale '{}' is not a number", a.value);
                    self.semantic_error(a.at, message);
                    return None;
                }
            },
        };
        Some(ScanData {
            index: Ok(index),
            format_text: format.to_string(),
            format: Some(format),
            scale,
            enable_file: String::new(),
        })
    }

    /// The value of a required attribute; records an error when it is missing.
    fn require(
        &mut self,
        at: usize,
        element: &str,
        attrs: &Attrs<'_>,
        key: &str,
    ) -> Option<String> {
        let value = attrs.value(key);
        if value.is_none() {
            self.semantic_error(at, format!("<{element}> has no '{key}' attribute"));
        }
        value
    }

    /// An element closes: a finished channel goes to its device, a finished device to the
    /// context.
    fn end(&mut self, role: Role) {
        if self.semantic.is_some() {
            return;
        }
        match role {
            Role::Channel => {
                if let (Some(chn), Some(dev)) = (self.channel.take(), self.device.as_mut()) {
                    dev.channels.push(chn);
                }
            }
            Role::Device => {
                self.buffers_seen = false;
                if let Some(mut dev) = self.device.take() {
                    reorder_channels(&mut dev.channels);
                    if dev.buffer_count == 0 && dev.channels.iter().any(|c| c.scan.is_some()) {
                        dev.buffer_count = 1;
                    }
                    self.out.devices.push(dev);
                }
            }
            Role::Context | Role::Buffer(_) | Role::Other => {}
        }
    }
}

/// libiio 0.24's channel order: scan elements by index (equal indexes by shift), then the
/// others; a stable sort, as 0.24's bubble sort is.
pub(super) fn reorder_channels(channels: &mut [ChannelData]) {
    channels.sort_by_key(|c| match &c.scan {
        Some(ScanData {
            index: Ok(index),
            format,
            ..
        }) => (false, *index, format.map_or(0, |f| f.shift)),
        _ => (true, 0, 0),
    });
}

/// What a reference stands for: one character, or the text of a declared entity.
enum Resolved<'e> {
    Char(char),
    Text(&'e str),
}

/// A scan index the way libiio reads it (`strtoll(s, NULL, 0)` over the whole string,
/// trailing white space allowed), as a non-negative 32-bit number.
fn parse_c_unsigned(s: &str) -> Option<u32> {
    let t = s.trim_end_matches(|c: char| c.is_ascii_whitespace());
    crate::strtol::strtoll_whole(t).and_then(|v| u32::try_from(v).ok())
}

/// A float the way `strtof` reads a whole string (surrounding white space allowed), as a C
/// `float`. Values that overflow the type are refused, as `strtof`'s ERANGE is by libiio.
fn parse_c_float(s: &str) -> Option<f32> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let v: f32 = t.parse().ok()?;
    if v.is_infinite() && !t.to_ascii_lowercase().contains("inf") {
        return None;
    }
    Some(v)
}

fn quick_xml_message(e: &QxError) -> String {
    match e {
        QxError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!("end tag </{found}> does not match the open element <{expected}>")
        }
        QxError::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("end tag </{name}> without a matching start tag")
        }
        QxError::IllFormed(IllFormedError::DoubleHyphenInComment) => {
            "'--' is not allowed inside a comment".into()
        }
        QxError::IllFormed(IllFormedError::UnclosedReference) => {
            "'&' must start a reference such as &amp; (no ';' found)".into()
        }
        QxError::IllFormed(IllFormedError::MissingDoctypeName) => {
            "the <!DOCTYPE declaration has no name".into()
        }
        other => other.to_string(),
    }
}
