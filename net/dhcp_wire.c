/*
 * DHCP message check/parse/emit (see dhcp_wire.h). Layout: RFC 2131 §2 Figure 1;
 * options: RFC 2132 §3-9; cookie: RFC 2131 §3.
 */
#include "net/dhcp_wire.h"
#include "lib/string.h"

/* One step of the option walk. Returns 1 with the option at *pos (then advanced), 0 at
 * END or the end of the buffer, -1 if the option's length runs past the buffer. Each
 * call that returns 1 advances *pos by at least 1 (PAD) or 2 (any other option). */
static int opt_next(const uint8_t *buf, size_t len, size_t *pos, uint8_t *code,
		    const uint8_t **val, uint8_t *vlen)
{
	while (*pos < len && buf[*pos] == DHCP_OPT_PAD)
		(*pos)++;
	if (*pos >= len || buf[*pos] == DHCP_OPT_END)
		return 0;
	if (len - *pos < 2 || buf[*pos + 1] > len - *pos - 2)
		return -1;
	*code = buf[*pos];
	*vlen = buf[*pos + 1];
	*val = buf + *pos + 2;
	*pos += 2 + (size_t)*vlen;
	return 1;
}

/* Lengths RFC 2132 fixes for the options we read; others may have any length. */
static int opt_len_ok(uint8_t code, uint8_t n)
{
	switch (code) {
	case DHCP_OPT_MSG_TYPE:
	case DHCP_OPT_OVERLOAD:
		return n == 1;
	case DHCP_OPT_SUBNET_MASK:
	case DHCP_OPT_REQUESTED_IP:
	case DHCP_OPT_LEASE_TIME:
	case DHCP_OPT_SERVER_ID:
	case DHCP_OPT_T1:
	case DHCP_OPT_T2:
		return n == 4;
	case DHCP_OPT_ROUTER:
	case DHCP_OPT_DNS:
		return n >= 4 && n % 4 == 0;
	default:
		return 1;
	}
}

enum wire_err dhcp_check(const uint8_t *buf, size_t len)
{
	if (len < DHCP_OPTS_OFF)
		return WIRE_TRUNCATED;
	if ((buf[0] != BOOTP_REQUEST && buf[0] != BOOTP_REPLY) || buf[2] > 16)
		return WIRE_BAD_FORMAT;
	if (wire_get32(buf + DHCP_FIXED_LEN) != DHCP_MAGIC)
		return WIRE_BAD_FORMAT;
	size_t pos = DHCP_OPTS_OFF;
	uint8_t code, n;
	const uint8_t *val;
	int r;
	while ((r = opt_next(buf, len, &pos, &code, &val, &n)) > 0)
		if (!opt_len_ok(code, n))
			return WIRE_BAD_OPTION;
	return r < 0 ? WIRE_BAD_OPTION : WIRE_OK;
}

static void parse_option(struct dhcp_msg *m, uint8_t code, const uint8_t *v, uint8_t n,
			 uint64_t *seen)
{
	/* Only the first occurrence counts; every code we read is below 64. */
	uint64_t bit = code < 64 ? 1ull << code : 0;
	if (!bit || (*seen & bit))
		return;
	*seen |= bit;
	switch (code) {
	case DHCP_OPT_MSG_TYPE: m->msg_type = v[0]; break;
	case DHCP_OPT_SUBNET_MASK: m->subnet_mask = wire_get32(v); m->has |= DHCP_HAS_MASK; break;
	case DHCP_OPT_ROUTER: m->router = wire_get32(v); break;
	case DHCP_OPT_SERVER_ID: m->server_id = wire_get32(v); break;
	case DHCP_OPT_REQUESTED_IP: m->requested_ip = wire_get32(v); break;
	case DHCP_OPT_LEASE_TIME: m->lease_time = wire_get32(v); m->has |= DHCP_HAS_LEASE; break;
	case DHCP_OPT_T1: m->t1 = wire_get32(v); m->has |= DHCP_HAS_T1; break;
	case DHCP_OPT_T2: m->t2 = wire_get32(v); m->has |= DHCP_HAS_T2; break;
	case DHCP_OPT_DNS:
		for (uint8_t i = 0; i + 4 <= n && m->ndns < DHCP_MAX_DNS; i += 4)
			m->dns[m->ndns++] = wire_get32(v + i);
		break;
	default:
		break;
	}
}

void dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->op = buf[0];
	m->htype = buf[1];
	m->hlen = buf[2];
	m->hops = buf[3];
	m->xid = wire_get32(buf + 4);
	m->secs = wire_get16(buf + 8);
	m->flags = wire_get16(buf + 10);
	m->ciaddr = wire_get32(buf + 12);
	m->yiaddr = wire_get32(buf + 16);
	m->siaddr = wire_get32(buf + 20);
	m->giaddr = wire_get32(buf + 24);
	memcpy(m->chaddr, buf + 28, 16);
	size_t pos = DHCP_OPTS_OFF;
	uint8_t code, n;
	const uint8_t *val;
	uint64_t seen = 0;
	while (opt_next(buf, len, &pos, &code, &val, &n) > 0)
		parse_option(m, code, val, n, &seen);
}

/* Appends one option if it fits (leaving room for END); returns the new position. */
static size_t put_opt(uint8_t *buf, size_t cap, size_t pos, uint8_t code, const void *v,
		      size_t n, int *overflow)
{
	if (n > 255 || pos + 2 + n + 1 > cap) {
		*overflow = 1;
		return pos;
	}
	buf[pos] = code;
	buf[pos + 1] = (uint8_t)n;
	memcpy(buf + pos + 2, v, n);
	return pos + 2 + n;
}

static size_t put_opt32(uint8_t *buf, size_t cap, size_t pos, uint8_t code, uint32_t v,
			int *overflow)
{
	uint8_t b[4];
	wire_put32(b, v);
	return put_opt(buf, cap, pos, code, b, 4, overflow);
}

static void emit_fixed(const struct dhcp_msg *m, uint8_t *buf)
{
	memset(buf, 0, DHCP_OPTS_OFF);
	buf[0] = m->op;
	buf[1] = m->htype;
	buf[2] = m->hlen;
	buf[3] = m->hops;
	wire_put32(buf + 4, m->xid);
	wire_put16(buf + 8, m->secs);
	wire_put16(buf + 10, m->flags);
	wire_put32(buf + 12, m->ciaddr);
	wire_put32(buf + 16, m->yiaddr);
	wire_put32(buf + 20, m->siaddr);
	wire_put32(buf + 24, m->giaddr);
	memcpy(buf + 28, m->chaddr, 16);
	wire_put32(buf + DHCP_FIXED_LEN, DHCP_MAGIC);
}

int dhcp_emit(const struct dhcp_msg *m, uint8_t *buf, size_t cap)
{
	static const uint8_t prl[] = { DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER, DHCP_OPT_DNS,
				       DHCP_OPT_HOSTNAME, DHCP_OPT_LEASE_TIME, DHCP_OPT_T1,
				       DHCP_OPT_T2 };
	if (cap < DHCP_MIN_LEN)
		return -1;
	emit_fixed(m, buf);
	int of = 0;
	size_t pos = DHCP_OPTS_OFF;
	if (m->msg_type)
		pos = put_opt(buf, cap, pos, DHCP_OPT_MSG_TYPE, &m->msg_type, 1, &of);
	if (m->client_id) {
		uint8_t id[17] = { m->htype };
		size_t n = m->hlen <= 16 ? m->hlen : 16;
		memcpy(id + 1, m->chaddr, n);
		pos = put_opt(buf, cap, pos, DHCP_OPT_CLIENT_ID, id, 1 + n, &of);
	}
	if (m->requested_ip)
		pos = put_opt32(buf, cap, pos, DHCP_OPT_REQUESTED_IP, m->requested_ip, &of);
	if (m->server_id)
		pos = put_opt32(buf, cap, pos, DHCP_OPT_SERVER_ID, m->server_id, &of);
	if (m->max_size) {
		uint8_t b[2];
		wire_put16(b, m->max_size);
		pos = put_opt(buf, cap, pos, DHCP_OPT_MAX_SIZE, b, 2, &of);
	}
	if (m->hostname && m->hostname[0])
		pos = put_opt(buf, cap, pos, DHCP_OPT_HOSTNAME, m->hostname, strlen(m->hostname), &of);
	if (m->param_list)
		pos = put_opt(buf, cap, pos, DHCP_OPT_PARAM_LIST, prl, sizeof(prl), &of);
	if (of)
		return -1;
	buf[pos++] = DHCP_OPT_END;
	while (pos < DHCP_MIN_LEN)
		buf[pos++] = DHCP_OPT_PAD;
	return (int)pos;
}
