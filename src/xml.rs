//! libiio's XML context description: parsing (0.x DTD and the 1.x one with event attributes)
//! into a [`ContextData`] snapshot, writing a snapshot back byte-identical to what libiio's
//! `iio_genxml` writes, and the backend of `xml:` contexts (structure only, no values).

use crate::backend::{AttrLoc, Backend};
use crate::error::{Error, Result};
use crate::model::ContextData;
use std::sync::Arc;

/// Parses libiio context XML. `source` names the input in error messages.
pub(crate) fn parse(_bytes: &[u8], source: &str) -> Result<ContextData> {
    Err(Error::Xml {
        source_name: source.to_string(),
        line: 1,
        column: 1,
        message: "XML parsing is being written".into(),
    })
}

/// Writes a snapshot as libiio 0.24's `iio_genxml` does.
pub(crate) fn write(_data: &ContextData) -> String {
    String::new()
}

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
    fn name(&self) -> &'static str {
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
