//! Walking `/sys/bus/iio/devices` (and debugfs) into a [`ContextData`] snapshot with the
//! rules of [`super::names`]. A scan always completes: an unreadable or malformed item is
//! recorded on the item (and reported when the item is used); a device that vanishes while
//! it is being scanned is left out.

use super::local::{LocalBackend, LocalPaths};
use super::names::{self, SharedMatch};
use crate::attr_io::read_attr_file;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::format::DataFormat;
use crate::model::{AttrData, ChannelData, ContextData, DeviceData, ScanData};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

/// Most entries read from one directory; a real IIO device has a few hundred.
const MAX_DIR_ENTRIES: usize = 65_536;

/// Builds a local context from the files under `paths`.
pub(crate) fn open(paths: LocalPaths) -> Result<(ContextData, Arc<dyn Backend>)> {
    let (data, buffer_dirs) = scan(&paths)?;
    let backend = LocalBackend {
        paths,
        buffer_dirs: Arc::new(buffer_dirs),
    };
    Ok((data, Arc::new(backend)))
}

/// What readdir gave for one entry.
struct Entry {
    name: OsString,
    is_dir: bool,
    is_file: bool,
}

/// Lists a directory in kernfs order, following symlinks for the entry type (the bus
/// directory holds symlinks to device directories). `Ok(None)` when it does not exist.
fn list_dir(path: &Path) -> Result<Option<Vec<Entry>>> {
    let mut out = list_dir_as_is(path)?;
    if let Some(out) = &mut out {
        out.sort_by(|a, b| {
            let (a, b) = (a.name.as_bytes(), b.name.as_bytes());
            names::kernfs_name_hash(a)
                .cmp(&names::kernfs_name_hash(b))
                .then_with(|| a.cmp(b))
        });
    }
    Ok(out)
}

/// Lists a directory in the order readdir() gives, as [`list_dir`] otherwise does. For
/// debugfs, which is not kernfs: it lists the newest file first, and libiio keeps that order.
fn list_dir_as_is(path: &Path) -> Result<Option<Vec<Entry>>> {
    let rd = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        if out.len() == MAX_DIR_ENTRIES {
            return Err(Error::Malformed {
                what: path.display().to_string(),
                reason: format!("more than {MAX_DIR_ENTRIES} entries"),
            });
        }
        let name = entry.file_name();
        if name.as_bytes().starts_with(b".") {
            continue;
        }
        // Directories are followed through links (the bus directory links to the device
        // directories); attribute files are not: sysfs has no links to regular files, and
        // in a tree served to the network (`ferroio serve -u local:PATH`) such a link could
        // reach any file of the host. A dangling or vanished entry is neither file nor dir.
        let link = entry.file_type().is_ok_and(|t| t.is_symlink());
        let (is_dir, is_file) = match std::fs::metadata(entry.path()) {
            Ok(m) => (m.is_dir(), m.is_file() && !link),
            Err(_) => (false, false),
        };
        out.push(Entry {
            name,
            is_dir,
            is_file,
        });
    }
    Ok(Some(out))
}

/// A file name as UTF-8, or the lossy form plus the problem to record.
fn utf8_name(name: &OsString) -> (String, Option<String>) {
    match name.to_str() {
        Some(s) => (s.to_string(), None),
        None => (
            name.to_string_lossy().into_owned(),
            Some("file name is not UTF-8".to_string()),
        ),
    }
}

