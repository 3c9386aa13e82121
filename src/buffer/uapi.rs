//! `include/uapi/linux/iio/{events,buffer}.h` in Rust, plus ADI's out-of-tree block API and
//! the two dma-buf ioctls DMABUF transfers need: the kernel structs as plain integers, one
//! safe function per ioctl, and the memory mapping of kernel blocks. This is the only place
//! in [`crate::buffer`] with `unsafe`; the tests at the bottom pin struct layouts and ioctl
//! numbers to the kernel's (`shared/protocol/iio-sysfs.md` §7).

use crate::ioctl::{retry_intr, take_fd};
use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Getter, NoArg, Opcode, Setter, Updater};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

/// The ioctl type byte of IIO devices.
const IIO_MAGIC: u8 = b'i';

/// `struct iio_event_data`: one event as read from an event fd (native endian).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IioEventData {
    /// The event code (`IIO_EVENT_CODE`: channel, type, modifier, direction ...).
    pub id: u64,
    /// When it happened, ns in the device's `current_timestamp_clock`.
    pub timestamp: i64,
}

impl IioEventData {
    /// Bytes of one event.
    pub const SIZE: usize = 16;

    /// Decodes one event from the bytes `read()` returned.
    pub fn from_bytes(b: &[u8; 16]) -> IioEventData {
        let (id, ts) = b.split_at(8);
        IioEventData {
            id: u64::from_ne_bytes(id.try_into().expect("8 bytes")),
            timestamp: i64::from_ne_bytes(ts.try_into().expect("8 bytes")),
        }
    }
}

/// `IIO_BUFFER_DMABUF_CYCLIC`
pub const DMABUF_CYCLIC: u32 = 1;

/// `struct iio_dmabuf`: one DMABUF queued on a buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IioDmabuf {
    /// The dma-buf's fd.
    pub fd: u32,
    /// `IIO_BUFFER_DMABUF_*` flags.
    pub flags: u32,
    /// Bytes of the dma-buf used by this transfer.
    pub bytes_used: u64,
}

/// `struct iio_buffer_block_alloc_req` of ADI kernels.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockAllocReq {
    /// Block type (reserved, 0).
    pub kind: u32,
    /// Bytes of one block.
    pub size: u32,
    /// Blocks wanted.
    pub count: u32,
    /// Out: the id of the first block allocated (`count` is set to how many were).
    pub id: u32,
}

/// `struct iio_buffer_block` of ADI kernels.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Block {
    /// Block number.
    pub id: u32,
    /// Bytes of the block.
    pub size: u32,
    /// Bytes holding data.
    pub bytes_used: u32,
    /// Block type (reserved).
    pub kind: u32,
    /// `IIO_BUFFER_BLOCK_FLAG_*` (bit 1: cyclic).
    pub flags: u32,
    /// mmap offset of the block.
    pub offset: u32,
    /// Timestamp of the block.
    pub timestamp: u64,
}

/// `IIO_BUFFER_BLOCK_FLAG_CYCLIC` of ADI kernels.
pub const BLOCK_FLAG_CYCLIC: u32 = 1 << 1;

/// `struct dma_heap_allocation_data` (`linux/dma-heap.h`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DmaHeapAllocationData {
    /// Bytes wanted.
    pub len: u64,
    /// Out: the dma-buf fd.
    pub fd: u32,
    /// Flags of the new fd (`O_RDWR | O_CLOEXEC`).
    pub fd_flags: u32,
    /// Heap flags (none defined).
    pub heap_flags: u64,
}

/// `DMA_BUF_SYNC_READ`
pub const DMA_BUF_SYNC_READ: u64 = 1;
/// `DMA_BUF_SYNC_WRITE`
pub const DMA_BUF_SYNC_WRITE: u64 = 2;
/// `DMA_BUF_SYNC_START`
pub const DMA_BUF_SYNC_START: u64 = 0;
/// `DMA_BUF_SYNC_END`
pub const DMA_BUF_SYNC_END: u64 = 4;

/// `struct dma_buf_export_sync_file`: the fences of a dma-buf, exported as a sync_file.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DmaBufExportSyncFile {
    /// `DMA_BUF_SYNC_READ` (the fences a reader waits for), `_WRITE` (all of them).
    pub flags: u32,
    /// The new sync_file fd (out).
    pub fd: i32,
}

