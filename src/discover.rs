//! Finding contexts, as libiio's `iio_scan` (and `iio_info -S` / `-a`) does: the local
//! machine's IIO devices and the iiod servers that announce themselves with DNS-SD
//! (`_iio._tcp` over multicast DNS, see [`crate::network::mdns`]). Each result carries the
//! URI to open it with and libiio's description of it.

use crate::error::{Error, Result};
use crate::network::mdns;
use std::path::Path;
use std::time::Duration;

/// How long a network scan listens for answers (Avahi, which libiio asks, reports after
/// about a second too).
pub const DEFAULT_SCAN_WINDOW: Duration = Duration::from_millis(1500);

/// A context [`scan`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextInfo {
    /// The URI that opens it (`local:`, `ip:board.local`, `ip:board.local:1234`).
    pub uri: String,
    /// libiio's description of it (`(dummy0, adc on BeagleBone Black)`,
    /// `192.168.2.1 (Analog Devices PlutoSDR ...), serial=...`).
    pub description: String,
}

/// The backends a scan can cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Local,
    Ip,
}

/// Parses libiio's backend list: names separated by `,` or `:` (`ip`, `local,ip`, `ip:`);
/// `None` or an empty list means every backend this build has.
fn backends(list: Option<&str>) -> Result<Vec<Backend>> {
    let mut out = Vec::new();
    for name in list
        .unwrap_or("")
        .split([',', ':'])
        .filter(|s| !s.is_empty())
    {
        let b = match name {
            "local" => Backend::Local,
            "ip" => Backend::Ip,
            "usb" | "serial" => {
                return Err(Error::Unsupported {
                    backend: "scan",
                    what: format!("the {name} backend (not part of ferroio)"),
                })
            }
            other => {
                return Err(Error::InvalidValue {
                    what: "scan backends".into(),
                    reason: format!("unknown backend '{other}' (local, ip)"),
                })
            }
        };
        if !out.contains(&b) {
            out.push(b);
        }
    }
    if out.is_empty() {
        out = vec![Backend::Local, Backend::Ip];
    }
    Ok(out)
}

/// Scans `backends` (libiio's syntax: `"local"`, `"ip"`, `"local,ip"`; `None` for all) and
/// returns what it found, local first. The network part listens for [`DEFAULT_SCAN_WINDOW`]
/// and opens each server found to describe it (all at once, with a 2 s timeout per call);
/// servers that cannot be opened are left out.
pub fn scan(backends_list: Option<&str>) -> Result<Vec<ContextInfo>> {
    scan_with(backends_list, DEFAULT_SCAN_WINDOW)
}

/// [`scan`] with the time the network part listens for answers.
pub fn scan_with(backends_list: Option<&str>, window: Duration) -> Result<Vec<ContextInfo>> {
    let mut out = Vec::new();
    for b in backends(backends_list)? {
        match b {
            Backend::Local => out.extend(scan_local(Path::new("/sys"))),
            Backend::Ip => out.extend(scan_ip(window)?),
        }
    }
    Ok(out)
}

/// Reads a small file as libiio's `cat_file` does: at most 127 bytes, the last one dropped
/// (the newline, or the NUL that ends device-tree strings).
fn cat_file(path: &Path) -> Option<String> {
    let b = std::fs::read(path).ok()?;
    let b = &b[..b.len().min(127)];
    if b.is_empty() {
        return None;
    }
    let b = &b[..b.len() - 1];
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    Some(String::from_utf8_lossy(&b[..end]).into_owned())
}

/// The local machine, when `sys/bus/iio` has entries: `local:` described by the names of its
/// devices and the machine model, as libiio 0.24 does.
pub(crate) fn scan_local(sys: &Path) -> Option<ContextInfo> {
    let devices = sys.join("bus/iio/devices");
    let entries: Vec<_> = std::fs::read_dir(&devices).ok()?.flatten().collect();
    if entries.is_empty() {
        return None;
    }
    let names: Vec<String> = entries
        .iter()
        .filter(|e| e.file_name().to_string_lossy().contains("iio:device"))
        .filter_map(|e| cat_file(&e.path().join("name")))
        .collect();
    let machine = cat_file(&sys.join("firmware/devicetree/base/model"))
        .or_else(|| cat_file(&sys.join("class/dmi/id/board_vendor")));
    let description = match machine {
        Some(m) if !names.is_empty() => format!("({} on {m})", names.join(", ")),
        Some(m) => format!("(Local IIO devices on {m})"),
        None => "(Local IIO devices)".to_string(),
    };
    Some(ContextInfo {
        uri: "local:".into(),
        description,
    })
}

