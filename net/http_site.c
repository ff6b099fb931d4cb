/*
 * The site: the table of files the server answers GET/HEAD with (built into the image,
 * overridden from the boot volume) and their Content-Type by extension. See
 * http_site.h; the connection state machine (http_server.c) only calls
 * http_site_find().
 */
#include "net/http_site.h"
#include "net/http_int.h"
#include "net/err.h"
#include "lib/string.h"

void http_site_init(struct http_site *s)
{
	s->n = 0;
}

static bool valid_site_path(const char *p, size_t n)
{
	if (n == 0 || n > HTTP_TARGET_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p[i] < 0x20 || (uint8_t)p[i] >= 0x7f || p[i] == '\\')
			return false;
	for (size_t s = 0; s < n;) {
		size_t e = s;
		while (e < n && p[e] != '/')
			e++;
		if ((e - s == 1 && p[s] == '.') || (e - s == 2 && p[s] == '.' && p[s + 1] == '.'))
			return false;
		s = e + 1;
	}
	return true;
}

static const struct http_site_entry *find2(const struct http_site *s, const char *a, size_t an,
					   const char *b, size_t bn)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct http_site_entry *e = &s->e[i];
		if (e->path_len == an + bn && memcmp(e->path, a, an) == 0 && memcmp(e->path + an, b, bn) == 0)
			return e;
	}
	return NULL;
}

int http_site_add(struct http_site *s, const char *path, const uint8_t *data, uint64_t size)
{
	if (!path || (!data && size))
		return -NET_EINVAL;
	while (*path == '/')
		path++;
	size_t n = 0;
	while (n <= HTTP_TARGET_MAX && path[n])
		n++;
	if (!valid_site_path(path, n))
		return -NET_EINVAL;
	struct http_site_entry *e = (struct http_site_entry *)find2(s, path, n, "", 0);
	if (!e) {
		if (s->n >= HTTP_SITE_MAX)
			return -NET_ENOSPC;
		e = &s->e[s->n++];
	}
	*e = (struct http_site_entry){ path, n, data, size, http_content_type(path, n) };
	return 0;
}

int http_site_add_table(struct http_site *s, const struct http_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int err = http_site_add(s, files[i].path, files[i].data, files[i].size);
		if (err)
			return err;
	}
	return 0;
}

const struct http_site_entry *http_site_find(const struct http_site *s, const char *path, size_t len)
{
	if (len && *path == '/') {
		path++;
		len--;
	}
	if (len == 0 || path[len - 1] == '/')
		return find2(s, path, len, "index.html", 10);
	return find2(s, path, len, "", 0);
}

const char *http_content_type(const char *path, size_t len)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "json", "application/json" },
		{ "txt", CT_TEXT },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "svg", "image/svg+xml" },
		{ "ico", "image/x-icon" },
		{ "wasm", "application/wasm" },
		{ "pdf", "application/pdf" },
	};
	size_t dot = len;
	for (size_t i = len; i > 0 && path[i - 1] != '/'; i--)
		if (path[i - 1] == '.') {
			dot = i - 1;
			break;
		}
	if (dot == len)
		return CT_OCTET;
	const char *ext = path + dot + 1;
	size_t elen = len - dot - 1;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		size_t k = strlen(types[t].ext);
		if (k != elen)
			continue;
		size_t i = 0;
		while (i < k && (ext[i] | 0x20) == types[t].ext[i])
			i++;
		if (i == k)
			return types[t].type;
	}
	return CT_OCTET;
}
