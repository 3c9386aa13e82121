//! Channel types and modifiers as the kernel defines them (`include/uapi/linux/iio/types.h`),
//! with the names the kernel uses in sysfs file names (`industrialio-core.c`). Event types and
//! directions live here too, since event codes are decoded with the same tables.

macro_rules! kernel_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $unknown_doc:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $sysfs:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            #[doc = $unknown_doc]
            Unknown(u32),
        }

        impl $name {
            const TABLE: &'static [($name, u32, &'static str)] = &[
                $( ($name::$variant, $value, $sysfs), )*
            ];

            /// The kernel's numeric value (the one found in event codes).
            pub fn to_raw(self) -> u32 {
                match self {
                    $( $name::$variant => $value, )*
                    $name::Unknown(v) => v,
                }
            }

            /// The value for a kernel number; numbers this crate does not know are kept in
            /// `Unknown` so nothing is lost.
            pub fn from_raw(value: u32) -> Self {
                Self::TABLE
                    .iter()
                    .find(|(_, v, _)| *v == value)
                    .map(|(e, _, _)| *e)
                    .unwrap_or($name::Unknown(value))
            }

            /// The name the kernel uses in sysfs file names, `None` for `Unknown`.
            pub fn sysfs_name(self) -> Option<&'static str> {
                Self::TABLE.iter().find(|(e, _, _)| *e == self).map(|(_, _, n)| *n)
            }

            /// Looks a value up by its sysfs name.
            pub fn from_sysfs_name(name: &str) -> Option<Self> {
                Self::TABLE.iter().find(|(_, _, n)| *n == name).map(|(e, _, _)| *e)
            }

            /// Every value the kernel defines, in kernel order.
            pub fn all() -> impl Iterator<Item = Self> {
                Self::TABLE.iter().map(|(e, _, _)| *e)
            }
        }
    };
}

kernel_enum! {
    /// What a channel measures or drives (`enum iio_chan_type`).
    ChannelType, "A type number this crate does not know (or no type could be derived from the channel id)." {
        /// `voltage`
        Voltage = 0 => "voltage",
        /// `current`
        Current = 1 => "current",
        /// `power`
        Power = 2 => "power",
        /// `accel`
        Accel = 3 => "accel",
        /// `anglvel`
        AnglVel = 4 => "anglvel",
        /// `magn`
        Magn = 5 => "magn",
        /// `illuminance` (IIO_LIGHT)
        Light = 6 => "illuminance",
        /// `intensity`
        Intensity = 7 => "intensity",
        /// `proximity`
        Proximity = 8 => "proximity",
        /// `temp`
        Temp = 9 => "temp",
        /// `incli`
        Incli = 10 => "incli",
        /// `rot`
        Rot = 11 => "rot",
        /// `angl`
        Angl = 12 => "angl",
        /// `timestamp`
        Timestamp = 13 => "timestamp",
        /// `capacitance`
        Capacitance = 14 => "capacitance",
        /// `altvoltage`
        AltVoltage = 15 => "altvoltage",
        /// `cct`
        Cct = 16 => "cct",
        /// `pressure`
        Pressure = 17 => "pressure",
        /// `humidityrelative`
        HumidityRelative = 18 => "humidityrelative",
        /// `activity`
        Activity = 19 => "activity",
        /// `steps`
        Steps = 20 => "steps",
        /// `energy`
        Energy = 21 => "energy",
        /// `distance`
        Distance = 22 => "distance",
        /// `velocity`
        Velocity = 23 => "velocity",
        /// `concentration`
        Concentration = 24 => "concentration",
        /// `resistance`
        Resistance = 25 => "resistance",
        /// `ph`
        Ph = 26 => "ph",
        /// `uvindex`
        UvIndex = 27 => "uvindex",
        /// `electricalconductivity`
        ElectricalConductivity = 28 => "electricalconductivity",
        /// `count`
        Count = 29 => "count",
        /// `index`
        Index = 30 => "index",
        /// `gravity`
        Gravity = 31 => "gravity",
        /// `positionrelative`
        PositionRelative = 32 => "positionrelative",
        /// `phase`
        Phase = 33 => "phase",
        /// `massconcentration`
        MassConcentration = 34 => "massconcentration",
        /// `deltaangl` (kernel 6.10)
        DeltaAngl = 35 => "deltaangl",
        /// `deltavelocity` (kernel 6.10)
        DeltaVelocity = 36 => "deltavelocity",
        /// `colortemp` (kernel 6.11)
        ColorTemp = 37 => "colortemp",
        /// `chromaticity` (kernel 6.11)
        Chromaticity = 38 => "chromaticity",
        /// `attention` (kernel 6.13)
        Attention = 39 => "attention",
        /// `altcurrent` (kernel 6.17)
        AltCurrent = 40 => "altcurrent",
    }
}

