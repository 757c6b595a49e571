#include "models/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_FILE  "manifest"
#define MANIFEST_MAGIC "flashtwin-store"
#define LOCK_FILE      "lock"
#define TEMP_PREFIX    ".tmp-"
#define REGION_SUFFIX  ".bin"
/* Longest manifest: header, board line, FT_STORE_REGIONS_MAX region lines of the longest name
 * and a 10-digit size, "end". Anything larger on disk is not ours. */
#define MANIFEST_MAX 8192
/* ".tmp-" + name + ".bin" + NUL */
#define FILE_NAME_MAX (sizeof(TEMP_PREFIX) + FT_STORE_NAME_MAX + sizeof(REGION_SUFFIX))

struct store_region {
	char name[FT_STORE_NAME_MAX + 1];
	size_t size;
	uint8_t *mem; /* NULL until mapped through this handle */
};

struct ft_store {
	int dirfd;
	int lockfd;
	size_t nregions;
	struct store_region regions[FT_STORE_REGIONS_MAX];
	char board[FT_STORE_NAME_MAX + 1];
	char dir[PATH_MAX];
};

/* Fills diag with origin "DIR/FILE" (or "DIR" when file is NULL). */
static ft_error fail(ft_diag *diag, ft_error code, const ft_store *st, const char *file,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static ft_error fail(ft_diag *diag, ft_error code, const ft_store *st, const char *file,
                     const char *fmt, ...)
{
	char origin[PATH_MAX + FILE_NAME_MAX + 1];
	char message[sizeof(diag->message)];
	snprintf(origin, sizeof(origin), "%s%s%s", st->dir, file ? "/" : "", file ? file : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return ft_diag_set(diag, code, origin, "%s", message);
}

/* Reports the operating-system error ERR (an errno value) of operation WHAT on FILE. */
static ft_error fail_os(ft_diag *diag, int err, const ft_store *st, const char *file,
                        const char *what)
{
	ft_error code = FT_ERR_IO;
	if (err == ENOMEM)
		code = FT_ERR_NO_MEM;
	else if (err == ENAMETOOLONG)
		code = FT_ERR_INVALID_ARG;
	char text[128];
	return fail(diag, code, st, file, "%s: %s", what, strerror_r(err, text, sizeof(text)));
}

static bool valid_name(const char *name, bool board)
{
	size_t len = strnlen(name, FT_STORE_NAME_MAX + 1);
	if (len == 0 || len > FT_STORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (board)
			ok = ok || (c >= 'A' && c <= 'Z') || c == '.';
		if (!ok)
			return false;
	}
	return true;
}

static struct store_region *find_region(ft_store *st, const char *name)
{
	for (size_t i = 0; i < st->nregions; i++)
		if (strcmp(st->regions[i].name, name) == 0)
			return &st->regions[i];
	return NULL;
}

static void region_file(char *buf, size_t len, const char *prefix, const char *name)
{
	snprintf(buf, len, "%s%s%s", prefix, name, REGION_SUFFIX);
}

/* Returns 0 or the errno value of the failing write. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static ft_error sync_dir(ft_store *st, ft_diag *diag)
{
	if (fsync(st->dirfd) != 0)
		return fail_os(diag, errno, st, NULL, "cannot fsync the directory");
	return FT_OK;
}

/* Creates (or truncates a leftover) temporary TMP and opens it as *fd. */
static ft_error create_temp(ft_store *st, const char *tmp, int *fd, ft_diag *diag)
{
	*fd = openat(st->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (*fd < 0)
		return fail_os(diag, errno, st, tmp, "cannot create");
	return FT_OK;
}

/* Makes the contents of temporary TMP (open as FD, closed here) durable, renames it to FINAL and
 * makes the rename durable. *renamed tells whether FINAL now has the new contents, which is the
 * case on success and on a failure of the last step only. */
static ft_error publish(ft_store *st, int fd, const char *tmp, const char *final, bool *renamed,
                        ft_diag *diag)
{
	*renamed = false;
	int sync_err = fsync(fd) == 0 ? 0 : errno;
	int close_err = close(fd) == 0 ? 0 : errno;
	if (sync_err || close_err)
		return fail_os(diag, sync_err ? sync_err : close_err, st, tmp, "cannot write");
	if (renameat(st->dirfd, tmp, st->dirfd, final) != 0)
		return fail_os(diag, errno, st, final, "cannot rename the temporary into place");
	*renamed = true;
	return sync_dir(st, diag);
}

static size_t format_manifest(const ft_store *st, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s %d\nboard %s\n", MANIFEST_MAGIC, FT_STORE_VERSION,
	                            st->board);
	for (size_t i = 0; i < st->nregions; i++)
		n += (size_t)snprintf(buf + n, len - n, "region %s %zu\n", st->regions[i].name,
		                      st->regions[i].size);
	n += (size_t)snprintf(buf + n, len - n, "end\n");
	return n;
}

/* Replaces the manifest by one listing st's board and regions; see publish for *renamed. */
static ft_error write_manifest(ft_store *st, bool *renamed, ft_diag *diag)
{
	char text[MANIFEST_MAX];
	size_t len = format_manifest(st, text, sizeof(text));
	*renamed = false;
	int fd;
	ft_error err = create_temp(st, TEMP_PREFIX MANIFEST_FILE, &fd, diag);
	if (err != FT_OK)
		return err;
	int write_err = write_all(fd, text, len);
	if (write_err) {
		close(fd);
		return fail_os(diag, write_err, st, TEMP_PREFIX MANIFEST_FILE, "cannot write");
	}
	return publish(st, fd, TEMP_PREFIX MANIFEST_FILE, MANIFEST_FILE, renamed, diag);
}

/* Strict decimal: digits only, at most FT_STORE_REGION_MAX. */
static bool parse_size(const char *text, size_t *out)
{
	size_t v = 0;
	if (!*text)
		return false;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (size_t)(*p - '0');
		if (v > FT_STORE_REGION_MAX)
			return false;
	}
	*out = v;
	return true;
}

/* Splits LINE at single spaces into at most MAX words; returns the count, or 0 when the line is
 * empty, has more words or has an empty word. */
static size_t split_words(char *line, char **words, size_t max)
{
	size_t n = 0;
	for (char *p = line;; p++) {
		if (n == max || *p == ' ' || *p == '\0')
			return 0;
		words[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			return n;
		*p = '\0';
	}
}

/* Parses manifest TEXT (NUL-terminated) into st->board and st->regions. */
static ft_error parse_manifest(ft_store *st, char *text, ft_diag *diag)
{
	char origin[sizeof(MANIFEST_FILE) + 32];
	unsigned line_no = 0;
	char *line = text;
	for (;;) {
		line_no++;
		snprintf(origin, sizeof(origin), "%s line %u", MANIFEST_FILE, line_no);
		char *eol = strchr(line, '\n');
		if (!eol)
			return fail(diag, FT_ERR_FORMAT, st, origin,
			            "manifest ends without its \"end\" line: truncated or damaged");
		*eol = '\0';
		char *w[4];
		size_t n = split_words(line, w, 4);
		size_t size = 0;
		if (line_no == 1) {
			if (n != 2 || strcmp(w[0], MANIFEST_MAGIC) != 0)
				return fail(diag, FT_ERR_FORMAT, st, origin,
				            "not a flashtwin store manifest (expected \"%s "
				            "VERSION\")",
				            MANIFEST_MAGIC);
			if (!parse_size(w[1], &size))
				return fail(diag, FT_ERR_FORMAT, st, origin,
				            "store version \"%.16s\" is not a number", w[1]);
			if (size != FT_STORE_VERSION)
				return fail(diag, FT_ERR_UNSUPPORTED, st, origin,
				            "store version %zu; this flashtwin reads version %d",
				            size, FT_STORE_VERSION);
		} else if (line_no == 2) {
			if (n != 2 || strcmp(w[0], "board") != 0 || !valid_name(w[1], true))
				return fail(diag, FT_ERR_FORMAT, st, origin,
				            "expected \"board NAME\"");
			memcpy(st->board, w[1], strlen(w[1]) + 1);
		} else if (n == 1 && strcmp(w[0], "end") == 0) {
			if (eol[1] != '\0')
				return fail(diag, FT_ERR_FORMAT, st, origin,
				            "text after the \"end\" line");
			return FT_OK;
		} else if (n != 3 || strcmp(w[0], "region") != 0 || !valid_name(w[1], false) ||
		           !parse_size(w[2], &size) || size == 0) {
			return fail(diag, FT_ERR_FORMAT, st, origin,
			            "expected \"region NAME SIZE\" (NAME [a-z0-9_-], 1 <= SIZE <= "
			            "%zu) or \"end\"",
			            FT_STORE_REGION_MAX);
		} else if (find_region(st, w[1])) {
			return fail(diag, FT_ERR_FORMAT, st, origin, "region %s listed twice",
			            w[1]);
		} else if (st->nregions == FT_STORE_REGIONS_MAX) {
			return fail(diag, FT_ERR_FORMAT, st, origin, "more than %d regions",
			            FT_STORE_REGIONS_MAX);
		} else {
			struct store_region *r = &st->regions[st->nregions++];
			memcpy(r->name, w[1], strlen(w[1]) + 1);
			r->size = size;
		}
		line = eol + 1;
	}
}

/* Reads and parses the manifest. FT_ERR_NOT_FOUND (diag untouched) when there is none. */
static ft_error read_manifest(ft_store *st, ft_diag *diag)
{
	int fd = openat(st->dirfd, MANIFEST_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return FT_ERR_NOT_FOUND;
	if (fd < 0)
		return fail_os(diag, errno, st, MANIFEST_FILE, "cannot open");
	char text[MANIFEST_MAX + 1];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(text) && (n = read(fd, text + len, sizeof(text) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return fail_os(diag, err, st, MANIFEST_FILE, "cannot read");
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > MANIFEST_MAX)
		return fail(diag, FT_ERR_FORMAT, st, MANIFEST_FILE,
		            "manifest is larger than %d bytes: damaged or not a flashtwin store",
		            MANIFEST_MAX);
	if (memchr(text, '\0', len))
		return fail(diag, FT_ERR_FORMAT, st, MANIFEST_FILE,
		            "manifest holds a NUL byte: damaged");
	text[len] = '\0';
	return parse_manifest(st, text, diag);
}

/* Checks that every region the manifest lists has a regular file of its size. */
static ft_error check_region_files(ft_store *st, ft_diag *diag)
{
	for (size_t i = 0; i < st->nregions; i++) {
		const struct store_region *r = &st->regions[i];
		char file[FILE_NAME_MAX];
		region_file(file, sizeof(file), "", r->name);
		struct stat sb;
		if (fstatat(st->dirfd, file, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				return fail(diag, FT_ERR_FORMAT, st, file,
				            "the manifest lists region %s but its file is missing",
				            r->name);
			return fail_os(diag, errno, st, file, "cannot stat");
		}
		if (!S_ISREG(sb.st_mode) || (uintmax_t)sb.st_size != r->size)
			return fail(diag, FT_ERR_FORMAT, st, file,
			            "region %s should be a regular file of %zu bytes (the manifest "
			            "says so), found %jd bytes%s",
			            r->name, r->size, (intmax_t)sb.st_size,
			            S_ISREG(sb.st_mode) ? "" : " and not a regular file");
	}
	return FT_OK;
}

enum entry_kind {
	ENTRY_DOT,     /* "." and ".." */
	ENTRY_OURS,    /* lock, manifest */
	ENTRY_TEMP,    /* .tmp-*: an unfinished write */
	ENTRY_REGION,  /* NAME.bin with a valid NAME */
	ENTRY_FOREIGN, /* anything else */
};

static enum entry_kind classify(const char *entry, char *region, size_t len)
{
	if (strcmp(entry, ".") == 0 || strcmp(entry, "..") == 0)
		return ENTRY_DOT;
	if (strcmp(entry, LOCK_FILE) == 0 || strcmp(entry, MANIFEST_FILE) == 0)
		return ENTRY_OURS;
	if (strncmp(entry, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0)
		return ENTRY_TEMP;
	size_t n = strlen(entry), suffix = strlen(REGION_SUFFIX);
	if (n > suffix && n - suffix < len && strcmp(entry + n - suffix, REGION_SUFFIX) == 0) {
		memcpy(region, entry, n - suffix);
		region[n - suffix] = '\0';
		if (valid_name(region, false))
			return ENTRY_REGION;
	}
	return ENTRY_FOREIGN;
}

/* Walks the directory. With clean false, checks that a directory without a manifest holds
 * nothing but what a process killed while creating a store leaves (its lock file and
 * temporaries): anything else means it is not a store, or a store that lost its manifest.
 * With clean true, removes temporaries and region files the manifest does not name: both are what
 * a process killed while creating a region leaves, and no caller was ever given them. Removals
 * are not made durable: if a power loss brings one back, the next open removes it again. */
static ft_error scan_dir(ft_store *st, bool clean, ft_diag *diag)
{
	int fd = openat(st->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return fail_os(diag, err, st, NULL, "cannot list the directory");
	}
	ft_error err = FT_OK;
	struct dirent *e;
	char region[FT_STORE_NAME_MAX + 1];
	while (err == FT_OK && (e = readdir(d))) {
		enum entry_kind kind = classify(e->d_name, region, sizeof(region));
		bool orphan = kind == ENTRY_REGION && !find_region(st, region);
		if (!clean && (kind == ENTRY_REGION || kind == ENTRY_FOREIGN))
			err = fail(diag, FT_ERR_FORMAT, st, MANIFEST_FILE,
			           "no manifest, but the directory holds %.64s: it is not a "
			           "flashtwin store, or its manifest was lost",
			           e->d_name);
		else if (clean && (kind == ENTRY_TEMP || orphan) &&
		         unlinkat(st->dirfd, e->d_name, 0) != 0 && errno != ENOENT)
			err = fail_os(diag, errno, st, e->d_name, "cannot remove leftover");
	}
	closedir(d);
	return err;
}

/* Reports who holds the lock, from the PID the holder wrote into the lock file. */
static ft_error fail_busy(ft_store *st, ft_diag *diag)
{
	char text[32];
	ssize_t n = pread(st->lockfd, text, sizeof(text) - 1, 0);
	long pid = 0;
	if (n > 0) {
		text[n] = '\0';
		char *end;
		pid = strtol(text, &end, 10);
		if (*end != '\n' || pid <= 0)
			pid = 0;
	}
	if (pid)
		return fail(diag, FT_ERR_BUSY, st, NULL, "store %s is in use by process %ld",
		            st->dir, pid);
	return fail(diag, FT_ERR_BUSY, st, NULL,
	            "store %s is in use by another process (it has not recorded its PID yet)",
	            st->dir);
}

static ft_error take_lock(ft_store *st, ft_diag *diag)
{
	st->lockfd = openat(st->dirfd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (st->lockfd < 0)
		return fail_os(diag, errno, st, LOCK_FILE, "cannot open");
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return fail_busy(st, diag);
		return fail_os(diag, errno, st, LOCK_FILE, "cannot lock");
	}
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(st->lockfd, 0) != 0 || pwrite(st->lockfd, text, (size_t)len, 0) != len)
		return fail_os(diag, errno, st, LOCK_FILE, "cannot record our PID");
	return FT_OK;
}

/* Creates DIR (the last component only) when missing and opens it. */
static ft_error open_dir(ft_store *st, ft_diag *diag)
{
	bool created = mkdir(st->dir, 0755) == 0;
	if (!created && errno == ENOENT)
		return fail(diag, FT_ERR_NOT_FOUND, st, NULL,
		            "the parent directory does not exist (only the last component of a "
		            "store path is created)");
	if (!created && errno != EEXIST)
		return fail_os(diag, errno, st, NULL, "cannot create the directory");
	st->dirfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0 && errno == ENOTDIR)
		return fail(diag, FT_ERR_INVALID_ARG, st, NULL, "exists and is not a directory");
	if (st->dirfd < 0)
		return fail_os(diag, errno, st, NULL, "cannot open the directory");
	if (!created)
		return FT_OK;
	int parent = openat(st->dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = (parent < 0 || fsync(parent) != 0) ? errno : 0;
	if (parent >= 0)
		close(parent);
	if (err)
		return fail_os(diag, err, st, "..", "cannot fsync the new directory's parent");
	return FT_OK;
}

static ft_error open_store(ft_store *st, const char *board, ft_diag *diag)
{
	ft_error err = open_dir(st, diag);
	if (err != FT_OK)
		return err;
	/* Refuse a foreign directory before leaving a lock file in it. */
	struct stat sb;
	if (fstatat(st->dirfd, MANIFEST_FILE, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			return fail_os(diag, errno, st, MANIFEST_FILE, "cannot check");
		err = scan_dir(st, false, diag);
		if (err != FT_OK)
			return err;
	}
	err = take_lock(st, diag);
	if (err != FT_OK)
		return err;
	err = read_manifest(st, diag);
	if (err == FT_ERR_NOT_FOUND) {
		memcpy(st->board, board, strlen(board) + 1);
		bool renamed;
		err = write_manifest(st, &renamed, diag);
	} else if (err == FT_OK && strcmp(st->board, board) != 0) {
		err = fail(diag, FT_ERR_STATE, st, MANIFEST_FILE,
		           "store belongs to board %s, not %s", st->board, board);
	} else if (err == FT_OK) {
		err = check_region_files(st, diag);
	}
	if (err != FT_OK)
		return err;
	return scan_dir(st, true, diag);
}

ft_error ft_store_open(const char *dir, const char *board, ft_store **out, ft_diag *diag)
{
	if (!out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "ft_store_open: out is NULL");
	*out = NULL;
	if (!dir || !board)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "ft_store_open: NULL argument");
	size_t len = strnlen(dir, PATH_MAX);
	if (len == 0 || len == PATH_MAX)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "store path is %s (1 to %d bytes allowed)",
		                   len ? "too long" : "empty", PATH_MAX - 1);
	if (!valid_name(board, true))
		return ft_diag_set(
		    diag, FT_ERR_INVALID_ARG, dir,
		    "board name \"%.80s\" is not 1 to %d characters of [A-Za-z0-9._-]", board,
		    FT_STORE_NAME_MAX);
	ft_store *st = calloc(1, sizeof(*st));
	if (!st)
		return ft_diag_set(diag, FT_ERR_NO_MEM, dir, "cannot allocate the store handle");
	st->dirfd = -1;
	st->lockfd = -1;
	memcpy(st->dir, dir, len + 1);
	ft_error err = open_store(st, board, diag);
	if (err != FT_OK) {
		ft_store_close(st, NULL);
		return err;
	}
	*out = st;
	return FT_OK;
}

static ft_error map_file(ft_store *st, int fd, const char *file, size_t size, uint8_t **mem,
                         ft_diag *diag)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail_os(diag, errno, st, file, "cannot map");
	*mem = p;
	return FT_OK;
}

static ft_error map_existing(ft_store *st, struct store_region *r, ft_diag *diag)
{
	char file[FILE_NAME_MAX];
	region_file(file, sizeof(file), "", r->name);
	int fd = openat(st->dirfd, file, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_os(diag, errno, st, file, "cannot open");
	struct stat sb;
	ft_error err;
	if (fstat(fd, &sb) != 0)
		err = fail_os(diag, errno, st, file, "cannot stat");
	else if ((uintmax_t)sb.st_size != r->size)
		err = fail(diag, FT_ERR_FORMAT, st, file,
		           "region %s is %jd bytes on disk, the manifest says %zu", r->name,
		           (intmax_t)sb.st_size, r->size);
	else
		err = map_file(st, fd, file, r->size, &r->mem, diag);
	close(fd); /* the mapping keeps the file */
	return err;
}

/* Creates region R (its name and size set, not yet counted in st) with its factory bytes; on
 * success it is counted, mapped and named by the manifest. */
static ft_error create_region(ft_store *st, struct store_region *r, uint8_t fill,
                              const uint8_t *image, ft_diag *diag)
{
	char tmp[FILE_NAME_MAX], file[FILE_NAME_MAX];
	region_file(tmp, sizeof(tmp), TEMP_PREFIX, r->name);
	region_file(file, sizeof(file), "", r->name);
	int fd;
	ft_error err = create_temp(st, tmp, &fd, diag);
	if (err != FT_OK)
		return err;
	/* Blocks are reserved now, so a full disk is an error here and not a SIGBUS on a later
	 * store through the mapping. */
	int alloc_err = posix_fallocate(fd, 0, (off_t)r->size);
	err = alloc_err ? fail_os(diag, alloc_err, st, tmp, "cannot allocate")
	                : map_file(st, fd, tmp, r->size, &r->mem, diag);
	if (err != FT_OK) {
		close(fd);
		unlinkat(st->dirfd, tmp, 0); /* else the next open removes it */
		return err;
	}
	if (image)
		memcpy(r->mem, image, r->size);
	else if (fill != 0) /* fallocate'd blocks read as zero */
		memset(r->mem, fill, r->size);
	bool renamed, in_manifest = false;
	err = publish(st, fd, tmp, file, &renamed, diag);
	if (err == FT_OK) {
		st->nregions++;
		err = write_manifest(st, &in_manifest, diag);
		if (!in_manifest)
			st->nregions--;
	}
	if (err != FT_OK && !in_manifest) {
		munmap(r->mem, r->size);
		r->mem = NULL;
		/* Not yet in the manifest: whichever name exists is a leftover, removed here or by
		 * the next open. */
		unlinkat(st->dirfd, tmp, 0);
		unlinkat(st->dirfd, file, 0);
	}
	return err;
}

static ft_error map_region(ft_store *st, const char *name, size_t size, uint8_t fill,
                           const uint8_t *image, uint8_t **mem, bool *fresh, ft_diag *diag)
{
	if (!st || !name || !mem || !fresh)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "ft_store_map: NULL argument");
	if (!valid_name(name, false))
		return fail(diag, FT_ERR_INVALID_ARG, st, NULL,
		            "region name \"%.80s\" is not 1 to %d characters of [a-z0-9_-]", name,
		            FT_STORE_NAME_MAX);
	if (size == 0 || size > FT_STORE_REGION_MAX)
		return fail(diag, FT_ERR_RANGE, st, NULL,
		            "region %s: size %zu is outside 1..%zu bytes", name, size,
		            FT_STORE_REGION_MAX);
	struct store_region *r = find_region(st, name);
	bool created = !r;
	ft_error err;
	if (r && r->size != size) {
		return fail(diag, FT_ERR_FORMAT, st, NULL,
		            "region %s is %zu bytes in this store, the caller asked for %zu "
		            "(a store is never resized: use a new directory)",
		            name, r->size, size);
	} else if (r) {
		err = r->mem ? FT_OK : map_existing(st, r, diag);
	} else if (st->nregions == FT_STORE_REGIONS_MAX) {
		return fail(diag, FT_ERR_RANGE, st, NULL,
		            "region %s: the store already holds %d regions", name,
		            FT_STORE_REGIONS_MAX);
	} else {
		r = &st->regions[st->nregions];
		memcpy(r->name, name, strlen(name) + 1);
		r->size = size;
		err = create_region(st, r, fill, image, diag);
	}
	if (err != FT_OK)
		return err;
	*mem = r->mem;
	*fresh = created;
	return FT_OK;
}

ft_error ft_store_map(ft_store *st, const char *name, size_t size, uint8_t fill, uint8_t **mem,
                      bool *fresh, ft_diag *diag)
{
	return map_region(st, name, size, fill, NULL, mem, fresh, diag);
}

ft_error ft_store_map_image(ft_store *st, const char *name, size_t size, const uint8_t *image,
                            uint8_t **mem, bool *fresh, ft_diag *diag)
{
	if (!image)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL,
		                   "ft_store_map_image: image is NULL");
	return map_region(st, name, size, 0, image, mem, fresh, diag);
}

ft_error ft_store_sync(ft_store *st, ft_diag *diag)
{
	if (!st)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "ft_store_sync: st is NULL");
	ft_error err = FT_OK;
	for (size_t i = 0; i < st->nregions; i++) {
		struct store_region *r = &st->regions[i];
		if (r->mem && msync(r->mem, r->size, MS_SYNC) != 0 && err == FT_OK) {
			char file[FILE_NAME_MAX];
			region_file(file, sizeof(file), "", r->name);
			err = fail_os(diag, errno, st, file, "cannot sync");
		}
	}
	return err;
}

ft_error ft_store_close(ft_store *st, ft_diag *diag)
{
	if (!st)
		return FT_OK;
	ft_error err = ft_store_sync(st, diag);
	for (size_t i = 0; i < st->nregions; i++)
		if (st->regions[i].mem)
			munmap(st->regions[i].mem, st->regions[i].size);
	if (st->lockfd >= 0)
		close(st->lockfd); /* releases the flock */
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st);
	return err;
}
