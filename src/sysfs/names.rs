//! The kernel's sysfs naming rules for IIO, as pure functions: which files of a device
//! directory are channel attributes, which channel they belong to, the short attribute name,
//! extended channel names, and which shared attributes (`in_voltage_scale`,
//! `in_voltage-voltage_scale`, `in_accel_scale`) attach to which channels.
//!
//! The rules follow libiio's local backend, so a context built here matches what libiio
//! reports, with one deliberate divergence where libiio misreads the kernel ABI: a leftover
//! `in_X_Y` file becomes an index-less channel `X` only when `X` is a channel type the kernel
//! defines. libiio turns the shared-by-direction attribute `in_sampling_frequency` into a
//! bogus channel `sampling` of unknown type; the kernel's ABI says it is a device attribute
//! (`info_mask_shared_by_dir`), and that is what it stays here.
//!
//! File name grammar (kernel ABI):
//! `{in|out}_<type>[<index>][-<type2><index2>][_<modifier>][_<extend_name>]_<info>`.

use crate::channel_type::{ChannelType, Modifier};
use crate::model::{AttrData, ChannelData, ScanData};

/// Splits `in_`/`out_` off a file name: `Some((is_output, rest))`.
fn direction(attr: &str) -> Option<(bool, &str)> {
    if let Some(rest) = attr.strip_prefix("in_") {
        Some((false, rest))
    } else {
        attr.strip_prefix("out_").map(|rest| (true, rest))
    }
}

/// Whether a file name names a channel attribute. With `strict` (files found directly in
/// the device directory on the first pass) the part before the second `_` must end in a digit
/// or be followed by a known modifier; `in_timestamp_*` always counts.
pub fn is_channel(attr: &str, strict: bool) -> bool {
    if attr.starts_with("in_timestamp_") {
        return true;
    }
    let Some((_, rest)) = direction(attr) else {
        return false;
    };
    let Some(us) = rest.find('_') else {
        return false;
    };
    if !strict {
        return true;
    }
    if us > 0 && rest.as_bytes()[us - 1].is_ascii_digit() {
        return true;
    }
    modifier_after(&rest[us + 1..]).is_some()
}

/// A modifier at the start of `s` that is followed by `_` (a modifier is never the last
/// component of an attribute file name).
fn modifier_after(s: &str) -> Option<(Modifier, usize)> {
    Modifier::match_prefix(s).filter(|(_, len)| s.as_bytes().get(*len) == Some(&b'_'))
}

/// The channel id a channel attribute file belongs to: `in_voltage0_raw` → `voltage0`,
/// `in_accel_x_raw` → `accel_x`, `in_voltage2-voltage3_raw` → `voltage2-voltage3`.
/// `None` when the name has no `_` after the type.
pub fn channel_id(attr: &str) -> Option<&str> {
    let (_, rest) = direction(attr)?;
    let us = rest.find('_')?;
    match modifier_after(&rest[us + 1..]) {
        Some((_, len)) => Some(&rest[..us + 1 + len]),
        None => Some(&rest[..us]),
    }
}

/// What is left of a channel attribute file name after the direction, the channel id (or
/// the shared type prefix) and the modifier: `in_voltage0_raw` → `raw`, `in_voltage_scale` →
/// `scale`. The extended name, if any, is still in it.
pub fn short_attr_name(attr: &str) -> &str {
    let rest = direction(attr).map(|(_, r)| r).unwrap_or(attr);
    let Some(us) = rest.find('_') else {
        return rest;
    };
    let after = &rest[us + 1..];
    match modifier_after(after) {
        Some((_, len)) => &after[len + 1..],
        None => after,
    }
}

/// How a device-directory attribute relates to a channel (libiio's `is_global_attr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedMatch {
    /// Not the channel's.
    No,
    /// A shared attribute the channel gets (shared by type, or differential shared).
    Shared,
    /// A shared-by-type attribute carrying the channel's extended name: it takes precedence
    /// over plain shared attributes.
    Named,
}

