/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What ferroio's test drivers (ferroio_dmasim.c, ferroio_mmapsim.c) share:
 * their channels (16-bit little-endian voltages, scale 0.5), the value a
 * capture puts in channel c of scan n, and the hash of what output consumes.
 * The VM tests (tests/common/vm.rs) compute the same.
 */
#ifndef FERROIO_SIM_H
#define FERROIO_SIM_H

#include <linux/iio/iio.h>
#include <linux/types.h>

#define FERROIO_SIM_FNV_OFFSET 0xcbf29ce484222325ULL
#define FERROIO_SIM_FNV_PRIME 0x100000001b3ULL

/* A voltage channel, input or output, le:s16/16>>0, scale shared by type. */
#define FERROIO_SIM_CHAN(_out, _idx)                                    \
	{                                                               \
		.type = IIO_VOLTAGE,                                    \
		.indexed = 1,                                           \
		.output = (_out),                                       \
		.channel = (_idx),                                      \
		.scan_index = (_idx),                                   \
		.info_mask_shared_by_type = BIT(IIO_CHAN_INFO_SCALE),   \
		.scan_type = {                                          \
			.sign = 's',                                    \
			.realbits = 16,                                 \
			.storagebits = 16,                              \
			.endianness = IIO_LE,                           \
		},                                                      \
	}

/* Channel @chan of capture scan @scan (scans counted from 0 at enable). */
static inline u16 ferroio_sim_sample(u64 scan, unsigned int chan)
{
	return (u16)(scan * 16 + chan);
}

/* 64-bit FNV-1a of @n bytes at @p, continued from @hash. */
static inline u64 ferroio_sim_fnv(u64 hash, const u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		hash ^= p[i];
		hash *= FERROIO_SIM_FNV_PRIME;
	}
	return hash;
}

/* read_raw of both devices: only the scale, 0.5. */
static inline int ferroio_sim_read_raw(struct iio_dev *indio_dev,
				       struct iio_chan_spec const *chan,
				       int *val, int *val2, long mask)
{
	if (mask != IIO_CHAN_INFO_SCALE)
		return -EINVAL;
	*val = 0;
	*val2 = 500000;
	return IIO_VAL_INT_PLUS_MICRO;
}

#endif /* FERROIO_SIM_H */
