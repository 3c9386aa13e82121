// SPDX-License-Identifier: GPL-2.0
/*
 * ferroio_mmapsim: software IIO devices whose buffer offers the "high-speed
 * mmap" block interface of Analog Devices' kernels, built into the VM tier's
 * 6.12 kernel so that ferroio's client of that interface and Debian's libiio
 * 0.24 (whose local backend uses it when present) are tested against the real
 * IIO core, with no hardware.
 *
 * Written for ferroio's tests; it is not an upstream driver. It emulates the
 * user-space interface of ADI's block API (the uAPI below, as ADI's DMA buffer
 * behaves towards user space); it is NOT ADI's implementation. Mainline has no
 * way for a buffer to take ioctls or mmap(), so this driver needs ferroio's
 * core patch tests/kernel/patches/6.12/0001-iio-buffer-ioctl-and-mmap-hooks.patch
 * (struct iio_buffer_access_funcs .ioctl and .mmap).
 *
 * Two configfs device types; instances are made like iio_dummy's:
 *   mkdir /sys/kernel/config/iio/devices/mmapsim/NAME       (input)
 *   mkdir /sys/kernel/config/iio/devices/mmapsim_out/NAME   (output)
 * NAME is the IIO device name. mmapsim has in_voltage0..3, mmapsim_out has
 * out_voltage0..1; every channel is le:s16/16>>0 with scale 0.5; no
 * timestamp. Each device has one buffer (buffer0, /dev/iio:deviceN), in
 * hardware mode (no trigger). It has no read() or write(): data moves only
 * through blocks.
 *
 * uAPI: ioctls on /dev/iio:deviceN or on the fd IIO_BUFFER_GET_FD_IOCTL gives
 * for buffer 0:
 *   struct alloc_req { u32 type, size, count, id; }                  16 bytes
 *   struct block { u32 id, size, bytes_used, type, flags;
 *                  union { u32 offset; } data; u64 timestamp; }      32 bytes
 *   ALLOC   _IOWR('i', 0xa0, struct alloc_req)
 *   FREE    _IO('i', 0xa1)
 *   QUERY   _IOWR('i', 0xa2, struct block)
 *   ENQUEUE _IOWR('i', 0xa3, struct block)
 *   DEQUEUE _IOWR('i', 0xa4, struct block)
 *   flags: bit 0 TIMESTAMP_VALID (never set here; timestamp is always 0),
 *          bit 1 CYCLIC (output only; ignored on input).
 *
 * Block states: DEQUEUED (user space owns it), QUEUED (waits for the emulated
 * DMA), ACTIVE (being filled or drained), HELD (cyclic output block, consumed
 * once and then kept as if replayed), DONE (in the outgoing list).
 *
 * ALLOC    -EBUSY while the buffer is enabled. Appends blocks to those
 *          already there: at most 64 in all, each of min(size, 16 MiB)
 *          bytes, zero-filled; size 0 or count 0 allocates none and
 *          succeeds. Writes back count (blocks made) and id (the first new
 *          block's id; ids are table indices). New blocks are DEQUEUED, with
 *          bytes_used = size, flags 0, and data.offset (their mmap offset)
 *          the sum of PAGE_ALIGN(size) over the blocks before them. -ENOMEM
 *          only when not even one block could be allocated; -ENODEV once the
 *          device is removed (its buffer may outlive it in an open fd).
 * FREE     Never fails (libiio probes the API with it), enabled or not.
 *          While the buffer is enabled and not paused, it first lets the
 *          emulated DMA finish every block already queued (as ADI's DMA
 *          completes what it was handed): queued output is consumed, queued
 *          input is filled, then dropped. Then every block goes, in any
 *          state (queues emptied, held cyclic blocks released); ids and
 *          offsets start again from 0. A block's memory stays valid until
 *          its last user mapping is gone.
 * QUERY    -EINVAL if id >= the number of blocks; else writes the block back.
 * ENQUEUE  Reads id, bytes_used and flags; the struct is not written back.
 *          -EINVAL for a bad id or bytes_used > size; -EBUSY if the block is
 *          ACTIVE or HELD. DEQUEUED or DONE (taken off the outgoing list):
 *          queued at the tail. QUEUED: stays in place, with the new
 *          bytes_used and flags. While enabled, queued blocks are processed
 *          in order; while disabled they wait for the next enable.
 * DEQUEUE  Takes the oldest DONE block (it becomes DEQUEUED) and writes it
 *          back; -EAGAIN if there is none. Never blocks: poll() first.
 * mmap     MAP_SHARED of the buffer fd at a block's data.offset, length at
 *          most PAGE_ALIGN(size): maps that block. -EINVAL otherwise.
 * poll     EPOLLIN (input) or EPOLLOUT (output) while a block is DONE.
 *
 * The emulated DMA is a work item that, while the buffer is enabled and
 * sim_paused is 0, takes queued blocks in order. Input: fills the block's
 * first bytes_used bytes with whole scans of the enabled channels, scan n
 * (counted from 0 at each enable) carrying the 16-bit value
 * (n * 16 + c) mod 65536 for channel c; bytes after the last whole scan are
 * zero. Output: counts the block's first bytes_used bytes and hashes them
 * (64-bit FNV-1a; both continued across blocks and reset at each enable).
 * Then the block is DONE and poll() wakes, except a CYCLIC output block,
 * which is HELD until the buffer is disabled.
 *
 * Disable: unless paused, the DMA first finishes every block already queued;
 * a block being processed always finishes. Held cyclic blocks then become
 * DONE. Blocks still queued (because paused) stay queued for the next enable,
 * unless sim_abort_on_disable is 1: then they are aborted, as ADI's DMA buffer
 * does, and become DONE at once, input blocks with bytes_used 0.
 * Blocks outlive disable and the closing of the fd: they go with FREE or
 * with the device.
 *
 * Device attributes:
 *   sim_paused          0/1; 1 stops the DMA before its next block
 *   sim_abort_on_disable 0/1; 1 aborts queued blocks at disable (above)
 *   sim_block_ioctls    block-API ioctls (all five, failed ones too) the
 *                       buffer has served since the device was made
 *   sim_mapped          live user mappings (VMAs) of blocks
 *   sim_trace           what happened, one letter each (first 1023 kept;
 *                       "..." after them when more happened): A F Q E D for
 *                       the ioctls (lower case: it failed), M a mapping (m:
 *                       refused), + enable, - disable. Writing clears it.
 *   mmapsim_out only:
 *   sim_consumed_bytes, sim_consumed_fnv1a (16 hex digits), sim_cyclic_held
 */

