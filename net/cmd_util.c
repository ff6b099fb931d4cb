/* Output and argument helpers shared by the shell commands (cmd_util.h). */
#include <stdarg.h>
#include "net/cmd_util.h"
#include "lib/string.h"
#include "lib/fmt.h"

void cmd_printf(const struct cmd_out *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->fn(o->ctx, buf);
}

int cmd_matches(const char *arg, const char *word)
{
	size_t n = strlen(arg);
	return n && n <= strlen(word) && strncmp(arg, word, n) == 0;
}

int cmd_parse_uint(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int cmd_dev(struct net_stack *s, const struct cmd_out *o, const char *name)
{
	int ifi = link_by_name(&s->link, name);
	if (ifi < 0)
		cmd_printf(o, "Device \"%s\" does not exist.\n", name);
	return ifi;
}
