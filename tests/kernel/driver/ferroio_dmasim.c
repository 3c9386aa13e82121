// SPDX-License-Identifier: GPL-2.0
/*
 * ferroio_dmasim: a software IIO device with two DMA buffers, built into the
 * VM tier's newer kernel so that ferroio's DMABUF path and a second buffer
 * (buffer1) are tested against the real IIO core, with no hardware.
 *
 * Written for ferroio's tests; it is not an upstream driver. Instances are made
 * like iio_dummy's, through configfs:
 *   mkdir /sys/kernel/config/iio/devices/dmasim/NAME    (NAME is the device name)
 *   rmdir /sys/kernel/config/iio/devices/dmasim/NAME
 *
 * Channels: in_voltage0..3 and out_voltage4..5, each le:s16/16>>0, scale 0.5.
 *
 * buffer0 (input): every block the core submits is filled at once, from a work
 * item, with whole scans of the enabled channels. Scan n (counted from 0 at
 * each enable) carries, for channel c, the 16-bit value (n * 16 + c) mod 65536;
 * bytes after the last whole scan are zero.
 *
 * buffer1 (output): every block is consumed at once; its bytes are counted and
 * hashed (64-bit FNV-1a, continued across blocks, reset at each enable). The
 * device attributes sim_consumed_bytes and sim_consumed_fnv1a show both. A
 * cyclic DMABUF block is consumed once and then held until the buffer is
 * disabled, as cyclic hardware would keep replaying it.
 *
 * Writing 1 to the device attribute sim_paused stops both buffers from
 * processing blocks (they stay queued, so a capture waits or times out);
 * writing 0 resumes them.
 *
 * Both buffers are iio_dma_buffer queues, so they offer read()/write() (fileio)
 * and the IIO_BUFFER_DMABUF_* ioctls. The parent is a platform device with a
 * 64-bit DMA mask, so attached dma-bufs map without bouncing.
 */

#include <linux/bitmap.h>
#include <linux/dma-mapping.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <linux/iio/buffer-dma.h>
#include <linux/iio/buffer.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/iio.h>
#include <linux/iio/sw_device.h>

#include "ferroio_sim.h"

#define DMASIM_CHANNELS 6

struct dmasim;

struct dmasim_buffer {
	struct iio_dma_buffer_queue queue; /* first: the core hands us &queue.buffer */
	struct dmasim *sim;
	struct list_head pending; /* submitted, not yet processed (queue.list_lock) */
	struct list_head held; /* cyclic blocks consumed, kept until abort */
	struct work_struct work;
	u64 scans; /* input: scans produced since enable */
	unsigned int chans[DMASIM_CHANNELS]; /* enabled scan indices, in order */
	unsigned int nchans;
};

struct dmasim {
	struct iio_sw_device swd;
	struct platform_device *pdev;
	struct iio_dev *indio_dev;
	struct dmasim_buffer *bufs[2];
	bool paused;
	spinlock_t out_lock;
	u64 out_bytes;
	u64 out_hash;
};

static struct dmasim_buffer *to_simbuf(struct iio_buffer *buffer)
{
	return container_of(buffer, struct dmasim_buffer, queue.buffer);
}

/* Byte `pos` of a block of `whole` bytes of whole scans (input pattern). */
static u8 dmasim_byte(const struct dmasim_buffer *b, size_t bpd, size_t pos,
		      size_t whole)
{
	size_t within, k;
	u16 val;

	if (pos >= whole)
		return 0;
	within = pos % bpd;
	k = within / 2;
	if (k >= b->nchans)
		return 0; /* padding at the end of a scan */
	val = ferroio_sim_sample(b->scans + pos / bpd, b->chans[k]);
	return (within & 1) ? val >> 8 : val & 0xff;
}

static void dmasim_produce(struct dmasim_buffer *b,
			   struct iio_dma_buffer_block *block)
{
	size_t bpd = b->queue.buffer.bytes_per_datum;
	size_t len, whole, off = 0, i;
	struct sg_mapping_iter miter;

	len = block->sg_table ? block->bytes_used : block->size;
	whole = bpd ? len / bpd * bpd : 0;

