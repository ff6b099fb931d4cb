/*
 * Line editor and command dispatch. Editing: printable characters, Backspace/DEL,
 * Ctrl-U (kill line), Ctrl-C (cancel), Up/Down (history of 16 lines); CR, LF or CR LF
 * end a line. Lines longer than SHELL_LINE ring the bell instead of overflowing.
 */
#include "kernel/shell.h"
#include "kernel/console.h"
#include "lib/string.h"

#define SHELL_LINE 256
#define SHELL_ARGS 16
#define HISTORY 16
#define MAX_CMDS 64

static const struct shell_cmd *cmds[MAX_CMDS];
static int ncmds;
static char line[SHELL_LINE];
static int len;
static char history[HISTORY][SHELL_LINE];
static int hist_count, hist_pos;
static int esc_state;           /* 0 none, 1 after ESC, 2 after ESC [ */
static char last;
static const char *prompt_host = "skiff";
static void (*on_interrupt)(void);

void shell_set_interrupt(void (*fn)(void))
{
	on_interrupt = fn;
}

static void prompt(void)
{
	kprintf("%s> ", prompt_host);
}

void shell_register(const struct shell_cmd *cmd)
{
	if (ncmds < MAX_CMDS)
		cmds[ncmds++] = cmd;
}

static int split(char *s, char **argv)
{
	int argc = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			*s++ = 0;
		if (!*s)
			break;
		if (argc == SHELL_ARGS)
			return -1;
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return argc;
}

int shell_exec(char *s)
{
	char *argv[SHELL_ARGS + 1];
	int argc = split(s, argv);
	if (argc < 0) {
		kprintf("error: more than %d arguments\n", SHELL_ARGS);
		return -1;
	}
	if (argc == 0)
		return 0;
	argv[argc] = NULL;
	for (int i = 0; i < ncmds; i++)
		if (strcmp(cmds[i]->name, argv[0]) == 0)
			return cmds[i]->fn(argc, argv);
	kprintf("error: unknown command '%s' (try 'help')\n", argv[0]);
	return -1;
}

static void replace_line(const char *s)
{
	while (len > 0) {
		kprintf("\b \b");
		len--;
	}
	len = (int)strlcpy(line, s, sizeof(line));
	kprintf("%s", line);
}

static void history_add(void)
{
	if (len == 0 || (hist_count && strcmp(history[(hist_count - 1) % HISTORY], line) == 0))
		return;
	strlcpy(history[hist_count % HISTORY], line, SHELL_LINE);
	hist_count++;
}

static void history_step(int dir)
{
	int oldest = hist_count > HISTORY ? hist_count - HISTORY : 0;
	int pos = hist_pos + dir;
	if (pos < oldest || pos > hist_count)
		return;
	hist_pos = pos;
	replace_line(pos == hist_count ? "" : history[pos % HISTORY]);
}

static void enter(void)
{
	kprintf("\n");
	line[len] = 0;
	history_add();
	hist_pos = hist_count;
	char copy[SHELL_LINE];
	strlcpy(copy, line, sizeof(copy));
	len = 0;
	shell_exec(copy);
	prompt();
}

static int escape(char c)
{
	if (esc_state == 1) {
		esc_state = c == '[' ? 2 : 0;
		return 1;
	}
	if (esc_state == 2) {
		esc_state = 0;
		if (c == 'A')
			history_step(-1);
		else if (c == 'B')
			history_step(1);
		return 1;
	}
	if (c == 0x1b) {
		esc_state = 1;
		return 1;
	}
	return 0;
}

void shell_input(char c)
{
	char prev = last;
	last = c;
	if (escape(c))
		return;
	if (c == '\n' && prev == '\r')
		return;         /* CR LF is one line end */
	if (c == '\r' || c == '\n') {
		enter();
	} else if (c == 0x7f || c == '\b') {
		if (len > 0) {
			len--;
			kprintf("\b \b");
		}
	} else if (c == 0x15) {        /* Ctrl-U */
		replace_line("");
	} else if (c == 0x03) {        /* Ctrl-C */
		kprintf("^C\n");
		len = 0;
		if (on_interrupt)
			on_interrupt();
		prompt();
	} else if (c >= 0x20 && c < 0x7f) {
		if (len + 1 >= SHELL_LINE) {
			kprintf("\a");
			return;
		}
		line[len++] = c;
		kprintf("%c", c);
	}
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < ncmds; i++) {
		char usage[48];
		int n = 0;
		for (const char *p = cmds[i]->name; *p && n < 40; p++)
			usage[n++] = *p;
		if (cmds[i]->args[0] && n < 40)
			usage[n++] = ' ';
		for (const char *p = cmds[i]->args; *p && n < 46; p++)
			usage[n++] = *p;
		usage[n] = 0;
		kprintf("  %-28s %s\n", usage, cmds[i]->help);
	}
	return 0;
}

static const struct shell_cmd help_cmd = { "help", "", "list commands", cmd_help };

void shell_init(const char *hostname)
{
	prompt_host = hostname;
	shell_register(&help_cmd);
}

void shell_start(void)
{
	kprintf("\nType 'help' for commands.\n");
	prompt();
}