/// `struct sync_file_info`, asked for with `num_fences = 0`: the kernel fills in the
/// status and the fence count and writes no fence array.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncFileInfo {
    /// Name of the sync_file's fence.
    pub name: [u8; 32],
    /// 1 signalled, 0 active, < 0 signalled with that error.
    pub status: i32,
    /// Flags (none defined).
    pub flags: u32,
    /// Number of fences (out).
    pub num_fences: u32,
    /// Padding.
    pub pad: u32,
    /// User pointer to a fence array; 0 here.
    pub sync_fence_info: u64,
}

const GET_EVENT_FD: Opcode = opcode::read::<i32>(IIO_MAGIC, 0x90);
const BUFFER_GET_FD: Opcode = opcode::read_write::<i32>(IIO_MAGIC, 0x91);
const DMABUF_ATTACH: Opcode = opcode::write::<i32>(IIO_MAGIC, 0x92);
const DMABUF_DETACH: Opcode = opcode::write::<i32>(IIO_MAGIC, 0x93);
const DMABUF_ENQUEUE: Opcode = opcode::write::<IioDmabuf>(IIO_MAGIC, 0x94);
const BLOCK_ALLOC: Opcode = opcode::read_write::<BlockAllocReq>(IIO_MAGIC, 0xa0);
const BLOCK_FREE: Opcode = opcode::none(IIO_MAGIC, 0xa1);
const BLOCK_QUERY: Opcode = opcode::read_write::<Block>(IIO_MAGIC, 0xa2);
const BLOCK_ENQUEUE: Opcode = opcode::read_write::<Block>(IIO_MAGIC, 0xa3);
const BLOCK_DEQUEUE: Opcode = opcode::read_write::<Block>(IIO_MAGIC, 0xa4);
const DMA_HEAP_ALLOC: Opcode = opcode::read_write::<DmaHeapAllocationData>(b'H', 0x0);
const DMA_BUF_SYNC: Opcode = opcode::write::<u64>(b'b', 0);
const DMA_BUF_EXPORT_SYNC_FILE: Opcode = opcode::read_write::<DmaBufExportSyncFile>(b'b', 2);
const SYNC_FILE_INFO: Opcode = opcode::read_write::<SyncFileInfo>(b'>', 4);

/// `IIO_GET_EVENT_FD_IOCTL` on `/dev/iio:deviceN`: the device's event fd (one at a time;
/// `EBUSY` while another exists; `ENODEV` when the device has no events).
pub fn get_event_fd(dev: impl AsFd) -> Result<OwnedFd, Errno> {
    // SAFETY: _IOR('i', 0x90, int): the kernel writes one int, the new fd, on success. On a
    // file that is not an IIO device the ioctl fails (ENOTTY) without touching the int.
    let fd = unsafe { ioctl(dev.as_fd(), Getter::<GET_EVENT_FD, i32>::new())? };
    // SAFETY: on success the int is a new fd installed for this process.
    Ok(unsafe { take_fd(fd) })
}

/// `IIO_BUFFER_GET_FD_IOCTL`: an fd for buffer `index` of the device (kernel ≥ 5.11).
pub fn buffer_get_fd(dev: impl AsFd, index: u32) -> Result<OwnedFd, Errno> {
    let mut arg = i32::try_from(index).map_err(|_| Errno::INVAL)?;
    // SAFETY: _IOWR('i', 0x91, int): the kernel reads the buffer index from the int and
    // writes the new fd back into it; nothing else is touched.
    unsafe { ioctl(dev.as_fd(), Updater::<BUFFER_GET_FD, i32>::new(&mut arg))? };
    // SAFETY: on success `arg` holds a new fd installed for this process.
    Ok(unsafe { take_fd(arg) })
}

/// `IIO_BUFFER_DMABUF_ATTACH_IOCTL` on a buffer fd.
pub fn dmabuf_attach(buffer: impl AsFd, dmabuf: BorrowedFd<'_>) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: _IOW('i', 0x92, int): the kernel reads one int, a dma-buf fd.
    unsafe {
        ioctl(
            buffer.as_fd(),
            Setter::<DMABUF_ATTACH, i32>::new(dmabuf.as_raw_fd()),
        )
    }
}

/// `IIO_BUFFER_DMABUF_DETACH_IOCTL` on a buffer fd.
pub fn dmabuf_detach(buffer: impl AsFd, dmabuf: BorrowedFd<'_>) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: _IOW('i', 0x93, int): the kernel reads one int, a dma-buf fd.
    unsafe {
        ioctl(
            buffer.as_fd(),
            Setter::<DMABUF_DETACH, i32>::new(dmabuf.as_raw_fd()),
        )
    }
}