	if (!block->sg_table) {
		u8 *dst = block->vaddr;

		for (i = 0; i < whole; i++)
			dst[i] = dmasim_byte(b, bpd, i, whole);
		block->bytes_used = whole;
	} else {
		sg_miter_start(&miter, block->sg_table->sgl,
			       block->sg_table->orig_nents, SG_MITER_TO_SG);
		while (off < len && sg_miter_next(&miter)) {
			size_t n = min(miter.length, len - off);
			u8 *dst = miter.addr;

			for (i = 0; i < n; i++)
				dst[i] = dmasim_byte(b, bpd, off + i, whole);
			off += n;
		}
		sg_miter_stop(&miter);
	}
	if (bpd)
		b->scans += whole / bpd;
}

static void dmasim_consume(struct dmasim_buffer *b,
			   struct iio_dma_buffer_block *block)
{
	struct dmasim *sim = b->sim;
	size_t len = block->bytes_used, off = 0;
	struct sg_mapping_iter miter;
	u64 hash;

	spin_lock(&sim->out_lock);
	hash = sim->out_hash;
	spin_unlock(&sim->out_lock);

	if (!block->sg_table) {
		hash = ferroio_sim_fnv(hash, block->vaddr, len);
	} else {
		sg_miter_start(&miter, block->sg_table->sgl,
			       block->sg_table->orig_nents, SG_MITER_FROM_SG);
		while (off < len && sg_miter_next(&miter)) {
			size_t n = min(miter.length, len - off);

			hash = ferroio_sim_fnv(hash, miter.addr, n);
			off += n;
		}
		sg_miter_stop(&miter);
		len = off;
	}

	spin_lock(&sim->out_lock);
	sim->out_hash = hash;
	sim->out_bytes += len;
	spin_unlock(&sim->out_lock);
}

static void dmasim_work(struct work_struct *work)
{
	struct dmasim_buffer *b = container_of(work, struct dmasim_buffer, work);
	struct iio_dma_buffer_queue *queue = &b->queue;
	struct iio_dma_buffer_block *block;

	for (;;) {
		if (READ_ONCE(b->sim->paused))
			return;
		spin_lock_irq(&queue->list_lock);
		block = list_first_entry_or_null(&b->pending,
						 struct iio_dma_buffer_block, head);
		if (block)
			list_del_init(&block->head);
		spin_unlock_irq(&queue->list_lock);
		if (!block)
			return;

		if (queue->buffer.direction == IIO_BUFFER_DIRECTION_IN)
			dmasim_produce(b, block);
		else
			dmasim_consume(b, block);

		if (block->cyclic) {
			spin_lock_irq(&queue->list_lock);
			list_add_tail(&block->head, &b->held);
			spin_unlock_irq(&queue->list_lock);
		} else {
			iio_dma_buffer_block_done(block);
		}
	}
}

/* Called by the core with queue->lock held. */
static int dmasim_submit(struct iio_dma_buffer_queue *queue,
			 struct iio_dma_buffer_block *block)
{
	struct dmasim_buffer *b = to_simbuf(&queue->buffer);

	if (queue->buffer.direction == IIO_BUFFER_DIRECTION_OUT &&
	    !block->bytes_used)
		return -EINVAL;

	spin_lock_irq(&queue->list_lock);
	list_add_tail(&block->head, &b->pending);
	spin_unlock_irq(&queue->list_lock);
	queue_work(system_unbound_wq, &b->work);
	return 0;
}

/* Called by the core with queue->lock held, after queue->active went false. */
static void dmasim_abort(struct iio_dma_buffer_queue *queue)
{
	struct dmasim_buffer *b = to_simbuf(&queue->buffer);

	cancel_work_sync(&b->work);
	iio_dma_buffer_block_list_abort(queue, &b->pending);
	iio_dma_buffer_block_list_abort(queue, &b->held);
}

static int dmasim_enable(struct iio_buffer *buffer, struct iio_dev *indio_dev)
{
	struct dmasim_buffer *b = to_simbuf(buffer);
	struct dmasim *sim = b->sim;
	unsigned int bit;

	b->scans = 0;
	b->nchans = 0;
	for_each_set_bit(bit, (unsigned long *)buffer->scan_mask,
			 iio_get_masklength(indio_dev)) {
		if (b->nchans < DMASIM_CHANNELS)
			b->chans[b->nchans++] = bit;
	}
	if (buffer->direction == IIO_BUFFER_DIRECTION_OUT) {
		spin_lock(&sim->out_lock);
		sim->out_bytes = 0;
		sim->out_hash = FERROIO_SIM_FNV_OFFSET;
		spin_unlock(&sim->out_lock);
	}
	return iio_dma_buffer_enable(buffer, indio_dev);
}