#include <linux/bitmap.h>
#include <linux/ctype.h>
#include <linux/kref.h>
#include <linux/kstrtox.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include <linux/iio/buffer.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/iio.h>
#include <linux/iio/sw_device.h>

#include "ferroio_sim.h"

#define MMAPSIM_MAX_BLOCKS 64
#define MMAPSIM_MAX_BLOCK_SIZE (16U << 20)
#define MMAPSIM_MAX_CHANNELS 4
#define MMAPSIM_TRACE_LEN 1024

struct mmapsim_alloc_req {
	__u32 type;
	__u32 size;
	__u32 count;
	__u32 id;
};

struct mmapsim_block_desc {
	__u32 id;
	__u32 size;
	__u32 bytes_used;
	__u32 type;
	__u32 flags;
	union {
		__u32 offset;
	} data;
	__u64 timestamp;
};

static_assert(sizeof(struct mmapsim_alloc_req) == 16);
static_assert(sizeof(struct mmapsim_block_desc) == 32);

#define MMAPSIM_FLAG_CYCLIC BIT(1)

#define MMAPSIM_ALLOC_IOCTL _IOWR('i', 0xa0, struct mmapsim_alloc_req)
#define MMAPSIM_FREE_IOCTL _IO('i', 0xa1)
#define MMAPSIM_QUERY_IOCTL _IOWR('i', 0xa2, struct mmapsim_block_desc)
#define MMAPSIM_ENQUEUE_IOCTL _IOWR('i', 0xa3, struct mmapsim_block_desc)
#define MMAPSIM_DEQUEUE_IOCTL _IOWR('i', 0xa4, struct mmapsim_block_desc)

enum mmapsim_state {
	MMAPSIM_DEQUEUED,
	MMAPSIM_QUEUED,
	MMAPSIM_ACTIVE,
	MMAPSIM_HELD,
	MMAPSIM_DONE,
};

struct mmapsim_buf;

struct mmapsim_block {
	/* References: the block table, each VMA, the work item while active. */
	struct kref ref;
	struct mmapsim_buf *owner; /* the block holds a reference to it */
	struct list_head head; /* queued, outgoing or held (owner->lock) */
	enum mmapsim_state state;
	bool dropped; /* freed from the table while active */
	void *vaddr; /* vmalloc_user(), PAGE_ALIGN(desc.size) bytes */
	struct mmapsim_block_desc desc;
};

/*
 * Lock order: mmap_lock (mmap) or the IIO core's locks (ioctl, enable) before
 * lock; nothing that may fault or sleep for long runs under lock, so
 * copy_{from,to}_user and vmalloc happen outside it.
 */
struct mmapsim_buf {
	struct iio_buffer buffer;
	struct mutex lock; /* the table, lists, states, counters, trace */
	struct mmapsim_block *blocks[MMAPSIM_MAX_BLOCKS];
	unsigned int nblocks;
	struct list_head queued;
	struct list_head outgoing;
	struct list_head held;
	bool enabled;
	bool dead; /* the device is gone: no new blocks */
	bool paused; /* READ_ONCE/WRITE_ONCE */
	bool abort_on_disable; /* READ_ONCE/WRITE_ONCE */
	struct work_struct work;

