/* The segment list: staging and committing one file at a time, overlaps across files, provenance,
 * format detection, file reading and "@ADDR" parsing. The formats themselves are the readers'
 * (reader.h). */
#include "programmer/image/image.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "programmer/image/reader.h"

/* Strings and section arrays live in an arena of blocks, newest first, freed with the image. A
 * file's staging rolls back to a mark, so a failed file leaves nothing behind. */
typedef struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char bytes[];
} arena_block;

enum { ARENA_ALIGN = 16, ARENA_BLOCK = 16384 };

typedef struct image_seg {
	ft_segment pub;
	uint8_t *data; /* owned; pub.data == data */
} image_seg;

struct ft_image {
	image_seg *segs;
	size_t seg_count, seg_cap;
	const char **notes;
	size_t note_count, note_cap;
	ft_image_file *files;
	size_t file_count, file_cap;
	arena_block *arena;
};

/* A file being read: the image plus the marks to roll back to. */
struct ft_image_sink {
	ft_image *image;
	size_t seg_mark, note_mark;
	arena_block *arena_mark;
	size_t arena_used_mark;
	ft_image_file file;
};

static const ft_image_reader *const readers[] = {
    &ft_image_reader_elf,  &ft_image_reader_dfuse, &ft_image_reader_ihex,
    &ft_image_reader_srec, &ft_image_reader_bin,
};

static void *arena_alloc(ft_image *image, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	arena_block *b = image->arena;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = image->arena;
		b->used = 0;
		b->cap = cap;
		image->arena = b;
	}
	void *p = b->bytes + b->used;
	b->used += size;
	return p;
}

/* Frees the blocks allocated after mark and gives back what mark's block handed out since. */
static void arena_rollback(ft_image *image, arena_block *mark, size_t mark_used)
{
	while (image->arena != mark) {
		arena_block *next = image->arena->next;
		free(image->arena);
		image->arena = next;
	}
	if (image->arena)
		image->arena->used = mark_used;
}

static const char *arena_strdup(ft_image *image, const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = arena_alloc(image, n);
	if (copy)
		memcpy(copy, s, n);
	return copy;
}

/* Grows *array (of elem-sized items) so that it holds at least need items. */
static bool reserve(void **array, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *p = realloc(*array, n * elem);
	if (!p)
		return false;
	*array = p;
	*cap = n;
	return true;
}

ft_error ft_image_failv(ft_diag *diag, ft_error code, const char *origin, const char *fmt,
                        va_list ap)
{
	char message[sizeof(((ft_diag *)0)->message)];
	vsnprintf(message, sizeof(message), fmt, ap);
	return ft_diag_set(diag, code, origin, "%s", message);
}

static ft_error no_mem(ft_diag *diag, const char *origin)
{
	return ft_diag_set(diag, FT_ERR_NO_MEM, origin, "out of memory");
}

const char *ft_image_format_name(ft_image_format format)
{
	switch (format) {
	case FT_IMAGE_AUTO: return "auto";
	case FT_IMAGE_ELF: return "elf";
	case FT_IMAGE_IHEX: return "ihex";
	case FT_IMAGE_SREC: return "srec";
	case FT_IMAGE_BIN: return "bin";
	case FT_IMAGE_DFUSE: return "dfuse";
	}
	return "unknown";
}

ft_image *ft_image_new(void)
{
	return calloc(1, sizeof(ft_image));
}

static void free_segs_from(ft_image *image, size_t first)
{
	for (size_t i = first; i < image->seg_count; i++)
		free(image->segs[i].data);
	image->seg_count = first;
}

void ft_image_free(ft_image *image)
{
	if (!image)
		return;
	free_segs_from(image, 0);
	free(image->segs);
	free(image->notes);
	free(image->files);
	while (image->arena) {
		arena_block *next = image->arena->next;
		free(image->arena);
		image->arena = next;
	}
	free(image);
}

