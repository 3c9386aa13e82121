/*
 * What a libiio 0.24 program does to take every enabled channel out of a captured block:
 * walk the scans as iio_buffer_foreach_sample() does (each channel aligned to its own
 * storage size, channels sharing a scan index at one position) and call
 * iio_channel_convert() once per value, into one array per channel of its storage width.
 * The block and the layouts are the ones of ferroio's `cargo bench --bench buffer`.
 *
 * Not part of ferroio: scripts/bench-demux-vs-libiio.sh builds it against Debian's libiio
 * to put ferroio's demux_into() next to libiio's own conversion on the same machine.
 *
 * Usage: demux LAYOUT SCANS      (LAYOUT: 8xs16 | 4xs24in32+ts)
 * Prints: LAYOUT SCANS BYTES SECONDS_PER_BLOCK GIB_PER_S
 */
#include <iio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CH 16

static const char *xml_8xs16 =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><context name=\"xml\"><device id=\"iio:device0\" name=\"bench\">"
	"<channel id=\"voltage0\" type=\"input\"><scan-element index=\"0\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"<channel id=\"voltage1\" type=\"input\"><scan-element index=\"1\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"<channel id=\"voltage2\" type=\"input\"><scan-element index=\"2\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"<channel id=\"voltage3\" type=\"input\"><scan-element index=\"3\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"<channel id=\"voltage4\" type=\"input\"><scan-element index=\"4\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"<channel id=\"voltage5\" type=\"input\"><scan-element index=\"5\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"<channel id=\"voltage6\" type=\"input\"><scan-element index=\"6\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"<channel id=\"voltage7\" type=\"input\"><scan-element index=\"7\" format=\"le:s16/16&gt;&gt;0\"/></channel>"
	"</device></context>";

static const char *xml_4xs24 =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><context name=\"xml\"><device id=\"iio:device0\" name=\"bench\">"
	"<channel id=\"voltage0\" type=\"input\"><scan-element index=\"0\" format=\"le:s24/32&gt;&gt;8\"/></channel>"
	"<channel id=\"voltage1\" type=\"input\"><scan-element index=\"1\" format=\"le:s24/32&gt;&gt;8\"/></channel>"
	"<channel id=\"voltage2\" type=\"input\"><scan-element index=\"2\" format=\"le:s24/32&gt;&gt;8\"/></channel>"
	"<channel id=\"voltage3\" type=\"input\"><scan-element index=\"3\" format=\"le:s24/32&gt;&gt;8\"/></channel>"
	"<channel id=\"timestamp\" type=\"input\"><scan-element index=\"4\" format=\"le:s64/64&gt;&gt;0\"/></channel>"
	"</device></context>";

struct walk {
	unsigned int n;
	const struct iio_channel *chn[MAX_CH];
	unsigned int bytes[MAX_CH];  /* storage bytes of one value (x repeat) */
	long index[MAX_CH];          /* scan index */
	uint8_t *out[MAX_CH];
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One pass over the block, scan after scan, in foreach_sample's order. */
static void demux(const struct walk *w, const uint8_t *block, size_t len, size_t step)
{
	size_t scans = len / step;
	for (size_t s = 0; s < scans; s++) {
		const uint8_t *start = block + s * step;
		size_t at = 0;
		for (unsigned int i = 0; i < w->n; i++) {
			unsigned int b = w->bytes[i];
			if (at % b)
				at += b - at % b;
			iio_channel_convert(w->chn[i], w->out[i] + s * b, start + at);
			if (i + 1 == w->n || w->index[i + 1] != w->index[i])
				at += b;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s 8xs16|4xs24in32+ts SCANS\n", argv[0]);
		return 2;
	}
	const char *xml = strcmp(argv[1], "8xs16") == 0 ? xml_8xs16 : xml_4xs24;
	size_t scans = strtoul(argv[2], NULL, 10);
	struct iio_context *ctx = iio_create_xml_context_mem(xml, strlen(xml));
	if (!ctx) {
		perror("iio_create_xml_context_mem");
		return 1;
	}
	struct iio_device *dev = iio_context_find_device(ctx, "bench");
	struct walk w = { 0 };
	size_t step = 0;
	for (unsigned int i = 0; i < iio_device_get_channels_count(dev) && i < MAX_CH; i++) {
		struct iio_channel *c = iio_device_get_channel(dev, i);
		const struct iio_data_format *f = iio_channel_get_data_format(c);
		iio_channel_enable(c);
		w.chn[w.n] = c;
		w.bytes[w.n] = f->length / 8 * f->repeat;
		w.index[w.n] = iio_channel_get_index(c);
		w.n++;
	}
	/* the scan size: elements aligned to their own size, the scan to the largest */
	size_t largest = 0;
	for (unsigned int i = 0; i < w.n; i++) {
		if (step % w.bytes[i])
			step += w.bytes[i] - step % w.bytes[i];
		step += w.bytes[i];
		if (w.bytes[i] > largest)
			largest = w.bytes[i];
	}
	if (step % largest)
		step += largest - step % largest;
	size_t len = scans * step;
	uint8_t *block = malloc(len);
	uint64_t x = 0x2545f4914f6cdd1dULL;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		block[i] = (uint8_t)x;
	}
	for (unsigned int i = 0; i < w.n; i++)
		w.out[i] = calloc(scans, w.bytes[i]);
	/* warm up, then as many passes as fit in about two seconds; the best pass counts */
	demux(&w, block, len, step);
	double best = 1e30, t_end = now() + 2.0;
	int passes = 0;
	while (passes < 3 || now() < t_end) {
		double t0 = now();
		demux(&w, block, len, step);
		double dt = now() - t0;
		if (dt < best)
			best = dt;
		passes++;
	}
	printf("%s %zu %zu %.9f %.3f\n", argv[1], scans, len, best, len / best / (1024.0 * 1024 * 1024));
	iio_context_destroy(ctx);
	return 0;
}