	/* Fixed while enabled (set in enable, read by the work item). */
	size_t bpd;
	unsigned int chans[MMAPSIM_MAX_CHANNELS];
	unsigned int nchans;

	u64 scans; /* input: scans produced since enable */
	u64 out_bytes; /* output: consumed since enable */
	u64 out_hash;

	u64 ioctls;
	atomic_t mapped;
	char trace[MMAPSIM_TRACE_LEN];
	unsigned int trace_len;
	bool trace_lost;
};

struct mmapsim {
	struct iio_sw_device swd;
	struct iio_dev *indio_dev;
	struct mmapsim_buf *buf;
};

static struct mmapsim_buf *to_mmapsim_buf(struct iio_buffer *buffer)
{
	return container_of(buffer, struct mmapsim_buf, buffer);
}

static bool mmapsim_is_input(const struct mmapsim_buf *b)
{
	return b->buffer.direction == IIO_BUFFER_DIRECTION_IN;
}

/* Called with b->lock held. */
static void mmapsim_trace(struct mmapsim_buf *b, char c)
{
	if (b->trace_len < MMAPSIM_TRACE_LEN - 1)
		b->trace[b->trace_len++] = c;
	else
		b->trace_lost = true;
}

static void mmapsim_block_release(struct kref *ref)
{
	struct mmapsim_block *blk = container_of(ref, struct mmapsim_block, ref);
	struct mmapsim_buf *b = blk->owner;

	vfree(blk->vaddr);
	kfree(blk);
	iio_buffer_put(&b->buffer);
}

static void mmapsim_block_put(struct mmapsim_block *blk)
{
	kref_put(&blk->ref, mmapsim_block_release);
}

static struct mmapsim_block *mmapsim_block_new(struct mmapsim_buf *b, u32 size)
{
	struct mmapsim_block *blk = kzalloc(sizeof(*blk), GFP_KERNEL);

	if (!blk)
		return NULL;
	blk->vaddr = vmalloc_user(PAGE_ALIGN(size));
	if (!blk->vaddr) {
		kfree(blk);
		return NULL;
	}
	kref_init(&blk->ref);
	INIT_LIST_HEAD(&blk->head);
	blk->owner = b;
	iio_buffer_get(&b->buffer);
	blk->state = MMAPSIM_DEQUEUED;
	blk->desc.size = size;
	blk->desc.bytes_used = size;
	return blk;
}

/* Input: the first len bytes of a block, from scan `first` on. */
static void mmapsim_fill(const struct mmapsim_buf *b, u8 *dst, size_t len,
			 u64 first)
{
	size_t bpd = b->bpd, whole = bpd ? len / bpd * bpd : 0, pos;
	unsigned int k;

	for (pos = 0; pos < whole; pos += bpd) {
		u64 n = first + pos / bpd;

		memset(dst + pos, 0, bpd);
		for (k = 0; k < b->nchans && 2 * k + 2 <= bpd; k++)
			put_unaligned_le16(ferroio_sim_sample(n, b->chans[k]),
					   dst + pos + 2 * k);
	}
	memset(dst + whole, 0, len - whole);
}

/* The emulated DMA: processes one queued block; false when it cannot. */
static bool mmapsim_step(struct mmapsim_buf *b)
{
	bool in = mmapsim_is_input(b), wake = false, cyclic;
	struct mmapsim_block *blk;
	u64 first = 0, hash = 0;
	size_t len;

	mutex_lock(&b->lock);
	if (!b->enabled || READ_ONCE(b->paused) || list_empty(&b->queued)) {
		mutex_unlock(&b->lock);
		return false;
	}
	blk = list_first_entry(&b->queued, struct mmapsim_block, head);
	list_del_init(&blk->head);
	blk->state = MMAPSIM_ACTIVE;
	kref_get(&blk->ref);
	len = blk->desc.bytes_used;
	cyclic = !in && (blk->desc.flags & MMAPSIM_FLAG_CYCLIC);
	if (in) {
		first = b->scans;
		if (b->bpd)
			b->scans += len / b->bpd;
	} else {
		hash = b->out_hash;
	}
	mutex_unlock(&b->lock);

	/* Only this work item processes blocks, so the hash cannot move meanwhile. */
	if (in)
		mmapsim_fill(b, blk->vaddr, len, first);
	else
		hash = ferroio_sim_fnv(hash, blk->vaddr, len);

	mutex_lock(&b->lock);
	if (!in) {
		b->out_hash = hash;
		b->out_bytes += len;
	}
	if (blk->dropped) {
		/* FREE took it from the table meanwhile: nobody to return it to. */
	} else if (cyclic) {
		blk->state = MMAPSIM_HELD;
		list_add_tail(&blk->head, &b->held);
	} else {
		blk->state = MMAPSIM_DONE;
		list_add_tail(&blk->head, &b->outgoing);
		wake = true;
	}
	mutex_unlock(&b->lock);

	if (wake)
		wake_up_interruptible_poll(&b->buffer.pollq,
					   in ? EPOLLIN | EPOLLRDNORM :
						EPOLLOUT | EPOLLWRNORM);
	mmapsim_block_put(blk);
	return true;
}