/* ---- the sink ---------------------------------------------------------------------------- */

ft_error ft_image_sink_segment(ft_image_sink *sink, const ft_segment *proto, uint8_t *data,
                               ft_diag *diag)
{
	ft_image *image = sink->image;
	assert((proto->size == 0) == (data == NULL));
	ft_section *sections = NULL;
	const char *target_name = NULL;
	bool ok = reserve((void **)&image->segs, &image->seg_cap, image->seg_count + 1,
	                  sizeof(image_seg));
	if (ok && proto->section_count) {
		sections = arena_alloc(image, proto->section_count * sizeof(ft_section));
		ok = sections != NULL;
		for (size_t i = 0; ok && i < proto->section_count; i++) {
			sections[i] = proto->sections[i];
			sections[i].name = arena_strdup(image, proto->sections[i].name);
			ok = sections[i].name != NULL;
		}
	}
	if (ok && proto->dfu_target_name) {
		target_name = arena_strdup(image, proto->dfu_target_name);
		ok = target_name != NULL;
	}
	if (!ok) {
		free(data);
		return no_mem(diag, sink->file.path);
	}
	image_seg *seg = &image->segs[image->seg_count++];
	seg->pub = *proto;
	seg->pub.data = data;
	seg->pub.file = sink->file.path;
	seg->pub.format = sink->file.format;
	seg->pub.sections = sections;
	seg->pub.dfu_target_name = target_name;
	seg->data = data;
	return FT_OK;
}

static ft_error add_note(ft_image *image, const char *text)
{
	if (!reserve((void **)&image->notes, &image->note_cap, image->note_count + 1,
	             sizeof(*image->notes)))
		return FT_ERR_NO_MEM;
	const char *copy = arena_strdup(image, text);
	if (!copy)
		return FT_ERR_NO_MEM;
	image->notes[image->note_count++] = copy;
	return FT_OK;
}

ft_error ft_image_sink_note(ft_image_sink *sink, ft_diag *diag, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (add_note(sink->image, text) != FT_OK)
		return no_mem(diag, sink->file.path);
	return FT_OK;
}

void ft_image_sink_entry(ft_image_sink *sink, uint32_t entry)
{
	sink->file.has_entry = true;
	sink->file.entry = entry;
}

ft_error ft_image_sink_header(ft_image_sink *sink, const uint8_t *text, size_t len, ft_diag *diag)
{
	const uint8_t *nul = memchr(text, 0, len);
	if (nul)
		len = (size_t)(nul - text);
	char *copy = arena_alloc(sink->image, len + 1);
	if (!copy)
		return no_mem(diag, sink->file.path);
	for (size_t i = 0; i < len; i++)
		copy[i] = text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '.';
	copy[len] = '\0';
	sink->file.header = copy;
	return FT_OK;
}

void ft_image_sink_dfu_ids(ft_image_sink *sink, uint16_t vendor, uint16_t product, uint16_t device)
{
	sink->file.has_dfu_ids = true;
	sink->file.dfu_vendor = vendor;
	sink->file.dfu_product = product;
	sink->file.dfu_device = device;
}

static ft_error sink_begin(ft_image_sink *sink, ft_image *image, const char *name,
                           ft_image_format format, size_t size, ft_diag *diag)
{
	memset(sink, 0, sizeof(*sink));
	sink->image = image;
	sink->seg_mark = image->seg_count;
	sink->note_mark = image->note_count;
	sink->arena_mark = image->arena;
	sink->arena_used_mark = image->arena ? image->arena->used : 0;
	sink->file.format = format;
	sink->file.size = size;
	/* The file slot is reserved now so that committing cannot fail. */
	if (!reserve((void **)&image->files, &image->file_cap, image->file_count + 1,
	             sizeof(ft_image_file)))
		return no_mem(diag, name);
	sink->file.path = arena_strdup(image, name);
	if (!sink->file.path)
		return no_mem(diag, name);
	return FT_OK;
}

