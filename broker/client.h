/* A request client for a gridrelayd node: the library that gridctl, the
 * benchmark, the tests and any reporter or department software use.
 *
 * One DEALER socket connected to the node's ROUTER. Each request is sealed
 * into a signed envelope with the next sequence number; the reply is the
 * node's signed envelope whose body names that sequence in ref_seq.
 *
 * Reliability: gr_client_call() resends the same sealed envelope (same
 * signer and seq) when no reply comes in time. The node answers a resend
 * of an accepted request with the original result, so retrying is always
 * safe and never stores anything twice.
 *
 * Sequence numbers start at the current time in microseconds, so that a
 * reporter that restarts (a new gridctl run) keeps increasing without
 * persisting a counter.
 *
 * Version: a client speaks protocol version 2 unless told otherwise
 * (gr_client_set_version): its requests are signed as always and the node
 * answers them with batched receipts (receipt.h, PROTOCOL.md 2.4), one
 * Ed25519 signature per node commit; the client checks each reply's path
 * and the head's signature, remembering the heads it checked. A
 * gr_client_call() reply must also name this request's digest.
 *
 * Thread safety: a client belongs to one thread at a time; use one client
 * per thread (they may share a ZeroMQ context).
 */
#ifndef GR_CLIENT_H
#define GR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "keys.h"

typedef struct gr_client gr_client_t;

/* Connects to endpoint (e.g. "tcp://127.0.0.1:7001") as kp. When node_pk is
 * not NULL, the connection uses CURVE with that node key (nodes require it:
 * traffic is encrypted and the node admits only keys it trusts) and replies
 * must be signed by that key; without it the socket is plain and any
 * correctly signed reply is accepted (for tests against plain sockets). zmq_ctx may be NULL (the client makes its own)
 * or a context shared with other clients, which must outlive them.
 * Returns NULL on failure (bad endpoint, out of memory). */
gr_client_t *gr_client_new(void *zmq_ctx, const char *endpoint, const gr_keypair_t *kp,
                           const uint8_t *node_pk);

/* Closes the socket (and the context when the client made it), sets
 * *self_p to NULL. Accepts NULL. */
void gr_client_destroy(gr_client_t **self_p);

/* Sends request and waits for its reply, resending the same envelope every
 * timeout_ms, at most attempts times in all. On success *reply holds the
 * opened reply (release with gr_opened_clear()) and 0 is returned; an
 * Error reply is still a success here (reply->body->kind_case tells).
 * Returns GR_ETIMEOUT after the last attempt. */
int gr_client_call(gr_client_t *self, const Gridrelay__Body *request, gr_opened_t *reply,
                   int timeout_ms, int attempts);

/* Pipelining: seal and send without waiting. *seq_out gets the sequence
 * used; when frame_out is not NULL it receives a malloc'd copy of the
 * sealed frame (for a later gr_client_send_raw() resend). */
int gr_client_send(gr_client_t *self, const Gridrelay__Body *request, uint64_t *seq_out,
                   uint8_t **frame_out, size_t *frame_len_out);

/* Seals request with the next sequence number without sending it (a
 * benchmark seals its reports before its clock starts). *frame_out is
 * malloc'd; *seq_out gets the sequence. */
int gr_client_seal(gr_client_t *self, const Gridrelay__Body *request, uint64_t *seq_out,
                   uint8_t **frame_out, size_t *frame_len_out);

/* gr_client_call() for a frame sealed by gr_client_seal() with sequence
 * seq. */
int gr_client_call_raw(gr_client_t *self, const uint8_t *frame, size_t len, uint64_t seq,
                       gr_opened_t *reply, int timeout_ms, int attempts);

/* The protocol version of the requests this client seals: 2 (the default:
 * batched receipts) or 1 (each reply signed on its own, as an old client
 * gets). Returns 0 or GR_EINVAL. */
int gr_client_set_version(gr_client_t *self, uint32_t version);

/* Checks the Ed25519 signature of one reply in every (1: all, the
 * default). For load generators only, so that their own verifying does
 * not take the cores from the node they measure: the replies not sampled
 * are still decoded, and a receipt's path is still checked. */
void gr_client_set_verify_every(gr_client_t *self, uint32_t every);

/* What the client checked: replies received and verified as far as
 * sampling allows, Ed25519 checks made (v1 signatures and receipt heads),
 * and receipt heads found in the cache. */
typedef struct {
    uint64_t replies;
    uint64_t signatures;
    uint64_t cached;
} gr_client_checks_t;
void gr_client_checks(const gr_client_t *self, gr_client_checks_t *out);

/* Sends an already sealed frame (a resend, or a deliberately bad frame in
 * tests). */
int gr_client_send_raw(gr_client_t *self, const uint8_t *frame, size_t len);

/* Receives and verifies the next reply within timeout_ms (-1 = wait for
 * ever). GR_ETIMEOUT when none came; a reply that fails verification is
 * returned as its error code and dropped. */
int gr_client_recv(gr_client_t *self, gr_opened_t *reply, int timeout_ms);

/* The sequence the next request will use; set it (tests) with
 * gr_client_set_seq(). */
uint64_t gr_client_next_seq(const gr_client_t *self);
void gr_client_set_seq(gr_client_t *self, uint64_t next);

/* The ZeroMQ socket, for zmq_poll() in the caller's own event loop. */
void *gr_client_socket(gr_client_t *self);

/* ref_seq of a reply body: the value of its message's uint64 field named
 * ref_seq (every reply kind has one), 0 for kinds without it. */
uint64_t gr_body_ref_seq(const Gridrelay__Body *body);

/* Milliseconds since the Unix epoch, the protocol's clock. */
uint64_t gr_now_ms(void);

#endif