static void mmapsim_work(struct work_struct *work)
{
	struct mmapsim_buf *b = container_of(work, struct mmapsim_buf, work);

	while (mmapsim_step(b))
		cond_resched();
}

static int mmapsim_alloc(struct mmapsim_buf *b, void __user *uarg)
{
	struct mmapsim_block *fresh[MMAPSIM_MAX_BLOCKS];
	unsigned int want, got, used = 0, i;
	struct mmapsim_alloc_req req;
	struct mmapsim_block *last;
	u32 size, offset;
	int ret = 0;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	size = min(req.size, MMAPSIM_MAX_BLOCK_SIZE);

	mutex_lock(&b->lock);
	if (b->enabled)
		ret = -EBUSY;
	else if (b->dead)
		ret = -ENODEV;
	want = size ? min(req.count, MMAPSIM_MAX_BLOCKS - b->nblocks) : 0;
	mutex_unlock(&b->lock);
	if (ret)
		return ret;

	for (got = 0; got < want; got++) {
		fresh[got] = mmapsim_block_new(b, size);
		if (!fresh[got])
			break;
	}

	mutex_lock(&b->lock);
	if (b->enabled) {
		ret = -EBUSY;
	} else if (b->dead) {
		ret = -ENODEV;
	} else if (want && !got) {
		ret = -ENOMEM;
	} else {
		used = min(got, MMAPSIM_MAX_BLOCKS - b->nblocks);
		last = b->nblocks ? b->blocks[b->nblocks - 1] : NULL;
		offset = last ? last->desc.data.offset + PAGE_ALIGN(last->desc.size) : 0;
		req.id = b->nblocks;
		req.count = used;
		for (i = 0; i < used; i++) {
			fresh[i]->desc.id = b->nblocks;
			fresh[i]->desc.data.offset = offset;
			offset += PAGE_ALIGN(size);
			b->blocks[b->nblocks++] = fresh[i];
		}
	}
	mutex_unlock(&b->lock);

	for (i = used; i < got; i++)
		mmapsim_block_put(fresh[i]);
	if (!ret && copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
	return ret;
}

/* Drops every block; with drain, the running DMA first finishes its queue. */
static void mmapsim_free_all(struct mmapsim_buf *b, bool drain)
{
	struct mmapsim_block *gone[MMAPSIM_MAX_BLOCKS];
	unsigned int n, i;

	if (drain) {
		mutex_lock(&b->lock);
		drain = b->enabled && !READ_ONCE(b->paused);
		mutex_unlock(&b->lock);
		if (drain)
			flush_work(&b->work);
	}

	mutex_lock(&b->lock);
	n = b->nblocks;
	for (i = 0; i < n; i++) {
		struct mmapsim_block *blk = b->blocks[i];

		b->blocks[i] = NULL;
		if (blk->state == MMAPSIM_ACTIVE)
			blk->dropped = true;
		else
			list_del_init(&blk->head);
		gone[i] = blk;
	}
	b->nblocks = 0;
	mutex_unlock(&b->lock);

	for (i = 0; i < n; i++)
		mmapsim_block_put(gone[i]);
}

static int mmapsim_query(struct mmapsim_buf *b, void __user *uarg)
{
	struct mmapsim_block_desc d;
	int ret = 0;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	mutex_lock(&b->lock);
	if (d.id >= b->nblocks)
		ret = -EINVAL;
	else
		d = b->blocks[d.id]->desc;
	mutex_unlock(&b->lock);
	if (!ret && copy_to_user(uarg, &d, sizeof(d)))
		ret = -EFAULT;
	return ret;
}

/*
 * Queues a block; *kick tells the caller to start the work item, which it does
 * under b->lock after tracing the ioctl (so the trace shows the E before
 * anything the work item does with the block, and the work is never queued
 * after disable or removal cancelled it: both clear b->enabled under the lock).
 */
static int mmapsim_enqueue(struct mmapsim_buf *b, void __user *uarg,
			   bool *kick)
{
	struct mmapsim_block_desc d;
	struct mmapsim_block *blk;
	int ret = 0;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	mutex_lock(&b->lock);
	if (d.id >= b->nblocks) {
		ret = -EINVAL;
		goto out;
	}
	blk = b->blocks[d.id];
	if (d.bytes_used > blk->desc.size) {
		ret = -EINVAL;
		goto out;
	}
	switch (blk->state) {
	case MMAPSIM_ACTIVE:
	case MMAPSIM_HELD:
		ret = -EBUSY;
		goto out;
	case MMAPSIM_QUEUED:
		break;
	case MMAPSIM_DONE:
		list_del_init(&blk->head);
		fallthrough;
	case MMAPSIM_DEQUEUED:
		blk->state = MMAPSIM_QUEUED;
		list_add_tail(&blk->head, &b->queued);
		*kick = true;
		break;
	}
	blk->desc.bytes_used = d.bytes_used;
	blk->desc.flags = d.flags;
out:
	mutex_unlock(&b->lock);
	return ret;
}

static int mmapsim_dequeue(struct mmapsim_buf *b, void __user *uarg)
{
	struct mmapsim_block_desc d = {};
	struct mmapsim_block *blk;
	int ret = 0;

	mutex_lock(&b->lock);
	blk = list_first_entry_or_null(&b->outgoing, struct mmapsim_block, head);
	if (blk) {
		list_del_init(&blk->head);
		blk->state = MMAPSIM_DEQUEUED;
		d = blk->desc;
	} else {
		ret = -EAGAIN;
	}
	mutex_unlock(&b->lock);
	if (!ret && copy_to_user(uarg, &d, sizeof(d)))
		ret = -EFAULT;
	return ret;
}

static long mmapsim_ioctl(struct iio_buffer *buffer, unsigned int cmd,
			  unsigned long arg)
{
	struct mmapsim_buf *b = to_mmapsim_buf(buffer);
	void __user *uarg = (void __user *)arg;
	bool kick = false;
	long ret;
	char tag;

	switch (cmd) {
	case MMAPSIM_ALLOC_IOCTL:
		tag = 'A';
		ret = mmapsim_alloc(b, uarg);
		break;
	case MMAPSIM_FREE_IOCTL:
		tag = 'F';
		mmapsim_free_all(b, true);
		ret = 0;
		break;
	case MMAPSIM_QUERY_IOCTL:
		tag = 'Q';
		ret = mmapsim_query(b, uarg);
		break;
	case MMAPSIM_ENQUEUE_IOCTL:
		tag = 'E';
		ret = mmapsim_enqueue(b, uarg, &kick);
		break;
	case MMAPSIM_DEQUEUE_IOCTL:
		tag = 'D';
		ret = mmapsim_dequeue(b, uarg);
		break;
	default:
		return -ENOIOCTLCMD;
	}

	mutex_lock(&b->lock);
	b->ioctls++;
	mmapsim_trace(b, ret ? tolower(tag) : tag);
	if (kick && b->enabled)
		queue_work(system_unbound_wq, &b->work);
	mutex_unlock(&b->lock);
	return ret;
}

static void mmapsim_vm_open(struct vm_area_struct *vma)
{
	struct mmapsim_block *blk = vma->vm_private_data;

	kref_get(&blk->ref);
	atomic_inc(&blk->owner->mapped);
}

static void mmapsim_vm_close(struct vm_area_struct *vma)
{
	struct mmapsim_block *blk = vma->vm_private_data;

	atomic_dec(&blk->owner->mapped);
	mmapsim_block_put(blk);
}

static const struct vm_operations_struct mmapsim_vm_ops = {
	.open = mmapsim_vm_open,
	.close = mmapsim_vm_close,
};

static int mmapsim_mmap(struct iio_buffer *buffer, struct vm_area_struct *vma)
{
	struct mmapsim_buf *b = to_mmapsim_buf(buffer);
	unsigned long len = vma->vm_end - vma->vm_start;
	struct mmapsim_block *blk = NULL;
	unsigned int i;
	int ret = -EINVAL;

	mutex_lock(&b->lock);
	for (i = 0; i < b->nblocks; i++) {
		if (b->blocks[i]->desc.data.offset >> PAGE_SHIFT == vma->vm_pgoff) {
			blk = b->blocks[i];
			break;
		}
	}
	if (blk && (vma->vm_flags & VM_MAYSHARE) &&
	    len <= PAGE_ALIGN(blk->desc.size))
		ret = remap_vmalloc_range(vma, blk->vaddr, 0);
	if (!ret) {
		kref_get(&blk->ref);
		atomic_inc(&b->mapped);
		vma->vm_private_data = blk;
		vma->vm_ops = &mmapsim_vm_ops;
	}
	mmapsim_trace(b, ret ? 'm' : 'M');
	mutex_unlock(&b->lock);
	return ret;
}

/* Poll: input data_available and output space_available alike. */
static size_t mmapsim_done_bytes(struct iio_buffer *buffer)
{
	struct mmapsim_buf *b = to_mmapsim_buf(buffer);
	struct mmapsim_block *blk;
	size_t n = 0;

	mutex_lock(&b->lock);
	list_for_each_entry(blk, &b->outgoing, head)
		n += blk->desc.bytes_used;
	/* The fixed watermark is 1: an empty block done is still a block. */
	if (!n && !list_empty(&b->outgoing))
		n = 1;
	mutex_unlock(&b->lock);
	return n;
}

static int mmapsim_set_bytes_per_datum(struct iio_buffer *buffer, size_t bpd)
{
	buffer->bytes_per_datum = bpd;
	return 0;
}

static int mmapsim_set_length(struct iio_buffer *buffer, unsigned int length)
{
	/* Not used: the blocks' sizes come from ALLOC. Kept so libiio can write it. */
	buffer->length = length;
	return 0;
}

static int mmapsim_enable(struct iio_buffer *buffer, struct iio_dev *indio_dev)
{
	struct mmapsim_buf *b = to_mmapsim_buf(buffer);
	unsigned int bit;

	mutex_lock(&b->lock);
	b->nchans = 0;
	for_each_set_bit(bit, (unsigned long *)buffer->scan_mask,
			 iio_get_masklength(indio_dev)) {
		if (b->nchans < MMAPSIM_MAX_CHANNELS)
			b->chans[b->nchans++] = bit;
	}
	b->bpd = buffer->bytes_per_datum;
	b->scans = 0;
	b->out_bytes = 0;
	b->out_hash = FERROIO_SIM_FNV_OFFSET;
	b->enabled = true;
	mmapsim_trace(b, '+');
	mutex_unlock(&b->lock);
	queue_work(system_unbound_wq, &b->work);
	return 0;
}

static int mmapsim_disable(struct iio_buffer *buffer, struct iio_dev *indio_dev)
{
	struct mmapsim_buf *b = to_mmapsim_buf(buffer);
	struct mmapsim_block *blk, *tmp;

	/* What the DMA was handed completes, unless it is paused. */
	if (!READ_ONCE(b->paused))
		flush_work(&b->work);

	mutex_lock(&b->lock);
	b->enabled = false;
	mmapsim_trace(b, '-');
	mutex_unlock(&b->lock);
	/* A block being processed finishes; nothing else starts. */
	cancel_work_sync(&b->work);

	mutex_lock(&b->lock);
	if (READ_ONCE(b->abort_on_disable)) {
		list_for_each_entry_safe(blk, tmp, &b->queued, head) {
			blk->state = MMAPSIM_DONE;
			if (mmapsim_is_input(b))
				blk->desc.bytes_used = 0;
			list_move_tail(&blk->head, &b->outgoing);
		}
	}
	list_for_each_entry_safe(blk, tmp, &b->held, head) {
		blk->state = MMAPSIM_DONE;
		list_move_tail(&blk->head, &b->outgoing);
	}
	mutex_unlock(&b->lock);
	wake_up_interruptible_poll(&buffer->pollq, mmapsim_is_input(b) ?
				   EPOLLIN | EPOLLRDNORM : EPOLLOUT | EPOLLWRNORM);
	return 0;
}

static void mmapsim_buffer_release(struct iio_buffer *buffer)
{
	struct mmapsim_buf *b = to_mmapsim_buf(buffer);

	/* Nothing may run on b once it is gone (the buffer can outlive the device). */
	cancel_work_sync(&b->work);
	mutex_destroy(&b->lock);
	kfree(b);
}

static const struct iio_buffer_access_funcs mmapsim_access = {
	.data_available = mmapsim_done_bytes,
	.space_available = mmapsim_done_bytes,
	.set_bytes_per_datum = mmapsim_set_bytes_per_datum,
	.set_length = mmapsim_set_length,
	.enable = mmapsim_enable,
	.disable = mmapsim_disable,
	.release = mmapsim_buffer_release,
	.ioctl = mmapsim_ioctl,
	.mmap = mmapsim_mmap,
	.modes = INDIO_BUFFER_HARDWARE,
	.flags = INDIO_BUFFER_FLAG_FIXED_WATERMARK,
};

static const struct iio_chan_spec mmapsim_in_channels[] = {
	FERROIO_SIM_CHAN(0, 0), FERROIO_SIM_CHAN(0, 1),
	FERROIO_SIM_CHAN(0, 2), FERROIO_SIM_CHAN(0, 3),
};

static const struct iio_chan_spec mmapsim_out_channels[] = {
	FERROIO_SIM_CHAN(1, 0), FERROIO_SIM_CHAN(1, 1),
};

static struct mmapsim_buf *dev_to_simbuf(struct device *dev)
{
	struct mmapsim *sim = *(struct mmapsim **)iio_priv(dev_to_iio_dev(dev));

	return sim->buf;
}

static ssize_t sim_paused_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(dev_to_simbuf(dev)->paused));
}

