/*
 * A plain text console on the firmware's framebuffer (boot_info.fb, from UEFI's GOP):
 * 8x16 cells, light grey on black, every console write (log lines and shell output).
 * Writes only update a text shadow; the screen is redrawn from it by a main-loop hook at
 * most every FBCON_REDRAW_NS, and at once by console_flush() (panics, resets), so a
 * burst of log lines costs one redraw, not one scroll per line.
 */
#ifndef SKIFF_FBCON_H
#define SKIFF_FBCON_H

#include <stdint.h>
#include "kernel/bootinfo.h"

/* Maps the framebuffer (after paging_init), registers the console sink and the redraw
 * hook, and shows the log so far. Returns 0, or -1 when there is no usable framebuffer
 * (none, BltOnly, a pixel format other than 32-bit RGBX/BGRX, or under one cell). */
int fbcon_init(const struct boot_fb *fb);

#endif