/// How long describing one server found by a scan may take (it is opened like any
/// context); servers are described in parallel, so a dead one costs this once.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The iiod servers that answer a DNS-SD browse, each opened once to describe it.
fn scan_ip(window: Duration) -> Result<Vec<ContextInfo>> {
    let services = mdns::browse(window).map_err(|e| Error::Network {
        peer: "ip: (DNS-SD)".into(),
        what: format!("browsing for {}", mdns::IIO_SERVICE),
        source: e,
    })?;
    let described: Vec<Option<ContextInfo>> = std::thread::scope(|s| {
        let handles: Vec<_> = services
            .iter()
            .map(|svc| {
                std::thread::Builder::new()
                    .name("ferroio-scan".into())
                    .spawn_scoped(s, move || describe_service(svc))
                    // No thread: describe it on this one.
                    .map_err(|_| describe_service(svc))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().ok().flatten(),
                Err(done) => done,
            })
            .collect()
    });
    Ok(described.into_iter().flatten().collect())
}

/// Opens the server a DNS-SD answer names and describes it; `None` when it cannot be opened
/// (libiio leaves those out too).
fn describe_service(s: &mdns::Service) -> Option<ContextInfo> {
    let options = crate::network::Options::new().timeout(Some(DESCRIBE_TIMEOUT));
    let (addr, ctx) = s.addrs.iter().find_map(|addr| {
        let target = match addr {
            std::net::IpAddr::V6(a) => format!("[{a}]:{}", s.port),
            std::net::IpAddr::V4(a) => format!("{a}:{}", s.port),
        };
        crate::Context::from_network(&target, &options)
            .ok()
            .map(|c| (addr, c))
    })?;
    let uri = if s.port == crate::network::DEFAULT_PORT {
        format!("ip:{}", s.host)
    } else {
        format!("ip:{}:{}", s.host, s.port)
    };
    let names: Vec<String> = ctx
        .devices()
        .filter_map(|d| d.name().map(str::to_string))
        .collect();
    let description = describe(&addr.to_string(), &ctx, &names);
    Some(ContextInfo { uri, description })
}

/// libiio's description of a network context: the address with the hardware model and
/// serial number when the context has them, else with its device names; the context's own
/// description when it has no devices.
fn describe(addr: &str, ctx: &crate::Context, names: &[String]) -> String {
    let model = ctx.attr("hw_model");
    let serial = ctx.attr("hw_serial");
    match (model, serial) {
        (Some(m), Some(s)) => format!("{addr} ({m}), serial={s}"),
        (Some(m), None) => format!("{addr} {m}"),
        (None, Some(s)) => format!("{addr} {s}"),
        (None, None) if ctx.num_devices() == 0 => ctx.description().to_string(),
        // libiio 0.24 leaves the last device name out here (an off-by-one); all are listed.
        (None, None) => format!("{addr} ({})", names.join(",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_lists() {
        assert_eq!(backends(None).unwrap(), [Backend::Local, Backend::Ip]);
        assert_eq!(backends(Some("ip")).unwrap(), [Backend::Ip]);
        assert_eq!(backends(Some("ip:")).unwrap(), [Backend::Ip]);
        assert_eq!(
            backends(Some("local,ip,local")).unwrap(),
            [Backend::Local, Backend::Ip]
        );
        assert!(matches!(
            backends(Some("usb")),
            Err(Error::Unsupported { .. })
        ));
        let e = backends(Some("ip,bogus")).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn local_description_follows_libiio() {
        let t = tempfile::tempdir().unwrap();
        let sys = t.path();
        assert_eq!(scan_local(sys), None);
        let dev = sys.join("bus/iio/devices");
        std::fs::create_dir_all(&dev).unwrap();
        assert_eq!(scan_local(sys), None, "no entries: nothing local");
        std::fs::create_dir_all(dev.join("trigger0")).unwrap();
        assert_eq!(scan_local(sys).unwrap().description, "(Local IIO devices)");
        std::fs::create_dir_all(dev.join("iio:device0")).unwrap();
        std::fs::write(dev.join("iio:device0/name"), "adc0\n").unwrap();
        std::fs::create_dir_all(sys.join("firmware/devicetree/base")).unwrap();
        std::fs::write(
            sys.join("firmware/devicetree/base/model"),
            "BeagleBone Black\0",
        )
        .unwrap();
        let info = scan_local(sys).unwrap();
        assert_eq!(info.uri, "local:");
        assert_eq!(info.description, "(adc0 on BeagleBone Black)");
        std::fs::remove_file(dev.join("iio:device0/name")).unwrap();
        assert_eq!(
            scan_local(sys).unwrap().description,
            "(Local IIO devices on BeagleBone Black)"
        );
    }
}