/* Stores a 0/1 attribute written to @buf in @flag. */
static int mmapsim_store_flag(const char *buf, bool *flag)
{
	bool v;
	int ret;

	ret = kstrtobool(buf, &v);
	if (!ret)
		WRITE_ONCE(*flag, v);
	return ret;
}

/* A u64 of @b read under its lock, as sysfs text in @fmt. */
static ssize_t mmapsim_show_u64(struct mmapsim_buf *b, const u64 *field,
				const char *fmt, char *buf)
{
	u64 v;

	mutex_lock(&b->lock);
	v = *field;
	mutex_unlock(&b->lock);
	return sysfs_emit(buf, fmt, v);
}

static ssize_t sim_paused_store(struct device *dev,
				struct device_attribute *attr, const char *buf,
				size_t len)
{
	struct mmapsim_buf *b = dev_to_simbuf(dev);
	int ret;

	ret = mmapsim_store_flag(buf, &b->paused);
	if (ret)
		return ret;
	if (!READ_ONCE(b->paused)) {
		mutex_lock(&b->lock);
		if (b->enabled)
			queue_work(system_unbound_wq, &b->work);
		mutex_unlock(&b->lock);
	}
	return len;
}

static ssize_t sim_abort_on_disable_show(struct device *dev,
					 struct device_attribute *attr,
					 char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  READ_ONCE(dev_to_simbuf(dev)->abort_on_disable));
}

