/*
 * The site: files served by path, each with its Content-Type. Fixed-size table, no
 * allocation; entries point at data that lives for ever (image, boot volume).
 */
#ifndef SKIFF_NET_HTTP_SITE_H
#define SKIFF_NET_HTTP_SITE_H

#include <stddef.h>
#include <stdint.h>
#include "net/http_parse.h"

#define HTTP_SITE_MAX 128               /* built-in files + BOOT_MAX_FILES (64) */

/* A file compiled into the image. www_files/www_nfiles are defined by the generated
 * build/gen/www_data.c (scripts/embed_www.py over www/), linked into the image only. */
struct http_file {
	const char *path;               /* below www/, no leading '/': "index.html" */
	const uint8_t *data;
	uint64_t size;
};
extern const struct http_file www_files[];
extern const size_t www_nfiles;

struct http_site_entry {
	const char *path;               /* the caller's string, without leading '/' */
	size_t path_len;
	const uint8_t *data;
	uint64_t size;
	const char *content_type;
};

struct http_site {
	struct http_site_entry e[HTTP_SITE_MAX];
	uint32_t n;
};

void http_site_init(struct http_site *s);

/* Adds a file, or replaces the one with the same path (leading '/' ignored). The site
 * keeps the path and data pointers: both must live as long as the site (boot_info and
 * the image do). Returns 0, -NET_EINVAL (path empty, over HTTP_TARGET_MAX, with a
 * control byte, backslash or "."/".." segment; data NULL with size > 0) or
 * -NET_ENOSPC (HTTP_SITE_MAX files). */
int http_site_add(struct http_site *s, const char *path, const uint8_t *data, uint64_t size);

/* http_site_add() for each of n files; returns the first error (and stops), or 0. */
int http_site_add_table(struct http_site *s, const struct http_file *files, size_t n);

/* The entry for a decoded request path ("/a/b.css": one leading '/' is dropped); ""
 * or "/", or a trailing '/', means "index.html" in that folder. NULL if none. */
const struct http_site_entry *http_site_find(const struct http_site *s, const char *path, size_t len);

/* Content-Type by extension (html css js json txt png jpg gif svg ico wasm pdf, case-
 * insensitive); application/octet-stream otherwise. */
const char *http_content_type(const char *path, size_t len);

#endif