/// Decides whether a device attribute that matched no channel on the first pass is shared
/// with `chan` (`in_voltage_scale` with `voltage0`, `in_voltage-voltage_scale` with
/// `voltage2-voltage3`, `in_accel_scale` with `accel_x`).
pub fn shared_match(chan: &ChannelData, attr: &str) -> SharedMatch {
    let Some((output, rest)) = direction(attr) else {
        return SharedMatch::No;
    };
    if output != chan.output {
        return SharedMatch::No;
    }
    let Some(us) = rest.find('_') else {
        return SharedMatch::No;
    };
    let prefix = &rest[..us];
    let id = chan.id.as_str();
    let idb = id.as_bytes();

    // Differential shared attribute: "voltage-voltage" matches "voltageA-voltageB".
    if let Some(dash) = prefix.find('-') {
        if dash > 0 {
            let (t1, t2) = (&prefix[..dash], &prefix[dash + 1..]);
            if let Some(id_dash) = id.find('-') {
                let second = &id[id_dash + 1..];
                if second.len() > t2.len()
                    && id_dash > t1.len()
                    && idb[t1.len()].is_ascii_digit()
                    && id.starts_with(t1)
                    && second.as_bytes()[t2.len()].is_ascii_digit()
                    && second.starts_with(t2)
                {
                    return SharedMatch::Shared;
                }
            }
        }
    }

    if !id.starts_with(prefix) {
        return SharedMatch::No;
    }
    match idb.get(prefix.len()) {
        Some(b'0'..=b'9') => {
            if let Some(name) = chan.name.as_deref() {
                let after = &rest[us + 1..];
                if after.starts_with(name) && after.as_bytes().get(name.len()) == Some(&b'_') {
                    return SharedMatch::Named;
                }
            }
            SharedMatch::Shared
        }
        Some(b'_') => {
            if Modifier::match_prefix(&id[prefix.len() + 1..]).is_some() {
                SharedMatch::Shared
            } else {
                SharedMatch::No
            }
        }
        _ => SharedMatch::No,
    }
}

/// The extended channel name shared by all attribute short names (and scan-element file
/// short names) of a channel with at least two of them: the longest common prefix that ends
/// with `_`, without that `_`. `["vccint_raw", "vccint_scale"]` → `vccint`.
pub fn extended_name<'a>(short_names: &[&'a str]) -> Option<&'a str> {
    if short_names.len() < 2 {
        return None;
    }
    let first = short_names[0];
    let mut best = None;
    for (pos, _) in first.match_indices('_') {
        let prefix = &first[..=pos];
        if short_names[1..].iter().all(|n| n.starts_with(prefix)) {
            best = Some(&first[..pos]);
        } else {
            break;
        }
    }
    best
}

/// Removes the channel's extended name and its `_` from the front of a short name.
pub fn strip_extended_name<'a>(short: &'a str, name: Option<&str>) -> &'a str {
    match name {
        Some(n) if short.starts_with(n) && short.as_bytes().get(n.len()) == Some(&b'_') => {
            &short[n.len() + 1..]
        }
        _ => short,
    }
}

/// Whether a leftover `in_X_Y` file may become an index-less channel `X`: `X` must be a
/// channel type the kernel defines (see the module documentation for why this differs from
/// libiio).
pub fn leftover_is_channel(attr: &str) -> bool {
    is_channel(attr, false)
        && channel_id(attr)
            .map(|id| !matches!(ChannelType::from_channel_id(id), ChannelType::Unknown(_)))
            .unwrap_or(false)
}

/// Kernel sysfs (kernfs) lists a directory in the order of a hash of the names. Sorting by
/// the same hash gives real sysfs order for copies of sysfs trees too, so channel order
/// (which follows the order files are met in) is the same on a fixture as on the machine it
/// was captured from. This is `kernfs_name_hash` for names without a namespace.
pub fn kernfs_name_hash(name: &[u8]) -> u32 {
    let mut hash: u64 = 0;
    for &c in name {
        let c = u64::from(c);
        hash = hash
            .wrapping_add((c << 4).wrapping_add(c >> 4))
            .wrapping_mul(11);
    }
    // end_name_hash: hash_long(hash, 32) on 64-bit machines.
    let folded = (hash.wrapping_mul(0x61C8_8646_80B5_83EB) >> 32) as u32;
    let mut h = folded & 0x7fff_ffff;
    if h < 2 {
        h += 2;
    }
    if h >= 0x7fff_ffff {
        h = 0x7fff_fffe;
    }
    h
}

/// Sorts directory entry names into kernfs order.
pub fn sort_kernfs<T: AsRef<[u8]>>(names: &mut [T]) {
    names.sort_by(|a, b| {
        let (a, b) = (a.as_ref(), b.as_ref());
        kernfs_name_hash(a)
            .cmp(&kernfs_name_hash(b))
            .then_with(|| a.cmp(b))
    });
}

/// Orders a device's channels as libiio does: scan elements by index (ties by shift), then
/// the channels that are not scan elements, each group keeping the order channels were met.
pub fn order_channels(channels: &mut [ChannelData]) {
    channels.sort_by_key(|c| match &c.scan {
        Some(ScanData {
            index: Ok(i),
            format,
            ..
        }) => (0u8, *i, format.map(|f| f.shift).unwrap_or(0)),
        _ => (1u8, 0, 0),
    });
}