static ssize_t sim_abort_on_disable_store(struct device *dev,
					  struct device_attribute *attr,
					  const char *buf, size_t len)
{
	int ret;

	ret = mmapsim_store_flag(buf, &dev_to_simbuf(dev)->abort_on_disable);
	return ret ? ret : len;
}

static ssize_t sim_block_ioctls_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct mmapsim_buf *b = dev_to_simbuf(dev);

	return mmapsim_show_u64(b, &b->ioctls, "%llu\n", buf);
}

static ssize_t sim_mapped_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&dev_to_simbuf(dev)->mapped));
}

static ssize_t sim_trace_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct mmapsim_buf *b = dev_to_simbuf(dev);
	ssize_t n;

	mutex_lock(&b->lock);
	n = sysfs_emit(buf, "%.*s%s\n", (int)b->trace_len, b->trace,
		       b->trace_lost ? "..." : "");
	mutex_unlock(&b->lock);
	return n;
}

static ssize_t sim_trace_store(struct device *dev,
			       struct device_attribute *attr, const char *buf,
			       size_t len)
{
	struct mmapsim_buf *b = dev_to_simbuf(dev);

	mutex_lock(&b->lock);
	b->trace_len = 0;
	b->trace_lost = false;
	mutex_unlock(&b->lock);
	return len;
}

