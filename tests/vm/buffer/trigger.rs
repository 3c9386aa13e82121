//! Triggers and software devices against a real kernel (the qemu tier): configfs hrtimer
//! triggers and `iio_dummy` devices created and removed, sysfs triggers added, fired and
//! removed, a capture through a trigger created on the spot.

use ferroio::buffer::Configfs;
use ferroio::Context;
use std::path::Path;
use std::time::Duration;

fn require_vm() {
    assert_eq!(
        std::env::var("FERROIO_VM").as_deref(),
        Ok("1"),
        "this test needs the qemu kernel tier: tests/kernel/run.sh"
    );
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn hrtimer_trigger_create_use_remove() {
    require_vm();
    let cfs = Configfs::system();
    assert!(cfs
        .trigger_kinds()
        .unwrap()
        .contains(&"hrtimer".to_string()));
    let names: Vec<String> = cfs
        .triggers()
        .unwrap()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    assert!(names.contains(&"trig0".to_string()), "{names:?}");

    let t = cfs.create_hrtimer_trigger("ftrig").unwrap();
    let id = t
        .sysfs_id()
        .unwrap()
        .expect("the kernel registers the trigger");
    assert!(id.starts_with("trigger"), "{id}");
    t.set_sampling_frequency(200.0).unwrap();
    let freq = std::fs::read_to_string(
        Path::new("/sys/bus/iio/devices")
            .join(&id)
            .join("sampling_frequency"),
    )
    .unwrap();
    assert_eq!(freq.trim().parse::<f64>().unwrap(), 200.0);
    // a second one with the same name is refused
    assert!(cfs.create_hrtimer_trigger("ftrig").is_err());

    // a new context sees it; capture through it by name
    let ctx = Context::new().unwrap();
    assert!(ctx.triggers().any(|d| d.name() == Some("ftrig")));
    let dev = ctx.get_device("dummy0").unwrap();
    let mut buf = dev
        .buffer_builder()
        .all_channels(false)
        .samples(8)
        .trigger_name(Some("ftrig"))
        .timeout(Some(Duration::from_secs(10)))
        .build()
        .unwrap();
    assert_eq!(dev.trigger_name().unwrap().as_deref(), Some("ftrig"));
    assert_eq!(buf.refill().unwrap(), 8);
    drop(buf);
    assert_eq!(dev.trigger_name().unwrap(), None);

    t.remove().unwrap();
    assert_eq!(cfs.sysfs_id("ftrig").unwrap(), None);
    assert!(cfs.find_trigger("ftrig").unwrap().is_none());
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn sysfs_trigger_add_fire_remove() {
    require_vm();
    let cfs = Configfs::system();
    let name = cfs.add_sysfs_trigger(7).unwrap();
    assert_eq!(name, "sysfstrig7");
    assert!(cfs.sysfs_id("sysfstrig7").unwrap().is_some());
    let ctx = Context::new().unwrap();
    let dev = ctx.get_device("dummy0").unwrap();
    let mut buf = dev
        .buffer_builder()
        .channel_named("accel_x", false)
        .samples(2)
        .trigger_name(Some("sysfstrig7"))
        .build()
        .unwrap();
    cfs.fire_sysfs_trigger("sysfstrig7").unwrap();
    ctx.get_device("sysfstrig7")
        .unwrap()
        .fire_trigger()
        .unwrap();
    assert_eq!(buf.refill().unwrap(), 2);
    let accel = dev.get_channel("accel_x", false).unwrap();
    assert_eq!(accel.read::<i16>(&buf).unwrap(), vec![344, 344]);
    drop(buf);
    cfs.remove_sysfs_trigger(7).unwrap();
    assert_eq!(cfs.sysfs_id("sysfstrig7").unwrap(), None);
    assert!(cfs.remove_sysfs_trigger(7).is_err());
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn software_dummy_device_create_remove() {
    require_vm();
    let cfs = Configfs::system();
    assert!(cfs.device_kinds().unwrap().contains(&"dummy".to_string()));
    let d = cfs.create_device("dummy", "fdummy").unwrap();
    let id = d.sysfs_id().unwrap().expect("registered");
    assert!(id.starts_with("iio:device"), "{id}");
    let ctx = Context::new().unwrap();
    let dev = ctx.get_device("fdummy").unwrap();
    assert_eq!(dev.id(), id);
    assert!(dev.is_buffer_capable());
    drop(ctx);
    d.remove().unwrap();
    assert_eq!(cfs.sysfs_id("fdummy").unwrap(), None);
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn current_trigger_get_and_set() {
    require_vm();
    let ctx = Context::new().unwrap();
    let dev = ctx.get_device("dummy0").unwrap();
    assert_eq!(dev.trigger().unwrap(), None);
    let trig = ctx.get_device("trig0").unwrap();
    dev.set_trigger(Some(&trig)).unwrap();
    assert_eq!(dev.trigger().unwrap().as_ref(), Some(&trig));
    dev.set_trigger(None).unwrap();
    assert_eq!(dev.trigger().unwrap(), None);
}