static void sink_rollback(ft_image_sink *sink)
{
	ft_image *image = sink->image;
	free_segs_from(image, sink->seg_mark);
	image->note_count = sink->note_mark;
	arena_rollback(image, sink->arena_mark, sink->arena_used_mark);
}

static void sink_commit(ft_image_sink *sink)
{
	ft_image *image = sink->image;
	image->files[image->file_count++] = sink->file;
}

/* ---- detection and adding ---------------------------------------------------------------- */

static const ft_image_reader *reader_for(ft_image_format format)
{
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		if (readers[i]->format == format)
			return readers[i];
	return NULL;
}

static bool has_extension(const ft_image_reader *reader, const char *name)
{
	const char *base = strrchr(name, '/');
	const char *dot = strrchr(base ? base + 1 : name, '.');
	if (!dot)
		return false;
	for (const char *const *ext = reader->extensions; *ext; ext++)
		if (strcasecmp(dot, *ext) == 0)
			return true;
	return false;
}

/* The reader's opinion of the bytes; readers without a probe are never detected by content. */
static ft_image_probe reader_probe(const ft_image_reader *reader, const uint8_t *bytes, size_t len)
{
	return reader->probe ? reader->probe(bytes, len) : FT_IMAGE_PROBE_NO;
}

/* FT_IMAGE_AUTO: the order documented at ft_image_add_file. *fallback tells that nothing but the
 * lack of any other match made it a raw binary. */
static ft_image_format detect(const char *name, const uint8_t *bytes, size_t len, bool *fallback)
{
	size_t n = sizeof(readers) / sizeof(readers[0]);
	*fallback = false;
	for (size_t i = 0; i < n; i++)
		if (reader_probe(readers[i], bytes, len) == FT_IMAGE_PROBE_MAGIC)
			return readers[i]->format;
	if (has_extension(&ft_image_reader_bin, name))
		return FT_IMAGE_BIN;
	for (size_t i = 0; i < n; i++)
		if (reader_probe(readers[i], bytes, len) == FT_IMAGE_PROBE_TEXT)
			return readers[i]->format;
	for (size_t i = 0; i < n; i++)
		if (has_extension(readers[i], name))
			return readers[i]->format;
	*fallback = true;
	return FT_IMAGE_BIN;
}

static ft_error add_bytes(ft_image *image, const char *name, ft_image_format format,
                          const uint8_t *bytes, size_t len, bool has_address, uint32_t address,
                          bool at_suffix, ft_diag *diag)
{
	if (!image || !name || (!bytes && len))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name, "no image, name or bytes");
	if (len == 0)
		return ft_diag_set(diag, FT_ERR_FORMAT, name, "the file is empty");
	bool fallback = false;
	if (format == FT_IMAGE_AUTO)
		format = detect(name, bytes, len, &fallback);
	const ft_image_reader *reader = reader_for(format);
	if (!reader)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name, "unknown image format %d",
		                   (int)format);
	if (at_suffix && format != FT_IMAGE_BIN)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, name,
		                   "an @ADDR suffix applies to raw binaries only; this file is %s",
		                   ft_image_format_name(format));
	if (fallback && !has_address)
		return ft_diag_set(
		    diag, FT_ERR_INVALID_ARG, name,
		    "not recognised as ELF, DfuSe, Intel HEX or SREC; as a raw binary "
		    "it needs an address: FILE@ADDR or --address");

	ft_image_sink sink;
	ft_error err = sink_begin(&sink, image, name, format, len, diag);
	if (err == FT_OK) {
		ft_image_source src = {sink.file.path, bytes, len, has_address, address};
		err = reader->read(&src, &sink, diag);
	}
	if (err != FT_OK) {
		sink_rollback(&sink);
		return err;
	}
	sink_commit(&sink);
	return FT_OK;
}

