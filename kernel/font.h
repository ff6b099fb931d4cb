/*
 * The framebuffer console's font: 8x16 glyphs for ASCII, generated at build time by
 * scripts/gen_font.py from a Debian console font (build/gen/font.c; the font and its
 * license are named there). Row 0 is the top; bit 7 of a row byte is the leftmost pixel.
 */
#ifndef SKIFF_FONT_H
#define SKIFF_FONT_H

#include <stdint.h>

#define FONT_W 8
#define FONT_H 16

extern const uint8_t font_8x16[128][16];

#endif