kernel_enum! {
    /// A channel modifier (`enum iio_modifier`): the axis, colour, gas ... part of a channel id
    /// such as `accel_x` or `intensity_ir`.
    Modifier, "A modifier number this crate does not know." {
        /// No modifier.
        None = 0 => "",
        /// `x`
        X = 1 => "x",
        /// `y`
        Y = 2 => "y",
        /// `z`
        Z = 3 => "z",
        /// `x&y`
        XAndY = 4 => "x&y",
        /// `x&z`
        XAndZ = 5 => "x&z",
        /// `y&z`
        YAndZ = 6 => "y&z",
        /// `x&y&z`
        XAndYAndZ = 7 => "x&y&z",
        /// `x|y`
        XOrY = 8 => "x|y",
        /// `x|z`
        XOrZ = 9 => "x|z",
        /// `y|z`
        YOrZ = 10 => "y|z",
        /// `x|y|z`
        XOrYOrZ = 11 => "x|y|z",
        /// `both`
        LightBoth = 12 => "both",
        /// `ir`
        LightIr = 13 => "ir",
        /// `sqrt(x^2+y^2)`
        RootSumSquaredXY = 14 => "sqrt(x^2+y^2)",
        /// `x^2+y^2+z^2`
        SumSquaredXYZ = 15 => "x^2+y^2+z^2",
        /// `clear`
        LightClear = 16 => "clear",
        /// `red`
        LightRed = 17 => "red",
        /// `green`
        LightGreen = 18 => "green",
        /// `blue`
        LightBlue = 19 => "blue",
        /// `quaternion`
        Quaternion = 20 => "quaternion",
        /// `ambient`
        TempAmbient = 21 => "ambient",
        /// `object`
        TempObject = 22 => "object",
        /// `from_north_magnetic`
        NorthMagn = 23 => "from_north_magnetic",
        /// `from_north_true`
        NorthTrue = 24 => "from_north_true",
        /// `from_north_magnetic_tilt_comp`
        NorthMagnTiltComp = 25 => "from_north_magnetic_tilt_comp",
        /// `from_north_true_tilt_comp`
        NorthTrueTiltComp = 26 => "from_north_true_tilt_comp",
        /// `running`
        Running = 27 => "running",
        /// `jogging`
        Jogging = 28 => "jogging",
        /// `walking`
        Walking = 29 => "walking",
        /// `still`
        Still = 30 => "still",
        /// `sqrt(x^2+y^2+z^2)`
        RootSumSquaredXYZ = 31 => "sqrt(x^2+y^2+z^2)",
        /// `i`
        I = 32 => "i",
        /// `q`
        Q = 33 => "q",
        /// `co2`
        Co2 = 34 => "co2",
        /// `voc`
        Voc = 35 => "voc",
        /// `uv`
        LightUv = 36 => "uv",
        /// `uva`
        LightUva = 37 => "uva",
        /// `uvb`
        LightUvb = 38 => "uvb",
        /// `duv`
        LightDuv = 39 => "duv",
        /// `pm1`
        Pm1 = 40 => "pm1",
        /// `pm2p5`
        Pm2p5 = 41 => "pm2p5",
        /// `pm4`
        Pm4 = 42 => "pm4",
        /// `pm10`
        Pm10 = 43 => "pm10",
        /// `ethanol`
        Ethanol = 44 => "ethanol",
        /// `h2`
        H2 = 45 => "h2",
        /// `o2`
        O2 = 46 => "o2",
        /// `linear_x`
        LinearX = 47 => "linear_x",
        /// `linear_y`
        LinearY = 48 => "linear_y",
        /// `linear_z`
        LinearZ = 49 => "linear_z",
        /// `pitch`
        Pitch = 50 => "pitch",
        /// `yaw`
        Yaw = 51 => "yaw",
        /// `roll`
        Roll = 52 => "roll",
        /// `rms` (kernel 6.17)
        Rms = 53 => "rms",
        /// `active` (kernel 6.17)
        Active = 54 => "active",
        /// `reactive` (kernel 6.17)
        Reactive = 55 => "reactive",
        /// `apparent` (kernel 6.17)
        Apparent = 56 => "apparent",
    }
}