/// `IIO_BUFFER_DMABUF_ENQUEUE_IOCTL` on a buffer fd.
pub fn dmabuf_enqueue(buffer: impl AsFd, req: IioDmabuf) -> Result<(), Errno> {
    // SAFETY: _IOW('i', 0x94, struct iio_dmabuf): the kernel reads the 16-byte struct.
    unsafe {
        ioctl(
            buffer.as_fd(),
            Setter::<DMABUF_ENQUEUE, IioDmabuf>::new(req),
        )
    }
}

/// `DMA_HEAP_IOCTL_ALLOC` on a `/dev/dma_heap/*` node: a new dma-buf of `len` bytes.
pub fn dma_heap_alloc(heap: impl AsFd, len: u64) -> Result<OwnedFd, Errno> {
    let mut req = DmaHeapAllocationData {
        len,
        // O_RDWR | O_CLOEXEC, as the dma-heap header asks for the new fd.
        fd_flags: (rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC).bits(),
        ..Default::default()
    };
    // SAFETY: _IOWR('H', 0, struct dma_heap_allocation_data): the kernel reads the request
    // and writes the new fd into it.
    unsafe { ioctl(heap.as_fd(), Updater::<DMA_HEAP_ALLOC, _>::new(&mut req))? };
    // SAFETY: on success `fd` is a new dma-buf fd installed for this process.
    Ok(unsafe { take_fd(req.fd as i32) })
}

/// [`dma_heap_alloc`] and a mapping of the whole new dma-buf. The error says which of the
/// two failed: `Err((false, e))` the allocation, `Err((true, e))` the mapping.
///
/// Crate-private: with the fd in hand, safe code could attach the dma-buf to a device
/// that then writes the memory a slice of the mapping borrows.
pub(crate) fn dma_heap_alloc_mapped(
    heap: impl AsFd,
    len: usize,
) -> Result<(OwnedFd, Mapping), (bool, Errno)> {
    let fd = dma_heap_alloc(heap, len as u64).map_err(|e| (false, e))?;
    // SAFETY: a dma-buf this call just allocated: no one else holds it yet, and the caller
    // gets the only fd with the mapping (the device reaches it once the caller attaches it,
    // with dma-buf syncs around CPU access).
    let map = unsafe { Mapping::new(&fd, 0, len) }.map_err(|e| (true, e))?;
    Ok((fd, map))
}

/// `DMA_BUF_IOCTL_SYNC` on a dma-buf fd (`DMA_BUF_SYNC_*` flags).
pub fn dma_buf_sync(dmabuf: impl AsFd, flags: u64) -> Result<(), Errno> {
    // SAFETY: _IOW('b', 0, struct dma_buf_sync { __u64 flags; }): the kernel reads 8 bytes.
    unsafe { ioctl(dmabuf.as_fd(), Setter::<DMA_BUF_SYNC, u64>::new(flags)) }
}

/// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`: a sync_file holding the dma-buf's current fences
/// (`flags` as for [`DmaBufExportSyncFile`]); a signalled stub when there are none. ENOTTY on
/// kernels built without `CONFIG_SYNC_FILE`.
pub fn dma_buf_export_sync_file(dmabuf: impl AsFd, flags: u32) -> Result<OwnedFd, Errno> {
    let mut req = DmaBufExportSyncFile { flags, fd: -1 };
    // SAFETY: _IOWR('b', 2, struct dma_buf_export_sync_file): the kernel reads the flags and
    // writes the new fd into the 8-byte struct.
    unsafe {
        ioctl(
            dmabuf.as_fd(),
            Updater::<DMA_BUF_EXPORT_SYNC_FILE, _>::new(&mut req),
        )?
    };
    // SAFETY: on success `fd` is a new sync_file fd installed for this process.
    Ok(unsafe { take_fd(req.fd) })
}

/// `SYNC_IOC_FILE_INFO` on a sync_file: its status (1 signalled, 0 active, < 0 the error
/// it was signalled with).
pub fn sync_file_status(sync: impl AsFd) -> Result<i32, Errno> {
    let mut info = SyncFileInfo {
        name: [0; 32],
        status: 0,
        flags: 0,
        num_fences: 0,
        pad: 0,
        sync_fence_info: 0,
    };
    // SAFETY: _IOWR('>', 4, struct sync_file_info) with num_fences = 0: the kernel fills
    // in the 56-byte struct and follows no pointer.
    unsafe { ioctl(sync.as_fd(), Updater::<SYNC_FILE_INFO, _>::new(&mut info))? };
    Ok(info.status)
}

