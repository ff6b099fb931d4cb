/*
 * Two test stacks joined by hand for scatter-gather tests (test_tcp_sgcopy.c, the
 * round 7b review): a sends to b through a lazy "NIC" that may keep the frames it
 * took, with their fragments, until the test completes them, as real drivers reclaim
 * late; every frame is copied onto the other side's wire with its fragments gathered
 * and its partial checksum completed, as the sender's NIC would.
 */
#ifndef SKIFF_TESTS_SG_PAIR_H
#define SKIFF_TESTS_SG_PAIR_H

#include "tests/unit/fake_netdev.h"
#include "net/tcp.h"

#define SGP_HOLD_MAX 128

struct sg_pair {
	struct test_net a, b;           /* a sends to b */
	struct tcp_sock *l, *cs, *ss;
	struct pkt *held[SGP_HOLD_MAX]; /* frames a's "NIC" took and has not completed */
	int nheld;
};

/* A copy of frame p (fragments gathered) in a fresh packet of to; NULL: no buffer. */
struct pkt *sgp_wire_copy(struct test_net *to, struct pkt *p);
/* Moves what a sent to b (deliver) and keeps frames with fragments (hold); frames moved. */
int sgp_a_to_b(struct sg_pair *s, int hold, int deliver);
int sgp_b_to_a(struct sg_pair *s);
void sgp_pump(struct sg_pair *s, int hold, int deliver);      /* until both are quiet */
void sgp_complete_held(struct sg_pair *s);                     /* the NIC finishes them */
/* The test stream's byte at offset i for a salt. */
uint8_t sgp_pat(uint32_t i, uint8_t salt);
/* Reads all c has, checking it against the pattern from *at on; *at moves; bad bytes. */
uint32_t sgp_recv_check(struct tcp_sock *c, uint32_t *at, uint8_t salt);
/* The payload of frame p (a TCP frame from a, fragments included) against the pattern;
 * seq0: the sequence number of stream offset 0. 1: every byte right. */
int sgp_frame_payload_ok(struct pkt *p, uint32_t seq0, uint8_t salt);
/* a: a device with features, b: LRO; a connects to b's listener on port (both set up,
 * connected, a's TCB able to send by fragments: REQUIREd). */
void sgp_init(struct sg_pair *s, uint32_t features, uint16_t port);
/* Completes what is held, aborts both ends; then no pin, held byte or leak may be left. */
void sgp_fini(struct sg_pair *s);

#endif
