/*
 * Internet checksum helpers over net/checksum.c (sums folded to 16 bits, so callers
 * may add them) and dotted-quad text conversion.
 */
#include "net/inet.h"
#include "net/checksum.h"
#include "lib/fmt.h"

static uint32_t fold32(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)sum;
}

uint32_t inet_csum_add(uint32_t sum, const void *buf, size_t len)
{
	return fold32(csum_partial(buf, len, sum));   /* callers expect <= 0xffff */
}

uint16_t inet_csum_fold(uint32_t sum)
{
	return csum_fold(sum);
}

uint16_t inet_csum(const void *buf, size_t len)
{
	return csum_fold(csum_partial(buf, len, 0));
}

uint32_t inet_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return fold32(csum_pseudo_v4(src, dst, proto, len));
}

char *inet_fmt(char *buf, uint32_t a)
{
	ksnprintf(buf, INET_ADDRSTRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		  a & 0xff);
	return buf;
}

/* Parses one decimal part 0..255 at *s (1-3 digits); advances *s. */
static int parse_octet(const char **s, uint32_t *out)
{
	uint32_t v = 0;
	int digits = 0;
	while (**s >= '0' && **s <= '9') {
		if (++digits > 3)
			return -1;
		v = v * 10 + (uint32_t)(**s - '0');
		(*s)++;
	}
	if (!digits || v > 255)
		return -1;
	*out = v;
	return 0;
}

static int parse_quad(const char **s, uint32_t *addr)
{
	uint32_t a = 0;
	for (int i = 0; i < 4; i++) {
		uint32_t v;
		if (i && *(*s)++ != '.')
			return -1;
		if (parse_octet(s, &v))
			return -1;
		a = a << 8 | v;
	}
	*addr = a;
	return 0;
}

int inet_parse(const char *s, uint32_t *addr)
{
	if (!s || parse_quad(&s, addr))
		return -1;
	return *s ? -1 : 0;
}

int inet_parse_cidr(const char *s, uint32_t *addr, int *prefix_len)
{
	if (!s || parse_quad(&s, addr))
		return -1;
	if (!*s) {
		*prefix_len = 32;
		return 0;
	}
	if (*s++ != '/')
		return -1;
	uint32_t n;
	if (parse_octet(&s, &n) || *s || n > 32)
		return -1;
	*prefix_len = (int)n;
	return 0;
}

int inet_mask_len(uint32_t mask)
{
	int n = 0;
	while (n < 32 && (mask & (0x80000000u >> n)))
		n++;
	return inet_mask(n) == mask ? n : -1;
}