/// ADI `BLOCK_ALLOC_IOCTL`: allocates `count` more blocks of `size` bytes; returns the id of
/// the first new block and how many the kernel allocated (possibly fewer).
pub fn block_alloc(buffer: impl AsFd, size: u32, count: u32) -> Result<(u32, u32), Errno> {
    let mut req = BlockAllocReq {
        size,
        count,
        ..Default::default()
    };
    // SAFETY: _IOWR('i', 0xa0, struct iio_buffer_block_alloc_req) on ADI kernels; other
    // kernels reject the number (ENOTTY) without touching the struct.
    retry_intr(|| unsafe { ioctl(buffer.as_fd(), Updater::<BLOCK_ALLOC, _>::new(&mut req)) })?;
    Ok((req.id, req.count))
}

/// ADI `BLOCK_FREE_IOCTL`: frees the blocks (and probes for the API: mainline kernels
/// answer ENOTTY).
pub fn block_free(buffer: impl AsFd) -> Result<(), Errno> {
    // SAFETY: _IO('i', 0xa1): no argument.
    retry_intr(|| unsafe { ioctl(buffer.as_fd(), NoArg::<BLOCK_FREE>::new()) })
}

fn block_op<const OP: Opcode>(buffer: BorrowedFd<'_>, block: &mut Block) -> Result<(), Errno> {
    // SAFETY: OP is one of the ADI block ioctls _IOWR('i', 0xa2..0xa4, struct
    // iio_buffer_block): the kernel reads and writes that 32-byte struct only.
    retry_intr(|| unsafe { ioctl(buffer, Updater::<OP, Block>::new(block)) })
}

/// ADI `BLOCK_QUERY_IOCTL`: fills in block `id` (size, mmap offset).
pub fn block_query(buffer: impl AsFd, id: u32) -> Result<Block, Errno> {
    let mut b = Block {
        id,
        ..Default::default()
    };
    block_op::<BLOCK_QUERY>(buffer.as_fd(), &mut b)?;
    Ok(b)
}

/// ADI `BLOCK_ENQUEUE_IOCTL`: hands a block to the kernel.
pub fn block_enqueue(buffer: impl AsFd, block: &mut Block) -> Result<(), Errno> {
    block_op::<BLOCK_ENQUEUE>(buffer.as_fd(), block)
}

/// ADI `BLOCK_DEQUEUE_IOCTL`: takes back a finished block.
pub fn block_dequeue(buffer: impl AsFd) -> Result<Block, Errno> {
    let mut b = Block::default();
    block_op::<BLOCK_DEQUEUE>(buffer.as_fd(), &mut b)?;
    Ok(b)
}

/// Why `block_query_map` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockMapError {
    /// `BLOCK_QUERY_IOCTL` failed.
    Query(Errno),
    /// The kernel described another block than the one asked for.
    WrongId(u32),
    /// The block is smaller than the mapping asked for (its size).
    TooSmall(u32),
    /// `mmap()` failed.
    Map(Errno),
}

/// ADI `BLOCK_QUERY_IOCTL` of block `id` on an IIO buffer fd, then a mapping of its first
/// `len` bytes at the offset the kernel gave.
///
/// Crate-private: two mappings of the same block would hand out overlapping `&mut [u8]`,
/// so only the block engine (`mmap_blocks`), which maps each block of its fd exactly once,
/// calls it.
pub(crate) fn block_query_map(
    buffer: impl AsFd,
    id: u32,
    len: usize,
) -> Result<(Block, Mapping), BlockMapError> {
    let b = block_query(buffer.as_fd(), id).map_err(BlockMapError::Query)?;
    if b.id != id {
        return Err(BlockMapError::WrongId(b.id));
    }
    if (b.size as usize) < len {
        return Err(BlockMapError::TooSmall(b.size));
    }
    // SAFETY: the fd answered BLOCK_QUERY for this block, so it is an IIO buffer of the
    // block API and the offset maps that block's kernel memory, which only the device and
    // this mapping reach; the caller orders device access with BLOCK_ENQUEUE/DEQUEUE.
    let map =
        unsafe { Mapping::new(buffer, u64::from(b.offset), len) }.map_err(BlockMapError::Map)?;
    Ok((b, map))
}