fn scan(paths: &LocalPaths) -> Result<(ContextData, HashMap<String, String>)> {
    let bus = paths.devices_dir();
    let entries = list_dir(&bus)?.ok_or_else(|| {
        Error::io(
            &bus,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no IIO devices directory (is the IIO subsystem enabled?)",
            ),
        )
    })?;
    let mut devices = Vec::new();
    let mut buffer_dirs = HashMap::new();
    for entry in entries.iter().filter(|e| e.is_dir) {
        let Some(id) = entry.name.to_str() else {
            // A device id that is not UTF-8 cannot be addressed by any API; leave it out.
            continue;
        };
        match scan_device(paths, id) {
            Ok(Some((dev, buffer_dir))) => {
                if let Some(dir) = buffer_dir {
                    buffer_dirs.insert(dev.id.clone(), dir);
                }
                devices.push(dev);
            }
            // Vanished while being scanned.
            Ok(None) => {}
            Err(e) => return Err(e),
        }
    }
    devices.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));

    let mut attrs = Vec::new();
    let (description, release) = uname_description();
    if paths.uri == "local:" {
        // The attributes this backend sets itself are not the file's to replace (configfs
        // triggers find their tree through `uri`).
        attrs.extend(
            ini_context_attrs(Path::new("/etc/libiio.ini"))
                .into_iter()
                .filter(|(k, _)| k != "uri" && k != "local,kernel"),
        );
    }
    attrs.push(("local,kernel".to_string(), release));
    attrs.push(("uri".to_string(), paths.uri.clone()));
    let data = ContextData {
        has_description: true,
        name: "local".into(),
        description,
        // The library's own, as libiio reports for local contexts (0.24's or 1.x's,
        // whichever XML is written: `xml::write`).
        version: None,
        attrs,
        devices,
    };
    Ok((data, buffer_dirs))
}

/// `uname` fields joined by spaces (libiio's local description) and the release.
fn uname_description() -> (String, String) {
    let u = rustix::system::uname();
    let f = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
    let release = f(u.release());
    (
        format!(
            "{} {} {} {} {}",
            f(u.sysname()),
            f(u.nodename()),
            release,
            f(u.version()),
            f(u.machine())
        ),
        release,
    )
}

/// The `[Context Attributes]` section of libiio's `/etc/libiio.ini`, when present.
fn ini_context_attrs(path: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut in_section = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[Context Attributes]";
        } else if in_section && !line.starts_with(';') && !line.starts_with('#') {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}

/// Channel under construction: its data and the scan-element files met for it.
struct ChannelBuild {
    data: ChannelData,
    /// `(short name, path relative to the device dir)` of `_en`, `_index`, `_type` files.
    scan_files: Vec<(String, String)>,
}

fn find_or_add<'a>(
    chans: &'a mut Vec<ChannelBuild>,
    id: &str,
    output: bool,
) -> &'a mut ChannelBuild {
    let pos = chans
        .iter()
        .position(|c| c.data.id == id && c.data.output == output);
    let i = match pos {
        Some(i) => i,
        None => {
            chans.push(ChannelBuild {
                data: ChannelData {
                    id: id.to_string(),
                    output,
                    ..Default::default()
                },
                scan_files: Vec::new(),
            });
            chans.len() - 1
        }
    };
    &mut chans[i]
}

fn add_channel_attr(chans: &mut Vec<ChannelBuild>, file: &str, problem: Option<String>) {
    let Some(id) = names::channel_id(file) else {
        return;
    };
    let output = file.starts_with("out_");
    let chan = find_or_add(chans, id, output);
    chan.data.attrs.push(AttrData {
        name: names::short_attr_name(file).to_string(),
        filename: file.to_string(),
        problem,
    });
}