ft_error ft_image_add_buffer(ft_image *image, const char *name, ft_image_format format,
                             const uint8_t *bytes, size_t len, bool has_address, uint32_t address,
                             ft_diag *diag)
{
	return add_bytes(image, name, format, bytes, len, has_address, address, false, diag);
}

/* Reads a whole file into memory; *bytes from malloc (NULL for an empty file). */
static ft_error read_file(const char *path, uint8_t **bytes, size_t *len, ft_diag *diag)
{
	*bytes = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ft_diag_set(diag, errno == ENOENT ? FT_ERR_NOT_FOUND : FT_ERR_IO, path,
		                   "cannot open: %s", strerror(errno));
	/* A regular file is read into one allocation of its size plus one byte (to see the end in
	 * place); anything else grows by doubling. */
	struct stat st;
	size_t first = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	uint8_t *buf = NULL;
	size_t used = 0, cap = 0;
	ft_error err = FT_OK;
	for (;;) {
		if (used == cap) {
			size_t ncap = cap ? cap * 2 : first;
			uint8_t *p = ncap > cap ? realloc(buf, ncap) : NULL;
			if (!p) {
				err = no_mem(diag, path);
				break;
			}
			buf = p;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err =
			    ft_diag_set(diag, FT_ERR_IO, path, "cannot read: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (err != FT_OK) {
		free(buf);
		return err;
	}
	*bytes = buf;
	*len = used;
	return FT_OK;
}

ft_error ft_image_add_file(ft_image *image, const ft_image_input *input, ft_diag *diag)
{
	if (!image || !input || !input->path)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "no image or no path");
	char *path = strdup(input->path);
	if (!path)
		return no_mem(diag, input->path);
	bool has_address = input->has_address;
	uint32_t address = input->address;
	bool at_suffix = false;
	char *at = strrchr(path, '@');
	uint32_t at_address;
	ft_error err = FT_OK;
	if (at && at != path && ft_parse_address(at + 1, &at_address)) {
		*at = '\0';
		at_suffix = true;
		if (has_address && address != at_address)
			err = ft_diag_set(diag, FT_ERR_INVALID_ARG, path,
			                  "@0x%08x differs from the address given (0x%08x)",
			                  (unsigned)at_address, (unsigned)address);
		has_address = true;
		address = at_address;
	}
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (err == FT_OK)
		err = read_file(path, &bytes, &len, diag);
	if (err == FT_OK)
		err = add_bytes(image, path, input->format, bytes, len, has_address, address,
		                at_suffix, diag);
	free(bytes);
	free(path);
	return err;
}

/* ---- overlaps across segments ------------------------------------------------------------ */

/* ft_image_finish works on sets of segments that overlap, directly or through each other
 * (groups). Within a group every byte belongs to the segment read first (lowest index) among
 * those that hold it, and every other holder must agree with it. Each segment of a group becomes
 * the pieces it owns: all of itself (unchanged), some ranges (trimmed or split), or nothing
 * (removed). Segments outside every group are untouched. */

typedef struct piece {
	size_t seg; /* index into image->segs */
	uint32_t addr;
	uint64_t end;
} piece;

typedef struct finish_plan {
	ft_image *image;
	size_t *order; /* non-empty segments by address */
	bool *grouped; /* per segment: a member of a group, replaced by its pieces */
	piece *pieces;
	size_t piece_count, piece_cap;
	char (*notes)[512];
	size_t note_count, note_cap;
} finish_plan;

static uint64_t seg_end(const ft_segment *s)
{
	return (uint64_t)s->addr + s->size;
}

static int cmp_by_addr(const void *a, const void *b, void *ctx)
{
	const image_seg *segs = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (segs[i].pub.addr != segs[j].pub.addr)
		return segs[i].pub.addr < segs[j].pub.addr ? -1 : 1;
	return (i > j) - (i < j);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_pieces(const void *a, const void *b)
{
	const piece *x = a, *y = b;
	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static ft_error overlap_error(const ft_segment *owner, const ft_segment *other, uint32_t at,
                              ft_diag *diag)
{
	uint32_t lo = owner->addr > other->addr ? owner->addr : other->addr;
	uint64_t hi = seg_end(owner) < seg_end(other) ? seg_end(owner) : seg_end(other);
	char oo[160], to[160];
	ft_segment_origin(owner, oo, sizeof(oo));
	ft_segment_origin(other, to, sizeof(to));
	return ft_diag_set(diag, FT_ERR_OVERLAP, to,
	                   "%s and %s overlap at 0x%08x-0x%08x with different bytes (first at "
	                   "0x%08x: 0x%02x vs 0x%02x)",
	                   oo, to, (unsigned)lo, (unsigned)(hi - 1), (unsigned)at,
	                   owner->data[at - owner->addr], other->data[at - other->addr]);
}

static bool add_piece(finish_plan *p, size_t seg, uint64_t start, uint64_t end)
{
	piece *last = p->piece_count ? &p->pieces[p->piece_count - 1] : NULL;
	/* Within a group, pieces come in address order: a segment's next piece may extend its
	 * last one only if nothing came in between. */
	if (last && last->seg == seg && last->end == start) {
		last->end = end;
		return true;
	}
	if (!reserve((void **)&p->pieces, &p->piece_cap, p->piece_count + 1, sizeof(piece)))
		return false;
	p->pieces[p->piece_count++] = (piece){seg, (uint32_t)start, end};
	return true;
}

/* The note for a member of a group that lost bytes to earlier segments. */
static ft_error note_member(finish_plan *p, size_t seg, size_t first_piece, ft_diag *diag)
{
	const image_seg *segs = p->image->segs;
	const ft_segment *m = &segs[seg].pub;
	uint64_t kept = 0, kept_pieces = 0;
	char owners[256] = "";
	size_t used = 0, named = 0, owner_idx[3];
	for (size_t k = first_piece; k < p->piece_count; k++) {
		const piece *pc = &p->pieces[k];
		if (pc->seg == seg) {
			kept += pc->end - pc->addr;
			kept_pieces++;
			continue;
		}
		if (pc->end <= m->addr || pc->addr >= seg_end(m))
			continue;
		bool seen = false;
		for (size_t q = 0; q < named && q < 3; q++)
			seen |= owner_idx[q] == pc->seg;
		if (seen)
			continue;
		if (named < 3) {
			char o[160];
			ft_segment_origin(&segs[pc->seg].pub, o, sizeof(o));
			owner_idx[named] = pc->seg;
			if (used < sizeof(owners))
				used += (size_t)snprintf(owners + used, sizeof(owners) - used,
				                         "%s%s", named ? ", " : "", o);
		} else if (named == 3 && used < sizeof(owners)) {
			used += (size_t)snprintf(owners + used, sizeof(owners) - used, ", ...");
		}
		named++;
	}
	if (kept == m->size)
		return FT_OK;
	if (!reserve((void **)&p->notes, &p->note_cap, p->note_count + 1, sizeof(*p->notes)))
		return no_mem(diag, NULL);
	char mo[160];
	ft_segment_origin(m, mo, sizeof(mo));
	char rest[96];
	if (kept_pieces == 0)
		snprintf(rest, sizeof(rest), "dropped as a duplicate");
	else
		snprintf(rest, sizeof(rest),
		         "those stay with the earlier, the other 0x%llx bytes "
		         "remain as %llu segment%s",
		         (unsigned long long)kept, (unsigned long long)kept_pieces,
		         kept_pieces > 1 ? "s" : "");
	snprintf(p->notes[p->note_count++], sizeof(*p->notes),
	         "%s (0x%08x-0x%08x) repeats 0x%llx bytes of %s with identical content: %s", mo,
	         (unsigned)m->addr, (unsigned)(seg_end(m) - 1),
	         (unsigned long long)(m->size - kept), owners, rest);
	return FT_OK;
}

/* Splits one group (order[first .. first+count)) into pieces, checking every shared byte. */
static ft_error plan_group(finish_plan *p, size_t first, size_t count, ft_diag *diag)
{
	const image_seg *segs = p->image->segs;
	const size_t *members = p->order + first;
	uint64_t *bounds = malloc(2 * count * sizeof(uint64_t));
	if (!bounds)
		return no_mem(diag, NULL);
	for (size_t k = 0; k < count; k++) {
		bounds[2 * k] = segs[members[k]].pub.addr;
		bounds[2 * k + 1] = seg_end(&segs[members[k]].pub);
		p->grouped[members[k]] = true;
	}
	qsort(bounds, 2 * count, sizeof(uint64_t), cmp_u64);
	size_t first_piece = p->piece_count;
	ft_error err = FT_OK;
	for (size_t b = 0; err == FT_OK && b + 1 < 2 * count; b++) {
		uint64_t lo = bounds[b], hi = bounds[b + 1];
		if (lo == hi)
			continue;
		/* Holders of [lo, hi): members covering it; the owner is the one read first. */
		const ft_segment *owner = NULL;
		size_t owner_idx = 0;
		for (size_t k = 0; k < count; k++) {
			const ft_segment *s = &segs[members[k]].pub;
			if (s->addr <= lo && seg_end(s) >= hi &&
			    (!owner || members[k] < owner_idx)) {
				owner = s;
				owner_idx = members[k];
			}
		}
		assert(owner); /* a group's members cover its whole range */
		for (size_t k = 0; k < count && err == FT_OK; k++) {
			const ft_segment *s = &segs[members[k]].pub;
			if (s == owner || s->addr > lo || seg_end(s) < hi)
				continue;
			const uint8_t *a = owner->data + (lo - owner->addr);
			const uint8_t *c = s->data + (lo - s->addr);
			if (memcmp(a, c, (size_t)(hi - lo)) != 0) {
				size_t d = 0;
				while (a[d] == c[d])
					d++;
				err = overlap_error(owner, s, (uint32_t)(lo + d), diag);
			}
		}
		if (err == FT_OK && !add_piece(p, owner_idx, lo, hi))
			err = no_mem(diag, NULL);
	}
	free(bounds);
	for (size_t k = 0; err == FT_OK && k < count; k++)
		err = note_member(p, members[k], first_piece, diag);
	return err;
}

static ft_error plan_finish(finish_plan *p, ft_diag *diag)
{
	ft_image *image = p->image;
	size_t n = 0;
	p->order = malloc((image->seg_count ? image->seg_count : 1) * sizeof(size_t));
	p->grouped = calloc(image->seg_count ? image->seg_count : 1, sizeof(bool));
	if (!p->order || !p->grouped)
		return no_mem(diag, NULL);
	for (size_t i = 0; i < image->seg_count; i++)
		if (image->segs[i].pub.size)
			p->order[n++] = i;
	qsort_r(p->order, n, sizeof(size_t), cmp_by_addr, image->segs);
	for (size_t i = 0; i < n;) {
		uint64_t end = seg_end(&image->segs[p->order[i]].pub);
		size_t count = 1;
		while (i + count < n && image->segs[p->order[i + count]].pub.addr < end) {
			uint64_t e = seg_end(&image->segs[p->order[i + count]].pub);
			if (e > end)
				end = e;
			count++;
		}
		if (count > 1) {
			ft_error err = plan_group(p, i, count, diag);
			if (err != FT_OK)
				return err;
		}
		i += count;
	}
	if (p->piece_count)
		qsort(p->pieces, p->piece_count, sizeof(piece), cmp_pieces);
	return FT_OK;
}

/* The segment that piece pc of s becomes: its bytes, the sections that reach into it, the tail
 * of s's memory size when it ends where s's file bytes end. Allocates data and sections. */
static bool make_piece(ft_image *image, const image_seg *s, const piece *pc, image_seg *out)
{
	const ft_segment *src = &s->pub;
	uint32_t off = pc->addr - src->addr;
	uint32_t size = (uint32_t)(pc->end - pc->addr);
	*out = *s;
	out->pub.addr = pc->addr;
	out->pub.size = size;
	out->pub.run_addr = src->run_addr + off;
	out->pub.mem_size = pc->end == seg_end(src) ? src->mem_size - off : size;
	uint64_t mem_end = (uint64_t)pc->addr + out->pub.mem_size;
	size_t n = 0;
	uint64_t covered = 0;
	for (size_t k = 0; k < src->section_count; k++) {
		const ft_section *sec = &src->sections[k];
		uint64_t lo = sec->addr > pc->addr ? sec->addr : pc->addr;
		uint64_t hi = (uint64_t)sec->addr + sec->size < mem_end
		                  ? sec->addr + (uint64_t)sec->size
		                  : mem_end;
		if (lo >= hi)
			continue;
		n++;
		if (!sec->nobits && pc->end > lo)
			covered += (hi < pc->end ? hi : pc->end) - lo;
	}
	ft_section *sections = n ? arena_alloc(image, n * sizeof(ft_section)) : NULL;
	out->data = malloc(size);
	if ((n && !sections) || !out->data) {
		free(out->data);
		return false;
	}
	memcpy(out->data, s->data + off, size);
	out->pub.data = out->data;
	n = 0;
	for (size_t k = 0; k < src->section_count; k++) {
		const ft_section *sec = &src->sections[k];
		if (sec->addr < mem_end && (uint64_t)sec->addr + sec->size > pc->addr)
			sections[n++] = *sec;
	}
	out->pub.sections = sections;
	out->pub.section_count = n;
	if (src->format == FT_IMAGE_ELF)
		out->pub.uncovered_bytes = covered < size ? size - (uint32_t)covered : 0;
	return true;
}

static void finish_plan_free(finish_plan *p)
{
	free(p->order);
	free(p->grouped);
	free(p->pieces);
	free(p->notes);
}

ft_error ft_image_finish(ft_image *image, ft_diag *diag)
{
	if (!image)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "no image");
	finish_plan p = {.image = image};
	ft_error err = plan_finish(&p, diag);
	if (err != FT_OK || p.piece_count == 0) {
		finish_plan_free(&p);
		return err;
	}

	/* Build the new segment list beside the old one; on failure nothing has changed. */
	arena_block *mark = image->arena;
	size_t mark_used = mark ? mark->used : 0;
	size_t count = 0;
	for (size_t i = 0; i < image->seg_count; i++)
		count += p.grouped[i] ? 0 : 1;
	count += p.piece_count;
	image_seg *segs = malloc(count * sizeof(image_seg));
	bool *fresh = calloc(count, sizeof(bool));            /* data allocated here */
	bool *whole = calloc(image->seg_count, sizeof(bool)); /* grouped, kept unchanged */
	const char **texts = malloc((p.note_count + 1) * sizeof(*texts));
	bool ok = segs && fresh && whole && texts &&
	          reserve((void **)&image->notes, &image->note_cap,
	                  image->note_count + p.note_count, sizeof(*image->notes));
	size_t out = 0, k = 0;
	for (size_t i = 0; ok && i < image->seg_count; i++) {
		const image_seg *s = &image->segs[i];
		if (!p.grouped[i]) {
			segs[out++] = *s;
			continue;
		}
		for (; ok && k < p.piece_count && p.pieces[k].seg == i; k++) {
			const piece *pc = &p.pieces[k];
			if (pc->addr == s->pub.addr && pc->end == seg_end(&s->pub)) {
				segs[out++] = *s;
				whole[i] = true;
				continue;
			}
			ok = make_piece(image, s, pc, &segs[out]);
			fresh[out] = ok;
			out += ok;
		}
	}
	for (size_t i = 0; ok && i < p.note_count; i++) {
		texts[i] = arena_strdup(image, p.notes[i]);
		ok = texts[i] != NULL;
	}
	if (!ok) {
		for (size_t i = 0; fresh && i < out; i++)
			if (fresh[i])
				free(segs[i].data);
		arena_rollback(image, mark, mark_used);
		free(segs);
		free(fresh);
		free(whole);
		free(texts);
		finish_plan_free(&p);
		return no_mem(diag, NULL);
	}

	/* Commit: free the data of grouped segments that did not survive whole. */
	for (size_t i = 0; i < image->seg_count; i++)
		if (p.grouped[i] && !whole[i])
			free(image->segs[i].data);
	free(image->segs);
	image->segs = segs;
	image->seg_count = out;
	image->seg_cap = count;
	for (size_t i = 0; i < p.note_count; i++)
		image->notes[image->note_count++] = texts[i];
	free(fresh);
	free(whole);
	free(texts);
	finish_plan_free(&p);
	return FT_OK;
}

/* ---- accessors --------------------------------------------------------------------------- */

size_t ft_image_segment_count(const ft_image *image)
{
	return image ? image->seg_count : 0;
}

const ft_segment *ft_image_segment_at(const ft_image *image, size_t index)
{
	return image && index < image->seg_count ? &image->segs[index].pub : NULL;
}

size_t ft_image_note_count(const ft_image *image)
{
	return image ? image->note_count : 0;
}

const char *ft_image_note_at(const ft_image *image, size_t index)
{
	return image && index < image->note_count ? image->notes[index] : NULL;
}

size_t ft_image_file_count(const ft_image *image)
{
	return image ? image->file_count : 0;
}

const ft_image_file *ft_image_file_at(const ft_image *image, size_t index)
{
	return image && index < image->file_count ? &image->files[index] : NULL;
}

bool ft_image_entry(const ft_image *image, uint32_t *entry)
{
	for (size_t i = 0; image && i < image->file_count; i++) {
		if (image->files[i].has_entry) {
			*entry = image->files[i].entry;
			return true;
		}
	}
	return false;
}

void ft_segment_origin(const ft_segment *segment, char *buf, size_t len)
{
	const char *file = segment->file ? segment->file : "?";
	switch (segment->format) {
	case FT_IMAGE_ELF: snprintf(buf, len, "%s PT_LOAD[%d]", file, segment->index); return;
	case FT_IMAGE_IHEX:
	case FT_IMAGE_SREC:
		if (segment->first_line == segment->last_line)
			snprintf(buf, len, "%s line %u", file, (unsigned)segment->first_line);
		else
			snprintf(buf, len, "%s lines %u-%u", file, (unsigned)segment->first_line,
			         (unsigned)segment->last_line);
		return;
	case FT_IMAGE_DFUSE:
		snprintf(buf, len, "%s target %d element %d", file, segment->dfu_target,
		         segment->index);
		return;
	case FT_IMAGE_AUTO:
	case FT_IMAGE_BIN: break;
	}
	snprintf(buf, len, "%s", file);
}

/* ---- addresses --------------------------------------------------------------------------- */

bool ft_parse_address(const char *text, uint32_t *value)
{
	if (!text || !value)
		return false;
	unsigned base = 10;
	const char *p = text;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0') {
		return false; /* would be octal in C */
	}
	uint64_t v = 0;
	size_t digits = 0;
	for (; *p; p++) {
		if (*p == '_') {
			if (digits == 0 || p[1] == '_' || p[1] == '\0')
				return false;
			continue;
		}
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return false;
		v = v * base + d;
		if (v > UINT32_MAX)
			return false;
		digits++;
	}
	if (digits == 0)
		return false;
	*value = (uint32_t)v;
	return true;
}