/// A shared, read-write memory mapping of a kernel block or dma-buf, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access goes through `&self` /
// `&mut self` slices, so moving it to another thread is as safe as moving a `Vec<u8>`.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` at `offset`, shared and read-write.
    ///
    /// Only the crate maps memory safely on top of this: fresh dma-bufs it allocates
    /// (`dma_heap_alloc_mapped`) and the kernel blocks of its own buffers, each once. Both
    /// are crate-private: given the fd, safe code could have a device write memory that a
    /// slice of the mapping borrows.
    ///
    /// # Safety
    /// The mapping hands out `&mut [u8]` over the object's memory: nothing else may write
    /// that memory while the mapping lives, except a device whose access the caller orders
    /// around CPU access (dma-buf sync, block queue/dequeue). A regular file that another
    /// process or `write()` changes breaks this.
    pub unsafe fn new(fd: impl AsFd, offset: u64, len: usize) -> Result<Mapping, Errno> {
        use rustix::mm::{mmap, MapFlags, ProtFlags};
        if len == 0 {
            return Err(Errno::INVAL);
        }
        // SAFETY: a fresh mapping at an address the kernel chooses (null hint) cannot alias
        // any Rust object; it is unmapped exactly once, in Drop.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                offset,
            )?
        };
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(Errno::NOMEM)?;
        Ok(Mapping { ptr, len })
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The mapped bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` maps `len` writable bytes for the life of `self`, borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; no slice outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn struct_layouts_match_the_kernel() {
        assert_eq!(size_of::<IioEventData>(), 16);
        assert_eq!(offset_of!(IioEventData, timestamp), 8);
        assert_eq!(size_of::<IioDmabuf>(), 16);
        assert_eq!(offset_of!(IioDmabuf, flags), 4);
        assert_eq!(offset_of!(IioDmabuf, bytes_used), 8);
        assert_eq!(size_of::<BlockAllocReq>(), 16);
        assert_eq!(size_of::<Block>(), 32);
        assert_eq!(offset_of!(Block, offset), 20);
        assert_eq!(offset_of!(Block, timestamp), 24);
        assert_eq!(size_of::<DmaHeapAllocationData>(), 24);
        assert_eq!(offset_of!(DmaHeapAllocationData, heap_flags), 16);
        assert_eq!(size_of::<DmaBufExportSyncFile>(), 8);
        assert_eq!(size_of::<SyncFileInfo>(), 56);
        assert_eq!(offset_of!(SyncFileInfo, status), 32);
        assert_eq!(offset_of!(SyncFileInfo, sync_fence_info), 48);
    }

    #[test]
    fn ioctl_numbers_match_the_kernel() {
        // §7 of shared/protocol/iio-sysfs.md (x86_64 / generic _IOC encoding)
        assert_eq!(GET_EVENT_FD, 0x8004_6990);
        assert_eq!(BUFFER_GET_FD, 0xc004_6991);
        assert_eq!(DMABUF_ATTACH, 0x4004_6992);
        assert_eq!(DMABUF_DETACH, 0x4004_6993);
        assert_eq!(DMABUF_ENQUEUE, 0x4010_6994);
        assert_eq!(BLOCK_ALLOC, 0xc010_69a0);
        assert_eq!(BLOCK_FREE, 0x0000_69a1);
        assert_eq!(BLOCK_QUERY, 0xc020_69a2);
        assert_eq!(BLOCK_ENQUEUE, 0xc020_69a3);
        assert_eq!(BLOCK_DEQUEUE, 0xc020_69a4);
        assert_eq!(DMA_HEAP_ALLOC, 0xc018_4800);
        assert_eq!(DMA_BUF_SYNC, 0x4008_6200);
        assert_eq!(DMA_BUF_EXPORT_SYNC_FILE, 0xc008_6202);
        assert_eq!(SYNC_FILE_INFO, 0xc038_3e04);
    }

    #[test]
    fn event_bytes_decode() {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&0x0001_0000_0000_0000u64.to_ne_bytes());
        b[8..].copy_from_slice(&(-5i64).to_ne_bytes());
        let e = IioEventData::from_bytes(&b);
        assert_eq!((e.id, e.timestamp), (1 << 48, -5));
    }

    #[test]
    fn ioctls_on_a_fifo_fail_with_enotty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .unwrap();
        // A kernel answers ENOTTY; qemu-user (the cross-build test runner) answers ENOSYS
        // for ioctl numbers it does not know.
        for e in [
            get_event_fd(&f).unwrap_err(),
            buffer_get_fd(&f, 0).unwrap_err(),
            block_free(&f).unwrap_err(),
        ] {
            assert!(e == Errno::NOTTY || e == Errno::NOSYS, "{e:?}");
        }
    }
}
