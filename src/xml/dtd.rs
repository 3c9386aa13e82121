//! The document type declaration (`<!DOCTYPE context [ ... ]>`) of a context file: checked
//! for well-formedness the way libxml2 reads it before libiio sees the document, and
//! otherwise not interpreted (libiio ignores validity). Internal general entities whose
//! value is plain text are remembered so that references to them can be expanded.
//!
//! The checker is a small recursive-descent reader of XML 1.0's `doctypedecl` production;
//! the only recursion is into nested content-model groups, bounded by [`MAX_GROUP_DEPTH`].

use super::lex::{is_name_char, is_name_start, is_space_char as is_space, resolve_builtin};
use std::collections::HashMap;

/// Deepest nesting of `(...)` groups accepted in an `<!ELEMENT` content model.
const MAX_GROUP_DEPTH: usize = 64;

/// What the document type declaration declares that matters after it.
#[derive(Debug, Default)]
pub(super) struct Declared {
    /// General entities: name and replacement text (the literal with its character
    /// references expanded), `None` for external ones.
    pub(super) entities: HashMap<String, Option<String>>,
    /// Declared attributes by element: whether the type is tokenized or enumerated
    /// (`type (input|output)`) rather than `CDATA`. Values of those are normalised further
    /// (XML 1.0, 3.3.3).
    pub(super) tokenized: HashMap<String, HashMap<String, bool>>,
}

/// A problem at a byte offset of the document.
pub(super) type DtdError = (usize, String);

/// Reads the `<!DOCTYPE` declaration starting at byte `at` of `text`; returns the offset
/// just after its closing `>` and what it declares.
pub(super) fn read_doctype(text: &str, at: usize) -> Result<(usize, Declared), DtdError> {
    let mut r = DtdReader {
        text,
        pos: at,
        declared: Declared::default(),
    };
    r.doctype()?;
    Ok((r.pos, r.declared))
}

struct DtdReader<'t> {
    text: &'t str,
    pos: usize,
    declared: Declared,
}

impl<'t> DtdReader<'t> {
    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, DtdError> {
        Err((self.pos, message.into()))
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self.rest().starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, literal: &str, what: &str) -> Result<(), DtdError> {
        if self.eat(literal) {
            Ok(())
        } else {
            self.fail(format!("'{literal}' expected {what}"))
        }
    }

    /// Skips white space; tells whether there was any.
    fn space(&mut self) -> bool {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches(is_space);
        self.pos += rest.len() - trimmed.len();
        trimmed.len() != rest.len()
    }

    fn require_space(&mut self, what: &str) -> Result<(), DtdError> {
        if self.space() {
            Ok(())
        } else {
            self.fail(format!("white space required {what}"))
        }
    }