kernel_enum! {
    /// The kind of an IIO event (`enum iio_event_type`).
    EventType, "An event type number this crate does not know." {
        /// `thresh`
        Thresh = 0 => "thresh",
        /// `mag`
        Mag = 1 => "mag",
        /// `roc`
        Roc = 2 => "roc",
        /// `thresh_adaptive`
        ThreshAdaptive = 3 => "thresh_adaptive",
        /// `mag_adaptive`
        MagAdaptive = 4 => "mag_adaptive",
        /// `change`
        Change = 5 => "change",
        /// `mag_referenced`
        MagReferenced = 6 => "mag_referenced",
        /// `gesture`
        Gesture = 7 => "gesture",
    }
}

kernel_enum! {
    /// The direction of an IIO event (`enum iio_event_direction`).
    EventDirection, "An event direction number this crate does not know." {
        /// `either`
        Either = 0 => "either",
        /// `rising`
        Rising = 1 => "rising",
        /// `falling`
        Falling = 2 => "falling",
        /// no direction
        None = 3 => "none",
        /// `singletap`
        SingleTap = 4 => "singletap",
        /// `doubletap`
        DoubleTap = 5 => "doubletap",
    }
}

impl Modifier {
    /// Finds the modifier a string starts with, followed by `_` or the end, preferring the
    /// longest match (so `x&y&z` wins over `x`). Returns the modifier and its length.
    pub fn match_prefix(s: &str) -> Option<(Modifier, usize)> {
        let mut best: Option<(Modifier, usize)> = None;
        for (m, _, name) in Self::TABLE.iter().skip(1) {
            if s.starts_with(name)
                && matches!(s.as_bytes().get(name.len()), None | Some(b'_'))
                && best.is_none_or(|(_, l)| name.len() > l)
            {
                best = Some((*m, name.len()));
            }
        }
        best
    }
}

impl ChannelType {
    /// Derives the type from a channel id the way the kernel names files: the longest type
    /// name the id starts with, followed by a digit, `_`, `-` or the end (`voltage0`,
    /// `accel_x`, `voltage1-voltage2`, `temp`). `in_sampling_frequency` has no such type,
    /// which is how the kernel's shared-by-direction attributes are told from channels.
    pub fn from_channel_id(id: &str) -> ChannelType {
        let mut best: Option<(ChannelType, usize)> = None;
        for (t, _, name) in Self::TABLE {
            if id.starts_with(name)
                && matches!(
                    id.as_bytes().get(name.len()),
                    None | Some(b'0'..=b'9' | b'_' | b'-')
                )
                && best.is_none_or(|(_, l)| name.len() > l)
            {
                best = Some((*t, name.len()));
            }
        }
        best.map(|(t, _)| t)
            .unwrap_or(ChannelType::Unknown(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_round_trip() {
        for t in ChannelType::all() {
            assert_eq!(ChannelType::from_raw(t.to_raw()), t);
        }
        assert_eq!(ChannelType::from_raw(13), ChannelType::Timestamp);
        assert_eq!(Modifier::from_raw(52), Modifier::Roll);
        assert_eq!(ChannelType::from_raw(999), ChannelType::Unknown(999));
        assert_eq!(EventDirection::from_raw(1), EventDirection::Rising);
    }

    #[test]
    fn types_from_ids() {
        assert_eq!(
            ChannelType::from_channel_id("voltage0"),
            ChannelType::Voltage
        );
        assert_eq!(
            ChannelType::from_channel_id("altvoltage3"),
            ChannelType::AltVoltage
        );
        assert_eq!(ChannelType::from_channel_id("accel_x"), ChannelType::Accel);
        assert_eq!(
            ChannelType::from_channel_id("voltage1-voltage2"),
            ChannelType::Voltage
        );
        assert_eq!(ChannelType::from_channel_id("temp"), ChannelType::Temp);
        assert!(matches!(
            ChannelType::from_channel_id("sampling"),
            ChannelType::Unknown(_)
        ));
        assert!(matches!(
            ChannelType::from_channel_id("voltagex"),
            ChannelType::Unknown(_)
        ));
    }

    #[test]
    fn modifier_prefixes() {
        assert_eq!(Modifier::match_prefix("x_raw"), Some((Modifier::X, 1)));
        assert_eq!(
            Modifier::match_prefix("x&y&z_raw"),
            Some((Modifier::XAndYAndZ, 5))
        );
        assert_eq!(
            Modifier::match_prefix("walking_input"),
            Some((Modifier::Walking, 7))
        );
        assert_eq!(Modifier::match_prefix("raw"), None);
        assert_eq!(Modifier::match_prefix("xyz_raw"), None);
        assert_eq!(
            Modifier::match_prefix("linear_x_raw"),
            Some((Modifier::LinearX, 8))
        );
    }
}