static void dmasim_buffer_release(struct iio_buffer *buffer)
{
	struct dmasim_buffer *b = to_simbuf(buffer);
	struct device *dma_dev = b->queue.dev;

	iio_dma_buffer_release(&b->queue);
	kfree(b);
	/* Attachments unmap through the DMA device: it lives as long as the buffer. */
	put_device(dma_dev);
}

static const struct iio_buffer_access_funcs dmasim_access = {
	.read = iio_dma_buffer_read,
	.write = iio_dma_buffer_write,
	.set_bytes_per_datum = iio_dma_buffer_set_bytes_per_datum,
	.set_length = iio_dma_buffer_set_length,
	.request_update = iio_dma_buffer_request_update,
	.enable = dmasim_enable,
	.disable = iio_dma_buffer_disable,
	.data_available = iio_dma_buffer_usage,
	.space_available = iio_dma_buffer_usage,
	.release = dmasim_buffer_release,
	.enqueue_dmabuf = iio_dma_buffer_enqueue_dmabuf,
	.attach_dmabuf = iio_dma_buffer_attach_dmabuf,
	.detach_dmabuf = iio_dma_buffer_detach_dmabuf,
	.lock_queue = iio_dma_buffer_lock_queue,
	.unlock_queue = iio_dma_buffer_unlock_queue,
	.get_dma_dev = iio_dma_buffer_get_dma_dev,
	.modes = INDIO_BUFFER_HARDWARE,
	.flags = INDIO_BUFFER_FLAG_FIXED_WATERMARK,
};

static const struct iio_dma_buffer_ops dmasim_dma_ops = {
	.submit = dmasim_submit,
	.abort = dmasim_abort,
};

static struct dmasim_buffer *dmasim_buffer_new(struct dmasim *sim,
					       struct device *dma_dev,
					       enum iio_buffer_direction dir)
{
	struct dmasim_buffer *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (!b)
		return NULL;
	b->sim = sim;
	INIT_LIST_HEAD(&b->pending);
	INIT_LIST_HEAD(&b->held);
	INIT_WORK(&b->work, dmasim_work);
	iio_dma_buffer_init(&b->queue, get_device(dma_dev), &dmasim_dma_ops);
	b->queue.buffer.access = &dmasim_access;
	b->queue.buffer.direction = dir;
	return b;
}

static const struct iio_chan_spec dmasim_channels[DMASIM_CHANNELS] = {
	FERROIO_SIM_CHAN(0, 0), FERROIO_SIM_CHAN(0, 1), FERROIO_SIM_CHAN(0, 2),
	FERROIO_SIM_CHAN(0, 3), FERROIO_SIM_CHAN(1, 4), FERROIO_SIM_CHAN(1, 5),
};

static ssize_t sim_consumed_bytes_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct dmasim *sim = *(struct dmasim **)iio_priv(dev_to_iio_dev(dev));
	u64 v;

	spin_lock(&sim->out_lock);
	v = sim->out_bytes;
	spin_unlock(&sim->out_lock);
	return sysfs_emit(buf, "%llu\n", v);
}

static ssize_t sim_consumed_fnv1a_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct dmasim *sim = *(struct dmasim **)iio_priv(dev_to_iio_dev(dev));
	u64 v;

	spin_lock(&sim->out_lock);
	v = sim->out_hash;
	spin_unlock(&sim->out_lock);
	return sysfs_emit(buf, "%016llx\n", v);
}

static ssize_t sim_paused_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct dmasim *sim = *(struct dmasim **)iio_priv(dev_to_iio_dev(dev));

	return sysfs_emit(buf, "%d\n", READ_ONCE(sim->paused));
}

static ssize_t sim_paused_store(struct device *dev,
				struct device_attribute *attr, const char *buf,
				size_t len)
{
	struct dmasim *sim = *(struct dmasim **)iio_priv(dev_to_iio_dev(dev));
	bool paused;
	int ret, i;

	ret = kstrtobool(buf, &paused);
	if (ret)
		return ret;
	WRITE_ONCE(sim->paused, paused);
	if (!paused) {
		for (i = 0; i < ARRAY_SIZE(sim->bufs); i++)
			queue_work(system_unbound_wq, &sim->bufs[i]->work);
	}
	return len;
}

static DEVICE_ATTR_RO(sim_consumed_bytes);
static DEVICE_ATTR_RW(sim_paused);
static DEVICE_ATTR_RO(sim_consumed_fnv1a);