    /// A `Name` (or an `Nmtoken` when `token`).
    fn name(&mut self, token: bool, what: &str) -> Result<&'t str, DtdError> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(i, c)| !(is_name_char(c) && (token || i > 0 || is_name_start(c))))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return self.fail(format!("a name was expected {what}"));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    /// A quoted literal; returns its content.
    fn quoted(&mut self, what: &str) -> Result<&'t str, DtdError> {
        let quote = match self.peek() {
            Some(q @ ('"' | '\'')) => q,
            _ => return self.fail(format!("a quoted value was expected {what}")),
        };
        let rest = &self.rest()[1..];
        match rest.find(quote) {
            Some(len) => {
                self.pos += len + 2;
                Ok(&rest[..len])
            }
            None => self.fail(format!("unterminated quoted value {what}")),
        }
    }

    fn doctype(&mut self) -> Result<(), DtdError> {
        self.expect("<!DOCTYPE", "")?;
        self.require_space("after <!DOCTYPE")?;
        self.name(false, "for the document type")?;
        let had_space = self.space();
        if had_space && (self.rest().starts_with("SYSTEM") || self.rest().starts_with("PUBLIC")) {
            self.external_id(false)?;
            self.space();
        }
        if self.eat("[") {
            self.internal_subset()?;
            self.expect("]", "to close the internal subset")?;
            self.space();
        }
        self.expect(">", "to close <!DOCTYPE")
    }

    /// `SYSTEM "uri"` or `PUBLIC "id" "uri"` (the URI optional when `public_alone`, as in
    /// notation declarations).
    fn external_id(&mut self, public_alone: bool) -> Result<(), DtdError> {
        if self.eat("SYSTEM") {
            self.require_space("after SYSTEM")?;
            self.quoted("after SYSTEM")?;
        } else if self.eat("PUBLIC") {
            self.require_space("after PUBLIC")?;
            let id = self.quoted("after PUBLIC")?;
            let pubid_char = |c: char| {
                c.is_ascii_alphanumeric()
                    || matches!(c, ' ' | '\r' | '\n')
                    || "-'()+,./:=?;!*#@$_%".contains(c)
            };
            if !id.chars().all(pubid_char) {
                return self.fail("invalid character in a public identifier");
            }
            let save = self.pos;
            let spaced = self.space();
            if spaced && matches!(self.peek(), Some('"' | '\'')) {
                self.quoted("for the system identifier")?;
            } else if public_alone {
                self.pos = save;
            } else {
                return self.fail("a system identifier was expected after the public one");
            }
        } else {
            return self.fail("SYSTEM or PUBLIC expected");
        }
        Ok(())
    }

    fn internal_subset(&mut self) -> Result<(), DtdError> {
        loop {
            self.space();
            let rest = self.rest();
            if rest.starts_with(']') {
                return Ok(());
            } else if rest.starts_with("<!ELEMENT") {
                self.element_decl()?;
            } else if rest.starts_with("<!ATTLIST") {
                self.attlist_decl()?;
            } else if rest.starts_with("<!ENTITY") {
                self.entity_decl()?;
            } else if rest.starts_with("<!NOTATION") {
                self.notation_decl()?;
            } else if rest.starts_with("<!--") {
                self.comment()?;
            } else if rest.starts_with("<?") {
                self.pi()?;
            } else if rest.starts_with('%') {
                // libxml2 would expand it in place; its text would have to be read as
                // declarations. Refused rather than skipped unchecked.
                return self.fail("parameter-entity references are not supported in the DTD");
            } else if rest.is_empty() {
                return self.fail("unexpected end of input inside the DTD");
            } else {
                return self.fail("malformed markup declaration in the DTD");
            }
        }
    }

    fn comment(&mut self) -> Result<(), DtdError> {
        self.pos += "<!--".len();
        match self.rest().find("--") {
            Some(i) if self.rest()[i..].starts_with("-->") => {
                self.pos += i + 3;
                Ok(())
            }
            Some(i) => {
                self.pos += i;
                self.fail("'--' is not allowed inside a comment")
            }
            None => self.fail("unterminated comment in the DTD"),
        }
    }

    fn pi(&mut self) -> Result<(), DtdError> {
        self.pos += "<?".len();
        let target = self.name(false, "as processing-instruction target")?;
        if target.eq_ignore_ascii_case("xml") {
            return self.fail("'xml' is reserved as processing-instruction target");
        }
        match self.rest().find("?>") {
            Some(i) => {
                self.pos += i + 2;
                Ok(())
            }
            None => self.fail("unterminated processing instruction in the DTD"),
        }
    }

    fn element_decl(&mut self) -> Result<(), DtdError> {
        self.pos += "<!ELEMENT".len();
        self.require_space("after <!ELEMENT")?;
        self.name(false, "for the element")?;
        self.require_space("after the element name")?;
        if !(self.eat("EMPTY") || self.eat("ANY")) {
            if self.peek() != Some('(') {
                return self.fail("EMPTY, ANY or '(' expected");
            }
            self.content_group(0)?;
        }
        self.space();
        self.expect(">", "to close <!ELEMENT")
    }

    /// `(...)` of a content model, with its repetition suffix.
    fn content_group(&mut self, depth: usize) -> Result<(), DtdError> {
        if depth >= MAX_GROUP_DEPTH {
            return self.fail("content model nested too deeply");
        }
        self.expect("(", "")?;
        self.space();
        if depth == 0 && self.eat("#PCDATA") {
            // Mixed content: (#PCDATA | a | b)* or (#PCDATA)
            let mut names = 0;
            loop {
                self.space();
                if self.eat(")") {
                    break;
                }
                self.expect("|", "in mixed content")?;
                self.space();
                self.name(false, "in mixed content")?;
                names += 1;
            }
            if !self.eat("*") && names > 0 {
                return self.fail("mixed content with element names must end with ')*'");
            }
            return Ok(());
        }
        let mut separator = None;
        loop {
            if self.peek() == Some('(') {
                self.content_group(depth + 1)?;
            } else {
                self.name(false, "in a content model")?;
                let _ = self.eat("?") || self.eat("*") || self.eat("+");
            }
            self.space();
            if self.eat(")") {
                break;
            }
            let sep = match self.peek() {
                Some(c @ ('|' | ',')) => c,
                _ => return self.fail("',', '|' or ')' expected in a content model"),
            };
            if separator.is_some_and(|s| s != sep) {
                return self.fail("',' and '|' mixed in one content-model group");
            }
            separator = Some(sep);
            self.pos += 1;
            self.space();
        }
        let _ = self.eat("?") || self.eat("*") || self.eat("+");
        Ok(())
    }

    fn attlist_decl(&mut self) -> Result<(), DtdError> {
        self.pos += "<!ATTLIST".len();
        self.require_space("after <!ATTLIST")?;
        let element = self.name(false, "for the element")?;
        loop {
            let spaced = self.space();
            if self.eat(">") {
                return Ok(());
            }
            if !spaced {
                return self.fail("white space required before an attribute definition");
            }
            let attribute = self.name(false, "for the attribute")?;
            self.require_space("after the attribute name")?;
            let cdata = self.att_type()?;
            // The first declaration of an attribute binds (XML 1.0, 3.3).
            self.declared
                .tokenized
                .entry(element.to_string())
                .or_default()
                .entry(attribute.to_string())
                .or_insert(!cdata);
            self.require_space("after the attribute type")?;
            self.default_decl()?;
        }
    }

    /// An attribute type; tells whether it is `CDATA`.
    fn att_type(&mut self) -> Result<bool, DtdError> {
        const TYPES: [&str; 8] = [
            "CDATA", "IDREFS", "IDREF", "ID", "ENTITIES", "ENTITY", "NMTOKENS", "NMTOKEN",
        ];
        for t in TYPES {
            if self.eat(t) {
                return Ok(t == "CDATA");
            }
        }
        let notation = self.eat("NOTATION");
        if notation {
            self.require_space("after NOTATION")?;
        }
        self.expect("(", "for an attribute type")?;
        loop {
            self.space();
            self.name(!notation, "in an enumeration")?;
            self.space();
            if self.eat(")") {
                return Ok(false);
            }
            if !self.eat("|") {
                return self.fail("'|' or ')' expected in an enumeration");
            }
        }
    }

    fn default_decl(&mut self) -> Result<(), DtdError> {
        if self.eat("#REQUIRED") || self.eat("#IMPLIED") {
            return Ok(());
        }
        if self.eat("#FIXED") {
            self.require_space("after #FIXED")?;
        }
        let start = self.pos + 1;
        let value = self.quoted("as the attribute default")?;
        if let Some(i) = value.find('<') {
            return Err((start + i, "'<' is not allowed in an attribute value".into()));
        }
        self.check_references(value, start)
    }

    fn entity_decl(&mut self) -> Result<(), DtdError> {
        self.pos += "<!ENTITY".len();
        self.require_space("after <!ENTITY")?;
        let parameter = self.eat("%");
        if parameter {
            self.require_space("after '%'")?;
        }
        let name = self.name(false, "for the entity")?;
        self.require_space("after the entity name")?;
        let value = if matches!(self.peek(), Some('"' | '\'')) {
            let start = self.pos + 1;
            let value = self.quoted("as the entity value")?;
            if let Some(i) = value.find('%') {
                return Err((
                    start + i,
                    "parameter-entity references are not allowed inside declarations of the \
                     internal subset"
                        .into(),
                ));
            }
            self.check_references(value, start)?;
            Some(expand_char_refs(value))
        } else {
            self.external_id(false)?;
            let save = self.pos;
            if !parameter && self.space() && self.eat("NDATA") {
                self.require_space("after NDATA")?;
                self.name(false, "after NDATA")?;
            } else {
                self.pos = save;
            }
            None
        };
        self.space();
        self.expect(">", "to close <!ENTITY")?;
        // The first declaration of an entity binds (XML 1.0, 4.2).
        if !parameter {
            self.declared
                .entities
                .entry(name.to_string())
                .or_insert(value);
        }
        Ok(())
    }

    fn notation_decl(&mut self) -> Result<(), DtdError> {
        self.pos += "<!NOTATION".len();
        self.require_space("after <!NOTATION")?;
        self.name(false, "for the notation")?;
        self.require_space("after the notation name")?;
        self.external_id(true)?;
        self.space();
        self.expect(">", "to close <!NOTATION")
    }

    /// References inside a literal must be well-formed (`&name;`, `&#N;`).
    fn check_references(&self, value: &str, start: usize) -> Result<(), DtdError> {
        let mut rest = value;
        let mut offset = start;
        while let Some(i) = rest.find('&') {
            let after = &rest[i + 1..];
            let end = after
                .find(';')
                .ok_or((offset + i, "reference without ';'".to_string()))?;
            let name = &after[..end];
            let ok = resolve_builtin(name).is_ok();
            if !ok {
                return Err((
                    offset + i,
                    format!("malformed reference '{}'", &rest[i..i + end + 2]),
                ));
            }
            offset += i + end + 2;
            rest = &after[end + 1..];
        }
        Ok(())
    }
}

/// An entity literal's replacement text: character references expanded, entity references
/// kept (XML 1.0, 4.5). The literal was checked by `check_references`.
fn expand_char_refs(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').map_or(rest.len(), |e| i + e);
        out.extend(resolve_builtin(&rest[i + 1..end]).ok().flatten());
        rest = rest.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}
