//! `ferroio trigger`: list triggers, create and remove hrtimer (configfs) and sysfs
//! triggers, set or clear a device's trigger, fire a sysfs trigger — what libiio users do
//! by hand with `mkdir /sys/kernel/config/iio/triggers/...` and `echo`.

use crate::read::fail;
use crate::ContextArgs;
use clap::Subcommand;
use ferroio::buffer::Configfs;
use ferroio::Context;
use std::process::ExitCode;

/// `ferroio trigger` subcommands.
#[derive(Subcommand)]
pub enum TriggerCommand {
    /// List the triggers (id, name, sampling frequency) and configfs software triggers.
    List(ContextArgs),
    /// Create a trigger: `hrtimer NAME [-f HZ]` (configfs) or `sysfs N` (sysfstrigN).
    Create {
        #[command(flatten)]
        context: ContextArgs,
        /// `hrtimer` (or another configfs trigger type) or `sysfs`.
        kind: String,
        /// The trigger name (configfs), or the sysfs trigger number.
        name: String,
        /// Sampling frequency to set, in Hz.
        #[arg(short = 'f', long = "frequency")]
        frequency: Option<f64>,
    },
    /// Remove a configfs trigger by name, or a sysfs trigger (`sysfstrigN`).
    Remove {
        #[command(flatten)]
        context: ContextArgs,
        /// The trigger name.
        name: String,
    },
    /// Set a device's trigger, or clear it when no trigger is given.
    Set {
        #[command(flatten)]
        context: ContextArgs,
        /// The device: id, name or label.
        device: String,
        /// The trigger name (or id).
        trigger: Option<String>,
    },
    /// Print a device's current trigger.
    Get {
        #[command(flatten)]
        context: ContextArgs,
        /// The device: id, name or label.
        device: String,
    },
    /// Fire a sysfs trigger once.
    Fire {
        #[command(flatten)]
        context: ContextArgs,
        /// The sysfs trigger's name (or id).
        name: String,
    },
}

fn configfs(ctx: &Context) -> Result<Configfs, ExitCode> {
    Configfs::for_context(ctx).map_err(|e| fail("trigger", &e))
}

pub fn run(cmd: TriggerCommand) -> ExitCode {
    match cmd {
        TriggerCommand::List(context) => {
            let Ok(ctx) = context.open() else {
                return ExitCode::FAILURE;
            };
            for t in ctx.triggers() {
                let freq = t
                    .has_attr("sampling_frequency")
                    .then(|| t.attr_read_str("sampling_frequency").ok())
                    .flatten()
                    .map(|f| format!(" ({f} Hz)"))
                    .unwrap_or_default();
                println!("{}: {}{freq}", t.id(), t.name().unwrap_or(""));
            }
            if let Ok(cfs) = Configfs::for_context(&ctx) {
                for t in cfs.triggers().unwrap_or_default() {
                    println!("configfs: {}/{}", t.kind(), t.name());
                }
            }
            ExitCode::SUCCESS
        }
        TriggerCommand::Create {
            context,
            kind,
            name,
            frequency,
        } => {
            let Ok(ctx) = context.open() else {
                return ExitCode::FAILURE;
            };
            let cfs = match configfs(&ctx) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let created = if kind == "sysfs" {
                let n = match name.trim_start_matches("sysfstrig").parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        return fail("trigger create sysfs", &"expected a number N (sysfstrigN)")
                    }
                };
                cfs.add_sysfs_trigger(n)
            } else {
                cfs.create_trigger(&kind, &name)
                    .map(|t| t.name().to_string())
            };
            let name = match created {
                Ok(n) => n,
                Err(e) => return fail("trigger create", &e),
            };
            if let Some(hz) = frequency {
                if let Err(e) = cfs.set_sampling_frequency(&name, hz) {
                    return fail("setting the sampling frequency", &e);
                }
            }
            match cfs.sysfs_id(&name) {
                Ok(Some(id)) => println!("{id}: {name}"),
                _ => println!("{name}"),
            }
            ExitCode::SUCCESS
        }
        TriggerCommand::Remove { context, name } => {
            let Ok(ctx) = context.open() else {
                return ExitCode::FAILURE;
            };
            let cfs = match configfs(&ctx) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let r = match cfs.find_trigger(&name) {
                Ok(Some(t)) => t.remove(),
                Ok(None) => match name.strip_prefix("sysfstrig").map(str::parse::<u32>) {
                    Some(Ok(n)) => cfs.remove_sysfs_trigger(n),
                    _ => Err(ferroio::Error::NoDevice(name.clone())),
                },
                Err(e) => Err(e),
            };
            match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail("trigger remove", &e),
            }
        }
        TriggerCommand::Set {
            context,
            device,
            trigger,
        } => {
            let Ok(ctx) = context.open() else {
                return ExitCode::FAILURE;
            };
            let dev = match ctx.get_device(&device) {
                Ok(d) => d,
                Err(e) => return fail("device", &e),
            };
            let name = trigger.map(|t| {
                ctx.find_device(&t)
                    .filter(|d| d.is_trigger())
                    .and_then(|d| d.name().map(str::to_string))
                    .unwrap_or(t)
            });
            match dev.set_trigger_name(name.as_deref()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail("trigger set", &e),
            }
        }
        TriggerCommand::Get { context, device } => {
            let Ok(ctx) = context.open() else {
                return ExitCode::FAILURE;
            };
            let dev = match ctx.get_device(&device) {
                Ok(d) => d,
                Err(e) => return fail("device", &e),
            };
            match dev.trigger_name() {
                Ok(Some(t)) => {
                    println!("{t}");
                    ExitCode::SUCCESS
                }
                Ok(None) => {
                    println!(
                        "No trigger assigned to device {}",
                        dev.name().unwrap_or(dev.id())
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail("trigger get", &e),
            }
        }
        TriggerCommand::Fire { context, name } => {
            let Ok(ctx) = context.open() else {
                return ExitCode::FAILURE;
            };
            let r = match ctx.find_device(&name).filter(|d| d.is_trigger()) {
                Some(t) => t.fire_trigger(),
                None => configfs(&ctx)
                    .map_err(|_| ferroio::Error::NoDevice(name.clone()))
                    .and_then(|c| c.fire_sysfs_trigger(&name)),
            };
            match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail("trigger fire", &e),
            }
        }
    }
}