/// Sorts attributes by name, as libiio does for every attribute list.
pub fn sort_attrs(attrs: &mut [AttrData]) {
    attrs.sort_by(|a, b| a.name.cmp(&b.name));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chan(id: &str, output: bool, name: Option<&str>) -> ChannelData {
        ChannelData {
            id: id.into(),
            output,
            name: name.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn channel_detection() {
        assert!(is_channel("in_voltage0_raw", true));
        assert!(is_channel("in_accel_x_raw", true));
        assert!(is_channel("in_voltage1-voltage2_raw", true));
        assert!(is_channel("in_activity_walking_input", true));
        assert!(is_channel("in_timestamp_foo", true));
        assert!(!is_channel("in_voltage_scale", true));
        assert!(!is_channel("in_steps_en", true));
        assert!(is_channel("in_steps_en", false));
        assert!(!is_channel("sampling_frequency", false));
        assert!(!is_channel("in_temp", false));
        assert!(is_channel("out_voltage0_raw", true));
    }

    #[test]
    fn ids_and_short_names() {
        assert_eq!(channel_id("in_voltage0_raw"), Some("voltage0"));
        assert_eq!(channel_id("in_accel_x_calibscale"), Some("accel_x"));
        assert_eq!(
            channel_id("in_voltage1-voltage2_raw"),
            Some("voltage1-voltage2")
        );
        assert_eq!(
            channel_id("in_activity_walking_input"),
            Some("activity_walking")
        );
        assert_eq!(channel_id("out_voltage0_raw"), Some("voltage0"));
        assert_eq!(channel_id("in_steps_calibheight"), Some("steps"));
        assert_eq!(short_attr_name("in_accel_x_calibscale"), "calibscale");
        assert_eq!(short_attr_name("in_voltage0_vccint_raw"), "vccint_raw");
        assert_eq!(short_attr_name("in_voltage-voltage_scale"), "scale");
        assert_eq!(short_attr_name("in_voltage_scale"), "scale");
    }

    #[test]
    fn shared_attributes() {
        let v0 = chan("voltage0", false, None);
        let diff = chan("voltage1-voltage2", false, None);
        let ax = chan("accel_x", false, None);
        let named = chan("voltage5", false, Some("vccint"));
        let out = chan("voltage0", true, None);
        assert_eq!(shared_match(&v0, "in_voltage_scale"), SharedMatch::Shared);
        assert_eq!(shared_match(&diff, "in_voltage_scale"), SharedMatch::Shared);
        assert_eq!(
            shared_match(&diff, "in_voltage-voltage_scale"),
            SharedMatch::Shared
        );
        assert_eq!(
            shared_match(&v0, "in_voltage-voltage_scale"),
            SharedMatch::No
        );
        assert_eq!(shared_match(&ax, "in_accel_scale"), SharedMatch::Shared);
        assert_eq!(shared_match(&ax, "in_anglvel_scale"), SharedMatch::No);
        assert_eq!(
            shared_match(&named, "in_voltage_vccint_scale"),
            SharedMatch::Named
        );
        assert_eq!(shared_match(&out, "in_voltage_scale"), SharedMatch::No);
        assert_eq!(shared_match(&v0, "in_sampling_frequency"), SharedMatch::No);
    }

    #[test]
    fn extended_names() {
        assert_eq!(
            extended_name(&["vccint_raw", "vccint_scale"]),
            Some("vccint")
        );
        assert_eq!(extended_name(&["raw", "scale"]), None);
        assert_eq!(extended_name(&["a_b_raw", "a_b_scale", "a_c"]), Some("a"));
        assert_eq!(extended_name(&["vccint_raw"]), None);
        assert_eq!(strip_extended_name("vccint_raw", Some("vccint")), "raw");
        assert_eq!(strip_extended_name("raw", Some("vccint")), "raw");
    }

    #[test]
    fn leftovers_follow_the_kernel() {
        assert!(leftover_is_channel("in_steps_en"));
        assert!(leftover_is_channel("in_temp_raw"));
        assert!(!leftover_is_channel("in_sampling_frequency"));
        assert!(!leftover_is_channel("out_powerdown_mode"));
    }

    #[test]
    fn kernfs_order_matches_a_real_listing() {
        // kernfs order of these iio_dummy files by the kernel's hash; the fixture tests check
        // the consequence (channel order) against what libiio read on the real kernel.
        let real = [
            "uevent",
            "in_voltage0_offset",
            "in_steps_en",
            "scan_elements",
            "in_activity_walking_input",
            "power",
            "in_accel_x_calibbias",
            "dev",
        ];
        let mut names = real;
        names.reverse();
        sort_kernfs(&mut names);
        assert_eq!(names, real);
    }
}
