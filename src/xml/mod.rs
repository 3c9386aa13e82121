//! libiio's XML context description: parsing (0.x DTD and the 1.x one with event attributes)
//! into a [`ContextData`](crate::model::ContextData) snapshot, writing a snapshot back
//! byte-identical to what libiio's `iio_genxml` writes, and the backend of `xml:` contexts
//! (structure only, no values).
//!
//! `decode.rs` turns bytes into text (UTF-8, UTF-16, ISO-8859-1), `lex.rs` holds XML's
//! lexical rules (characters, names, references, positions), `parse.rs` maps a document
//! to the model the way libiio 0.24's `xml.c` keeps it (what, and in which order), `dtd.rs`
//! checks the document type declaration, `write.rs` follows 0.24's `iio_context_create_xml`.
//! All are pure; the only I/O of an `xml:` context is
//! reading the file, done by [`crate::Context::from_xml_file`].

use crate::attr_loc::AttrLoc;
use crate::backend::Backend;
use crate::error::{Error, Result};
use std::sync::Arc;

mod decode;
mod dtd;
mod lex;
mod parse;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use parse::parse;
pub(crate) use write::{version_of, write, write_v1, write_v1_unsorted};

/// The backend of `xml:` contexts: the description has no values, so attribute access and
/// triggers fail with ENOSYS as in libiio.
#[derive(Debug)]
pub(crate) struct XmlBackend {
    source: String,
}

impl XmlBackend {
    pub(crate) fn new(source: String) -> Self {
        XmlBackend { source }
    }
}

impl Backend for XmlBackend {
    fn kind(&self) -> &'static str {
        "xml"
    }

    fn read_attr(&self, loc: &AttrLoc<'_>) -> Result<String> {
        Err(Error::Unsupported {
            backend: "xml",
            what: format!("reading attribute '{}' of {}", loc.name(), loc.owner()),
        })
    }
    fn write_attr(&self, loc: &AttrLoc<'_>, _value: &str) -> Result<()> {
        Err(Error::Unsupported {
            backend: "xml",
            what: format!("writing attribute '{}' of {}", loc.name(), loc.owner()),
        })
    }
    fn current_trigger(&self, dev: &str) -> Result<Option<String>> {
        Err(Error::Unsupported {
            backend: "xml",
            what: format!("reading the trigger of device {dev}"),
        })
    }
    fn set_trigger(&self, dev: &str, _trigger: Option<&str>) -> Result<()> {
        Err(Error::Unsupported {
            backend: "xml",
            what: format!("setting the trigger of device {dev}"),
        })
    }
    fn try_clone(&self) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(XmlBackend::new(self.source.clone())))
    }
}