/// Scans one device directory. `Ok(None)` when the directory disappeared.
fn scan_device(paths: &LocalPaths, id: &str) -> Result<Option<(DeviceData, Option<String>)>> {
    let dir = paths.device_dir(id);
    let Some(entries) = list_dir(&dir)? else {
        return Ok(None);
    };
    let mut dev = DeviceData {
        id: id.to_string(),
        ..Default::default()
    };
    let mut chans: Vec<ChannelBuild> = Vec::new();
    // Device-directory files that are not channel attributes on the first pass.
    let mut plain: Vec<AttrData> = Vec::new();
    let mut buffer_numbers = Vec::new();

    for e in &entries {
        let (name, problem) = utf8_name(&e.name);
        if e.is_dir {
            if let Some(n) = name
                .strip_prefix("buffer")
                .and_then(|n| n.parse::<u32>().ok())
            {
                buffer_numbers.push(n);
            }
            continue;
        }
        if !e.is_file {
            continue;
        }
        match name.as_str() {
            "dev" | "uevent" => {}
            "name" => dev.name = read_attr_file(&dir.join("name")).ok(),
            "label" => dev.label = read_attr_file(&dir.join("label")).ok(),
            _ if names::is_channel(&name, true) => add_channel_attr(&mut chans, &name, problem),
            _ => plain.push(AttrData {
                filename: name.clone(),
                name,
                problem,
            }),
        }
    }

    // Buffer 0: the legacy `buffer/` + `scan_elements/` layout, or `buffer0/` alone.
    let has_legacy_buffer = entries.iter().any(|e| e.is_dir && e.name == "buffer");
    let buffer_dir = if has_legacy_buffer {
        Some("buffer".to_string())
    } else if buffer_numbers.contains(&0) {
        Some("buffer0".to_string())
    } else {
        None
    };
    dev.buffer_count = buffer_numbers.len().max(usize::from(has_legacy_buffer)) as u32;
    if let Some(bdir) = &buffer_dir {
        if let Some(files) = list_dir(&dir.join(bdir))? {
            for f in files.iter().filter(|f| f.is_file) {
                let (name, problem) = utf8_name(&f.name);
                let is_scan_file = names::is_channel(&name, false)
                    && (name.ends_with("_en")
                        || name.ends_with("_index")
                        || name.ends_with("_type"));
                if matches!(name.as_str(), "length" | "enable" | "watermark") || is_scan_file {
                    continue;
                }
                dev.buffer_attrs.push(AttrData {
                    filename: name.clone(),
                    name,
                    problem,
                });
            }
        }
    }

    // Scan elements: `scan_elements/`, or buffer0's own copies on kernels without it.
    let scan_dir = if entries
        .iter()
        .any(|e| e.is_dir && e.name == "scan_elements")
    {
        Some("scan_elements")
    } else if buffer_dir.as_deref() == Some("buffer0") {
        Some("buffer0")
    } else {
        None
    };
    if let Some(sdir) = scan_dir {
        if let Some(files) = list_dir(&dir.join(sdir))? {
            for f in files.iter().filter(|f| f.is_file) {
                let Some(name) = f.name.to_str() else {
                    continue;
                };
                let Some(cid) = names::channel_id(name) else {
                    continue;
                };
                let short = names::short_attr_name(name);
                if !(short.ends_with("en") || short.ends_with("index") || short.ends_with("type")) {
                    continue;
                }
                let chan = find_or_add(&mut chans, cid, name.starts_with("out_"));
                chan.scan_files
                    .push((short.to_string(), format!("{sdir}/{name}")));
            }
        }
    }

    // Extended names, then the scan-element files.
    for c in &mut chans {
        let shorts: Vec<&str> = c
            .data
            .attrs
            .iter()
            .map(|a| a.name.as_str())
            .chain(c.scan_files.iter().map(|(s, _)| s.as_str()))
            .collect();
        let ext = names::extended_name(&shorts).map(str::to_string);
        if let Some(ext) = &ext {
            for a in &mut c.data.attrs {
                a.name = names::strip_extended_name(&a.name, Some(ext)).to_string();
            }
            for (s, _) in &mut c.scan_files {
                *s = names::strip_extended_name(s, Some(ext)).to_string();
            }
        }
        c.data.name = ext;
        if !c.scan_files.is_empty() {
            c.data.scan = Some(scan_element(&dir, &c.scan_files));
        }
    }

    // libiio 1.x reads the event files now, before index-less channels exist: only these
    // channels can own event attributes.
    let event_owners: Vec<(String, bool)> = chans
        .iter()
        .map(|c| (c.data.id.clone(), c.data.output))
        .collect();

    // Shared attributes: named matches first, then plain shared ones; the rest stay
    // device attributes unless they are index-less channels.
    let mut datas: Vec<ChannelBuild> = chans;
    let mut device_attrs = Vec::new();
    for attr in plain {
        let mut matched = false;
        for level in [SharedMatch::Named, SharedMatch::Shared] {
            for c in datas.iter_mut() {
                if names::shared_match(&c.data, &attr.name) == level {
                    matched = true;
                    let short = names::short_attr_name(&attr.name);
                    let short = names::strip_extended_name(short, c.data.name.as_deref());
                    c.data.attrs.push(AttrData {
                        name: short.to_string(),
                        filename: attr.filename.clone(),
                        problem: attr.problem.clone(),
                    });
                }
            }
            if matched {
                break;
            }
        }
        if !matched {
            device_attrs.push(attr);
        }
    }
    let mut remaining = Vec::new();
    for attr in device_attrs {
        if names::leftover_is_channel(&attr.name) {
            add_channel_attr(&mut datas, &attr.name, attr.problem);
        } else {
            remaining.push(attr);
        }
    }
    dev.attrs = remaining;

    let mut channels: Vec<ChannelData> = datas.into_iter().map(|c| c.data).collect();
    // A shared scale file (`in_voltage_scale`) serves many channels: read it once.
    let mut scales: HashMap<String, Option<f64>> = HashMap::new();
    for c in &mut channels {
        names::sort_attrs(&mut c.attrs);
        if let Some(f) = c.attrs.iter().find(|a| a.name == "label") {
            c.label = read_attr_file(&dir.join(&f.filename)).ok();
        }
        // libiio records the scale of scan elements when the context is created.
        if let Some(scan) = &mut c.scan {
            if let Some(f) = c.attrs.iter().find(|a| a.name == "scale") {
                scan.scale = *scales.entry(f.filename.clone()).or_insert_with(|| {
                    read_attr_file(&dir.join(&f.filename))
                        .ok()
                        .and_then(|t| t.trim().parse::<f64>().ok())
                });
            }
        }
    }
    names::order_channels(&mut channels);
    dev.channels = channels;
    names::sort_attrs(&mut dev.attrs);
    names::sort_attrs(&mut dev.buffer_attrs);

    // Debug attributes, in directory order: libiio does not sort them (real iiod XML lists
    // `direct_reg_access`, created first, after the driver's own debugfs files).
    let debug_dir = paths.debugfs.join("iio").join(id);
    if let Ok(Some(files)) = list_dir_as_is(&debug_dir) {
        for f in files.iter().filter(|f| f.is_file) {
            let (name, problem) = utf8_name(&f.name);
            dev.debug_attrs.push(AttrData {
                filename: name.clone(),
                name,
                problem,
            });
        }
    }

    // Event attributes (`events/`), as libiio 1.x lists them: a file that starts with
    // `in_`/`out_` followed by the id of a channel of the first pass (libiio reads them
    // before index-less channels and extended names exist) is that channel's, named by
    // what follows the id and modifier; any other is the device's.
    if let Ok(Some(files)) = list_dir(&dir.join("events")) {
        for f in files.iter().filter(|f| f.is_file) {
            let (file, problem) = utf8_name(&f.name);
            let owner = event_channel(&event_owners, &file).and_then(|(id, out)| {
                dev.channels
                    .iter()
                    .position(|c| c.id == id && c.output == out)
            });
            match owner {
                Some(ci) => {
                    let short = names::short_attr_name(&file).to_string();
                    dev.channels[ci].event_attrs.push(AttrData {
                        name: short,
                        filename: file,
                        problem,
                    });
                }
                None => dev.event_attrs.push(AttrData {
                    filename: file.clone(),
                    name: file,
                    problem,
                }),
            }
        }
        names::sort_attrs(&mut dev.event_attrs);
        for c in &mut dev.channels {
            names::sort_attrs(&mut c.event_attrs);
        }
    }

    Ok(Some((dev, buffer_dir)))
}

