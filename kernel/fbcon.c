/*
 * Framebuffer text console (see fbcon.h). State: a text shadow of rows x cols characters
 * used as a ring of lines (scrolling moves `top`, it copies nothing), and `shown`, what
 * each screen cell currently displays. A redraw paints only the cells whose character
 * differs from `shown`, so an idle screen costs nothing and a scroll repaints each cell
 * once. Pixels are 32-bit (GOP PixelRedGreenBlueReserved8BitPerColor or
 * PixelBlueGreenRedReserved8BitPerColor, UEFI 2.10 §12.9.2); the colours are greys, the
 * same value in either byte order.
 */
#include "kernel/fbcon.h"
#include "kernel/console.h"
#include "kernel/font.h"
#include "kernel/loop.h"
#include "kernel/paging.h"
#include "kernel/time.h"
#include "lib/string.h"

#define FBCON_MAX_COLS 240      /* 1920 px */
#define FBCON_MAX_ROWS 75       /* 1200 px */
#define FBCON_REDRAW_NS 40000000ull     /* 25 redraws a second at most */
#define FG 0x00c0c0c0u
#define BG 0x00000000u

static volatile uint32_t *fb;
static uint32_t stride, width, height;  /* pixels */
static uint32_t cols, rows;
static char text[FBCON_MAX_ROWS][FBCON_MAX_COLS];
static char shown[FBCON_MAX_ROWS][FBCON_MAX_COLS];      /* 0: unknown, paint it */
static uint32_t top;            /* text row shown on screen line 0 */
static uint32_t cx, cy;         /* cursor: column, screen line */
static int dirty, cleared;
static int esc;                 /* 1: after ESC, 2: inside "ESC [" (CSI) */
static uint64_t last_draw_ns;

static char *line(uint32_t y)
{
	return text[(top + y) % rows];
}

static void newline(void)
{
	cx = 0;
	if (cy + 1 < rows) {
		cy++;
		return;
	}
	top = (top + 1) % rows;         /* the old top line becomes the new, empty bottom */
	memset(line(rows - 1), ' ', cols);
}

/* ECMA-48 §5.4: a control sequence is ESC [ parameters... final byte 0x40..0x7e. The
 * console has no colours or cursor motion, so sequences are skipped, not obeyed. */
static int skip_escape(unsigned char c)
{
	if (esc == 1)
		esc = c == '[' ? 2 : 0;
	else if (c >= 0x40 && c <= 0x7e)
		esc = 0;
	return 1;
}

static void put(unsigned char c)
{
	if (esc && skip_escape(c))
		return;
	switch (c) {
	case '\r': cx = 0; return;
	case '\n': newline(); return;
	case '\b': if (cx) cx--; return;
	case '\t': do put(' '); while (cx % 8 && cx < cols); return;
	case 0x1b: esc = 1; return;
	}
	if (c < 0x20)
		return;
	if (c >= 0x7f)
		c = '?';
	if (cx >= cols)
		newline();
	line(cy)[cx++] = (char)c;
}

static void draw_cell(uint32_t x, uint32_t y, unsigned char c)
{
	const uint8_t *g = font_8x16[c & 127];
	volatile uint32_t *p = fb + (uint64_t)y * FONT_H * stride + (uint64_t)x * FONT_W;
	for (int r = 0; r < FONT_H; r++, p += stride)
		for (int b = 0; b < FONT_W; b++)
			p[b] = (g[r] & (0x80 >> b)) ? FG : BG;
}

static void clear_screen(void)
{
	for (uint64_t y = 0; y < height; y++)
		for (uint64_t x = 0; x < width; x++)
			fb[y * stride + x] = BG;
	cleared = 1;
}

static void redraw(void)
{
	if (!cleared)
		clear_screen();         /* also the margin right of and below the cell grid */
	for (uint32_t y = 0; y < rows; y++) {
		const char *l = line(y);
		for (uint32_t x = 0; x < cols; x++)
			if (shown[y][x] != l[x]) {
				draw_cell(x, y, (unsigned char)l[x]);
				shown[y][x] = l[x];
			}
	}
	dirty = 0;
}

static void fbcon_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put((unsigned char)s[i]);
	dirty = 1;
}

/* console_flush: panics and resets must reach the screen before the CPU stops. */
static void fbcon_flush(void)
{
	if (dirty)
		redraw();
}

static void fbcon_poll(void *ctx, uint64_t now_ns)
{
	(void)ctx;
	if (dirty && now_ns - last_draw_ns >= FBCON_REDRAW_NS) {
		redraw();
		last_draw_ns = now_ns;
	}
}

static const struct console_sink fbcon_sink = { fbcon_write, fbcon_flush };
static const struct loop_hook fbcon_hook = { .name = "fbcon", .poll = fbcon_poll };

static void replay(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	fbcon_write(s, n);
}

int fbcon_init(const struct boot_fb *bfb)
{
	if (!bfb->base || (bfb->format != BOOT_FB_RGBX && bfb->format != BOOT_FB_BGRX) ||
	    bfb->width < FONT_W || bfb->height < FONT_H || bfb->stride < bfb->width)
		return -1;
	uint64_t need = (uint64_t)bfb->stride * bfb->height * 4;
	if (bfb->size < need)
		return -1;
	fb = map_mmio(bfb->base, need);
	if (!fb)
		return -1;
	stride = bfb->stride;
	width = bfb->width;
	height = bfb->height;
	cols = width / FONT_W < FBCON_MAX_COLS ? width / FONT_W : FBCON_MAX_COLS;
	rows = height / FONT_H < FBCON_MAX_ROWS ? height / FONT_H : FBCON_MAX_ROWS;
	for (uint32_t y = 0; y < rows; y++)
		memset(text[y], ' ', cols);
	log_dump(replay, NULL);         /* the boot log so far, as the `log` command shows it */
	if (console_add_sink(&fbcon_sink))
		return -1;
	loop_register(&fbcon_hook);
	log_info("fbcon: %ux%u framebuffer at 0x%lx (%s), %ux%u text", width, height,
		 (unsigned long)bfb->base, bfb->format == BOOT_FB_RGBX ? "RGBX" : "BGRX", cols, rows);
	return 0;
}
