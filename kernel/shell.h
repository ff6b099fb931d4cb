/*
 * Serial shell. Bytes arrive from the UART ring through shell_input(), one at a time,
 * from the main loop: the shell never blocks it. Commands register themselves (drivers
 * and the stack add theirs); each returns 0, or -1 after printing a one-line error.
 */
#ifndef SKIFF_SHELL_H
#define SKIFF_SHELL_H

struct shell_cmd {
	const char *name;
	const char *args;       /* usage text, "" if none */
	const char *help;
	int (*fn)(int argc, char **argv);
};

void shell_init(const char *hostname);
void shell_register(const struct shell_cmd *cmd);
void shell_input(char c);
/* Ctrl-C at the prompt also calls fn (stops asynchronous commands: tcpdump, ping). */
void shell_set_interrupt(void (*fn)(void));
/* Prints the greeting and the first prompt. */
void shell_start(void);
/* Runs one command line as if typed (used by tests of the shell itself). */
int shell_exec(char *line);

#endif