/// The channel (id, output) among `channels` an event file belongs to (libiio 1.x's rule:
/// the file starts with `in_` or `out_` and a channel's id comes first right after it;
/// then the channel whose id the name carries, in its direction). `None`: a device-level
/// event attribute (also where libiio would find no channel and refuse the device).
fn event_channel<'a>(channels: &'a [(String, bool)], file: &str) -> Option<(&'a str, bool)> {
    let starts_channel = channels.iter().any(|(id, _)| {
        (file.starts_with("in_") || file.starts_with("out_"))
            && file.find(id.as_str()).is_some_and(|at| at == 3 || at == 4)
    });
    if !starts_channel {
        return None;
    }
    let id = names::channel_id(file)?;
    let output = file.starts_with('o');
    channels
        .iter()
        .find(|(c, o)| c == id && *o == output)
        .map(|(c, o)| (c.as_str(), *o))
}

/// Reads a channel's `_index`, `_type` and notes its `_en` file.
fn scan_element(dir: &Path, files: &[(String, String)]) -> ScanData {
    let mut scan = ScanData {
        index: Err("no _index file".into()),
        format_text: String::new(),
        format: None,
        scale: None,
        enable_file: String::new(),
    };
    for (short, rel) in files {
        match short.as_str() {
            "index" => {
                scan.index = match read_attr_file(&dir.join(rel)) {
                    Ok(t) => t
                        .trim()
                        .parse::<u32>()
                        .map_err(|_| format!("{rel}: '{}' is not a scan index", t.trim())),
                    Err(e) => Err(e.to_string()),
                }
            }
            "type" => match read_attr_file(&dir.join(rel)) {
                Ok(t) if t.trim().is_empty() => scan.format_text = format!("<empty file {rel}>"),
                Ok(t) => {
                    scan.format = DataFormat::parse(&t).ok();
                    scan.format_text = t.trim().to_string();
                }
                Err(e) => scan.format_text = format!("<unreadable: {e}>"),
            },
            "en" => scan.enable_file = rel.clone(),
            _ => {}
        }
    }
    if scan.format_text.is_empty() {
        scan.format_text = "<no _type file>".into();
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A sysfs root with one device `iio:device0` whose files are `(path, content)`.
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = root.path().join("bus/iio/devices/iio:device0").join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        root
    }

    fn scan_tree(root: &Path) -> ContextData {
        scan(&LocalPaths::under(root)).unwrap().0
    }

    #[test]
    fn an_empty_type_file_is_reported_as_such() {
        let root = tree(&[
            ("name", "adc\n"),
            ("scan_elements/in_voltage0_index", "0\n"),
            ("scan_elements/in_voltage0_type", ""),
            ("scan_elements/in_voltage1_index", "1\n"),
        ]);
        let data = scan_tree(root.path());
        let chans = &data.devices[0].channels;
        let v0 = chans.iter().find(|c| c.id == "voltage0").unwrap();
        let v0 = v0.scan.as_ref().unwrap();
        assert_eq!(v0.format, None);
        assert_eq!(
            v0.format_text,
            "<empty file scan_elements/in_voltage0_type>"
        );
        let v1 = chans.iter().find(|c| c.id == "voltage1").unwrap();
        assert_eq!(v1.scan.as_ref().unwrap().format_text, "<no _type file>");
    }

    #[test]
    fn debug_attributes_keep_the_directory_order() {
        let root = tree(&[("name", "adc\n")]);
        let dbg = root.path().join("kernel/debug/iio/iio:device0");
        fs::create_dir_all(&dbg).unwrap();
        for name in [
            "direct_reg_access",
            "pseudorandom_err_check",
            "b",
            "a",
            "zz",
        ] {
            fs::write(dbg.join(name), "0\n").unwrap();
        }
        let listed: Vec<String> = fs::read_dir(&dbg)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let data = scan_tree(root.path());
        let got: Vec<String> = data.devices[0]
            .debug_attrs
            .iter()
            .map(|a| a.name.clone())
            .collect();
        assert_eq!(got, listed);
    }
}