static ssize_t sim_consumed_bytes_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct mmapsim_buf *b = dev_to_simbuf(dev);

	return mmapsim_show_u64(b, &b->out_bytes, "%llu\n", buf);
}

static ssize_t sim_consumed_fnv1a_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct mmapsim_buf *b = dev_to_simbuf(dev);

	return mmapsim_show_u64(b, &b->out_hash, "%016llx\n", buf);
}

static ssize_t sim_cyclic_held_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct mmapsim_buf *b = dev_to_simbuf(dev);
	size_t n;

	mutex_lock(&b->lock);
	n = list_count_nodes(&b->held);
	mutex_unlock(&b->lock);
	return sysfs_emit(buf, "%zu\n", n);
}

static DEVICE_ATTR_RW(sim_paused);
static DEVICE_ATTR_RW(sim_abort_on_disable);
static DEVICE_ATTR_RO(sim_block_ioctls);
static DEVICE_ATTR_RO(sim_mapped);
static DEVICE_ATTR_RW(sim_trace);
static DEVICE_ATTR_RO(sim_consumed_bytes);
static DEVICE_ATTR_RO(sim_consumed_fnv1a);
static DEVICE_ATTR_RO(sim_cyclic_held);

static struct attribute *mmapsim_in_attrs[] = {
	&dev_attr_sim_paused.attr,
	&dev_attr_sim_abort_on_disable.attr,
	&dev_attr_sim_block_ioctls.attr,
	&dev_attr_sim_mapped.attr,
	&dev_attr_sim_trace.attr,
	NULL,
};

static struct attribute *mmapsim_out_attrs[] = {
	&dev_attr_sim_paused.attr,
	&dev_attr_sim_abort_on_disable.attr,
	&dev_attr_sim_block_ioctls.attr,
	&dev_attr_sim_mapped.attr,
	&dev_attr_sim_trace.attr,
	&dev_attr_sim_consumed_bytes.attr,
	&dev_attr_sim_consumed_fnv1a.attr,
	&dev_attr_sim_cyclic_held.attr,
	NULL,
};

static const struct attribute_group mmapsim_in_group = {
	.attrs = mmapsim_in_attrs,
};

static const struct attribute_group mmapsim_out_group = {
	.attrs = mmapsim_out_attrs,
};

static const struct iio_info mmapsim_in_info = {
	.read_raw = ferroio_sim_read_raw,
	.attrs = &mmapsim_in_group,
};

static const struct iio_info mmapsim_out_info = {
	.read_raw = ferroio_sim_read_raw,
	.attrs = &mmapsim_out_group,
};

static const struct config_item_type mmapsim_type = {
	.ct_owner = THIS_MODULE,
};