static struct attribute *dmasim_attrs[] = {
	&dev_attr_sim_consumed_bytes.attr,
	&dev_attr_sim_consumed_fnv1a.attr,
	&dev_attr_sim_paused.attr,
	NULL,
};

static const struct attribute_group dmasim_attr_group = {
	.attrs = dmasim_attrs,
};

static const struct iio_info dmasim_info = {
	.read_raw = ferroio_sim_read_raw,
	.attrs = &dmasim_attr_group,
};

static const struct config_item_type dmasim_type = {
	.ct_owner = THIS_MODULE,
};

static void dmasim_buffer_free(struct dmasim_buffer *b)
{
	if (!b)
		return;
	cancel_work_sync(&b->work);
	iio_dma_buffer_exit(&b->queue);
	iio_buffer_put(&b->queue.buffer);
}

static struct iio_sw_device *dmasim_probe(const char *name)
{
	struct platform_device *pdev;
	struct iio_dev *indio_dev;
	struct dmasim *sim;
	int ret;

	sim = kzalloc(sizeof(*sim), GFP_KERNEL);
	if (!sim)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&sim->out_lock);
	sim->out_hash = FERROIO_SIM_FNV_OFFSET;

	pdev = platform_device_register_simple("ferroio-dmasim",
					       PLATFORM_DEVID_AUTO, NULL, 0);
	if (IS_ERR(pdev)) {
		ret = PTR_ERR(pdev);
		goto err_sim;
	}
	sim->pdev = pdev;
	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_pdev;

	ret = -ENOMEM;
	/* The driver state lives in sim; iio_priv only points back to it. */
	indio_dev = iio_device_alloc(&pdev->dev, sizeof(struct dmasim *));
	if (!indio_dev)
		goto err_pdev;
	*(struct dmasim **)iio_priv(indio_dev) = sim;
	sim->indio_dev = indio_dev;

	indio_dev->name = kstrdup(name, GFP_KERNEL);
	if (!indio_dev->name)
		goto err_dev;
	indio_dev->info = &dmasim_info;
	indio_dev->channels = dmasim_channels;
	indio_dev->num_channels = ARRAY_SIZE(dmasim_channels);
	indio_dev->modes = INDIO_DIRECT_MODE | INDIO_BUFFER_HARDWARE;

	sim->bufs[0] = dmasim_buffer_new(sim, &pdev->dev, IIO_BUFFER_DIRECTION_IN);
	sim->bufs[1] = dmasim_buffer_new(sim, &pdev->dev, IIO_BUFFER_DIRECTION_OUT);
	if (!sim->bufs[0] || !sim->bufs[1])
		goto err_dev;
	ret = iio_device_attach_buffer(indio_dev, &sim->bufs[0]->queue.buffer);
	if (ret)
		goto err_dev;
	ret = iio_device_attach_buffer(indio_dev, &sim->bufs[1]->queue.buffer);
	if (ret)
		goto err_dev;

	ret = iio_device_register(indio_dev);
	if (ret)
		goto err_dev;

	iio_swd_group_init_type_name(&sim->swd, name, &dmasim_type);
	return &sim->swd;

err_dev:
	kfree(indio_dev->name);
	iio_device_free(indio_dev);
	dmasim_buffer_free(sim->bufs[0]);
	dmasim_buffer_free(sim->bufs[1]);
err_pdev:
	platform_device_unregister(pdev);
err_sim:
	kfree(sim);
	return ERR_PTR(ret);
}

static int dmasim_remove(struct iio_sw_device *swd)
{
	struct dmasim *sim = container_of(swd, struct dmasim, swd);
	struct iio_dev *indio_dev = sim->indio_dev;
	const char *name = indio_dev->name;

	/* Disables the buffers: every block in flight is aborted. */
	iio_device_unregister(indio_dev);
	iio_device_free(indio_dev);
	dmasim_buffer_free(sim->bufs[0]);
	dmasim_buffer_free(sim->bufs[1]);
	platform_device_unregister(sim->pdev);
	kfree(name);
	kfree(sim);
	return 0;
}

static const struct iio_sw_device_ops dmasim_ops = {
	.probe = dmasim_probe,
	.remove = dmasim_remove,
};

static struct iio_sw_device_type dmasim_device = {
	.name = "dmasim",
	.owner = THIS_MODULE,
	.ops = &dmasim_ops,
};

module_iio_sw_device_driver(dmasim_device);

MODULE_DESCRIPTION("ferroio test: software IIO device with DMA buffers");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(IIO_DMA_BUFFER);