static struct iio_sw_device *mmapsim_probe(const char *name, bool output)
{
	struct iio_dev *indio_dev;
	struct mmapsim_buf *b;
	struct mmapsim *sim;
	int ret = -ENOMEM;

	sim = kzalloc(sizeof(*sim), GFP_KERNEL);
	if (!sim)
		return ERR_PTR(-ENOMEM);
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		goto err_sim;
	sim->buf = b;
	iio_buffer_init(&b->buffer);
	b->buffer.access = &mmapsim_access;
	b->buffer.direction = output ? IIO_BUFFER_DIRECTION_OUT :
				       IIO_BUFFER_DIRECTION_IN;
	mutex_init(&b->lock);
	INIT_LIST_HEAD(&b->queued);
	INIT_LIST_HEAD(&b->outgoing);
	INIT_LIST_HEAD(&b->held);
	INIT_WORK(&b->work, mmapsim_work);
	atomic_set(&b->mapped, 0);
	b->out_hash = FERROIO_SIM_FNV_OFFSET;

	/* The driver state lives in sim; iio_priv only points back to it. */
	indio_dev = iio_device_alloc(NULL, sizeof(struct mmapsim *));
	if (!indio_dev)
		goto err_buf;
	*(struct mmapsim **)iio_priv(indio_dev) = sim;
	sim->indio_dev = indio_dev;

	indio_dev->name = kstrdup(name, GFP_KERNEL);
	if (!indio_dev->name)
		goto err_dev;
	if (output) {
		indio_dev->info = &mmapsim_out_info;
		indio_dev->channels = mmapsim_out_channels;
		indio_dev->num_channels = ARRAY_SIZE(mmapsim_out_channels);
	} else {
		indio_dev->info = &mmapsim_in_info;
		indio_dev->channels = mmapsim_in_channels;
		indio_dev->num_channels = ARRAY_SIZE(mmapsim_in_channels);
	}
	indio_dev->modes = INDIO_DIRECT_MODE | INDIO_BUFFER_HARDWARE;

	ret = iio_device_attach_buffer(indio_dev, &b->buffer);
	if (ret)
		goto err_dev;
	ret = iio_device_register(indio_dev);
	if (ret)
		goto err_dev;

	iio_swd_group_init_type_name(&sim->swd, name, &mmapsim_type);
	return &sim->swd;

err_dev:
	kfree(indio_dev->name);
	iio_device_free(indio_dev);
err_buf:
	iio_buffer_put(&b->buffer);
err_sim:
	kfree(sim);
	return ERR_PTR(ret);
}

static struct iio_sw_device *mmapsim_in_probe(const char *name)
{
	return mmapsim_probe(name, false);
}

static struct iio_sw_device *mmapsim_out_probe(const char *name)
{
	return mmapsim_probe(name, true);
}

static int mmapsim_remove(struct iio_sw_device *swd)
{
	struct mmapsim *sim = container_of(swd, struct mmapsim, swd);
	struct iio_dev *indio_dev = sim->indio_dev;
	struct mmapsim_buf *b = sim->buf;
	const char *name = indio_dev->name;

	/* Disables the buffer (the DMA finishes its queue unless paused). */
	iio_device_unregister(indio_dev);
	iio_device_free(indio_dev);

	mutex_lock(&b->lock);
	b->dead = true;
	mutex_unlock(&b->lock);
	cancel_work_sync(&b->work);
	/* Mapped blocks live on until unmapped; they keep the buffer alive. */
	mmapsim_free_all(b, false);
	iio_buffer_put(&b->buffer);
	kfree(name);
	kfree(sim);
	return 0;
}

static const struct iio_sw_device_ops mmapsim_in_ops = {
	.probe = mmapsim_in_probe,
	.remove = mmapsim_remove,
};

static const struct iio_sw_device_ops mmapsim_out_ops = {
	.probe = mmapsim_out_probe,
	.remove = mmapsim_remove,
};

static struct iio_sw_device_type mmapsim_in_device = {
	.name = "mmapsim",
	.owner = THIS_MODULE,
	.ops = &mmapsim_in_ops,
};

static struct iio_sw_device_type mmapsim_out_device = {
	.name = "mmapsim_out",
	.owner = THIS_MODULE,
	.ops = &mmapsim_out_ops,
};

static int __init mmapsim_init(void)
{
	int ret;

	ret = iio_register_sw_device_type(&mmapsim_in_device);
	if (ret)
		return ret;
	ret = iio_register_sw_device_type(&mmapsim_out_device);
	if (ret)
		iio_unregister_sw_device_type(&mmapsim_in_device);
	return ret;
}
module_init(mmapsim_init);

static void __exit mmapsim_exit(void)
{
	iio_unregister_sw_device_type(&mmapsim_out_device);
	iio_unregister_sw_device_type(&mmapsim_in_device);
}
module_exit(mmapsim_exit);

MODULE_DESCRIPTION("ferroio test: IIO devices emulating ADI's mmap block API");
MODULE_LICENSE("GPL");
