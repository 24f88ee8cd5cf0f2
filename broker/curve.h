/* CURVE security for gridrelay's ZeroMQ sockets, and the ZAP handler that
 * decides which clients a node admits.
 *
 * Every participant has one Ed25519 identity (broker/keys.h). ZeroMQ's CURVE
 * mechanism needs Curve25519 keys; they are derived from the Ed25519 pair
 * (libsodium's birational map), so there is no second key file to lose or
 * leak, and the key an operator pastes into a trust list is the same one
 * that signs envelopes.
 *
 * A node's bound sockets are CURVE servers (gr_curve_server); whoever
 * connects to a node is a CURVE client that must know the node's Ed25519
 * public key (gr_curve_client), which is also how the client knows it talks
 * to the right node. Which clients get in is decided by the ZAP handler
 * (gr_zap_t, ZeroMQ RFC 27): it admits a client only when its Curve25519
 * key is the derived form of a key in the node's trust list, and tells
 * ZeroMQ the client's Ed25519 key as the connection's user id. Every message
 * received over that connection then carries it:
 *     const char *signer_hex = zmq_msg_gets(&msg, "User-Id");
 * (64 lowercase hex digits; gr_key_from_hex() turns it back into a key).
 *
 * Caveats:
 * - libzmq finds the handler by the fixed endpoint "inproc://zeromq.zap.01"
 *   of the socket's context. A CURVE server in a context WITHOUT a bound
 *   handler admits every client that knows the server key (libzmq's
 *   enforcing option is a draft API). Create the gr_zap_t before binding any
 *   CURVE server, keep it for as long as those sockets live, and destroy it
 *   only after closing them.
 * - One handler serves the whole context: every CURVE server socket in it,
 *   and every socket with a ZAP domain set, is filtered by it. The handler
 *   admits only mechanism CURVE in the domains GR_ZAP_DOMAIN (any trusted
 *   key) and GR_ZAP_DOMAIN_DEPARTMENTS (department keys), so a socket that
 *   must stay open to NULL-mechanism peers must not set a ZAP domain.
 * - Refusals are not fatal to the client: libzmq keeps reconnecting (every
 *   ZMQ_RECONNECT_IVL), so a stranger's misconfigured client produces a
 *   steady stream of refusals. Their reports are rate-limited per key and
 *   overall (see gr_zap_set_logger), and the table that remembers refused
 *   keys has a fixed size, so a flood of random keys costs neither memory
 *   nor log space.
 *
 * Thread safety: gr_curve_derive() is reentrant. gr_curve_server() and
 * gr_curve_client() touch only the given socket and follow ZeroMQ's rule:
 * a socket is used by one thread at a time. A gr_zap_t belongs to the thread
 * that polls its socket; none of its functions may run concurrently on the
 * same handler. libsodium must be initialised (gr_keys_init()).
 */
#ifndef GR_CURVE_H
#define GR_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "trust.h"

#define GR_CURVE_KEY_BYTES 32

/* ZAP domain set on server sockets; the handler refuses any other. */
#define GR_ZAP_DOMAIN "gridrelay"

/* ZAP domain of a socket only departments may use (a node's task notice
 * PUB, which names every department's cases): the handler admits a trusted
 * key there only when its role is GR_ROLE_DEPARTMENT, so a grid worker's
 * or another node's key cannot listen in. */
#define GR_ZAP_DOMAIN_DEPARTMENTS "gridrelay-departments"

/* Where libzmq sends ZAP requests (fixed by RFC 27). */
#define GR_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* Refused keys remembered for rate-limiting their reports; the least
 * recently seen is forgotten first. */
#define GR_ZAP_TRACK_MAX 256

/* Default interval of the report rate limit. */
#define GR_ZAP_LOG_INTERVAL_MS 60000

/* At most this many refusal reports per interval across all keys; the rest
 * are counted and summarised in one line when the next interval opens. */
#define GR_ZAP_LOG_BURST 32

/* Derives the Curve25519 key pair of an Ed25519 identity.
 *
 * curve_pk: receives the 32-byte Curve25519 public key (may be NULL).
 * curve_sk: receives the 32-byte Curve25519 secret key (may be NULL); the
 *           caller should sodium_memzero() it when done.
 * kp:       the Ed25519 pair.
 *
 * Returns 0, GR_EINVAL for a NULL kp, or GR_EKEY when the public key is
 * not a valid Ed25519 point or does not belong to the secret key (nothing
 * is written then). */
int gr_curve_derive(uint8_t curve_pk[GR_CURVE_KEY_BYTES], uint8_t curve_sk[GR_CURVE_KEY_BYTES],
                    const gr_keypair_t *kp) __attribute__((warn_unused_result));

/* ---- boxes: messages for one reader, on a socket others may hear ----
 *
 * A PUB cannot tell who subscribed to what, so a message meant for one
 * subscriber (a department's task notice) is boxed with a key only the
 * sender and that reader can compute: libsodium's crypto_box with
 * precomputation (X25519 of one side's secret and the other's public key,
 * both the Curve25519 forms of their Ed25519 identities; XSalsa20-Poly1305
 * per message, a random nonce each). Computing the key once per pair keeps
 * a box to about a microsecond. */

#define GR_BOX_KEY_BYTES 32
/* A box is the nonce (24 bytes), the tag (16) and the message. */
#define GR_BOX_OVERHEAD 40

/* The key own and the holder of peer_ed25519_pk share. Returns 0, or
 * GR_EINVAL / GR_EKEY (either key unusable). */
int gr_box_key(uint8_t key[GR_BOX_KEY_BYTES], const uint8_t peer_ed25519_pk[GR_PUBLIC_KEY_BYTES],
               const gr_keypair_t *own) __attribute__((warn_unused_result));

/* Boxes msg into *out (malloc'd, len + GR_BOX_OVERHEAD bytes). 0 or GR_ENOMEM. */
int gr_box_seal(uint8_t **out, size_t *out_len, const uint8_t *msg, size_t len,
                const uint8_t key[GR_BOX_KEY_BYTES]);

/* Opens a box into *out (malloc'd). 0, GR_ENOMEM, or GR_ESIGNATURE when it
 * was not boxed with key or was changed on the way. */
int gr_box_open(uint8_t **out, size_t *out_len, const uint8_t *box, size_t len,
                const uint8_t key[GR_BOX_KEY_BYTES]);

/* Makes socket a CURVE server with kp's derived keys and the ZAP domain
 * GR_ZAP_DOMAIN. Call before zmq_bind(); options do not apply to endpoints
 * bound earlier.
 *
 * Returns 0; GR_EINVAL for NULL arguments; GR_EKEY when kp's public key is
 * not a valid point; GR_EUNSUPPORTED when libzmq was built without CURVE
 * (errno is ENOTSUP then); GR_EIO when zmq_setsockopt() fails (zmq_errno()
 * tells why, e.g. ENOTSOCK). After a failure the socket may be partly
 * configured: close it rather than bind it. */
int gr_curve_server(void *socket, const gr_keypair_t *kp) __attribute__((warn_unused_result));

/* As gr_curve_server(), in ZAP domain `domain` (GR_ZAP_DOMAIN or
 * GR_ZAP_DOMAIN_DEPARTMENTS); GR_EINVAL for any other. */
int gr_curve_server_in(void *socket, const gr_keypair_t *kp, const char *domain)
    __attribute__((warn_unused_result));

/* Makes socket a CURVE client with kp's derived keys, which will only
 * complete a handshake with the holder of server_ed25519_pk. Call before
 * zmq_connect().
 *
 * Returns 0, or the same errors as gr_curve_server(); GR_EKEY also when
 * server_ed25519_pk is not a valid point. */
int gr_curve_client(void *socket, const gr_keypair_t *kp,
                    const uint8_t server_ed25519_pk[GR_PUBLIC_KEY_BYTES])
    __attribute__((warn_unused_result));

typedef struct gr_zap gr_zap_t;

/* Receives one report line (NUL-terminated, no newline) about a refusal. */
typedef void (*gr_zap_log_fn)(void *ctx, const char *line);

/* Starts the ZAP handler of zmq_ctx: binds a REP socket to GR_ZAP_ENDPOINT
 * and admits the keys of trust (their Curve25519 forms are computed now; the
 * handler keeps its own copy, so trust may be changed or destroyed
 * afterwards; see gr_zap_reload). Trust-list keys that are not valid
 * Ed25519 points can never complete a handshake and are skipped.
 *
 * Returns the handler, or NULL when an argument is NULL, memory runs out,
 * or the endpoint cannot be bound (zmq_errno() is EADDRINUSE when the
 * context already has a handler). */
gr_zap_t *gr_zap_new(void *zmq_ctx, const gr_trust_t *trust);

/* Closes the handler's socket (no linger) and frees it; sets *self_p to
 * NULL. Accepts NULL and a pointer to NULL. See the caveat above about
 * CURVE servers that outlive their handler. */
void gr_zap_destroy(gr_zap_t **self_p);

/* The handler's socket, for the owner's zmq_poll() (ZMQ_POLLIN). Do not
 * read or write it directly. Returns NULL for a NULL handler. */
void *gr_zap_socket(gr_zap_t *self);

/* Answers one waiting ZAP request without blocking:
 * - "200", user id = hex Ed25519 key of the trusted entry, for mechanism
 *   CURVE in domain GR_ZAP_DOMAIN with a trusted key;
 * - "400" for an unknown key, another mechanism (NULL, PLAIN...) or
 *   another domain; the refusal is reported through the logger;
 * - "500" for a malformed request (wrong version, missing frames, a
 *   credential that is not 32 bytes).
 * Because libzmq holds the handshake until the answer, call it whenever the
 * socket polls readable; drain with while (gr_zap_handle(zap) == 0) {}.
 *
 * Returns 0 when a request was answered (whatever the verdict), -EAGAIN
 * when none was waiting (-EINTR if a signal interrupted the read),
 * GR_EINVAL for a NULL handler, or GR_EIO when the socket failed (e.g. the
 * context is terminating). */
int gr_zap_handle(gr_zap_t *self);

/* Replaces the admitted keys with those of trust (e.g. after the operator
 * edited the config). Connections already admitted stay up; later
 * handshakes use the new list. Counters and the refused-key table are kept.
 *
 * Returns 0, GR_EINVAL for NULL arguments, or GR_ENOMEM (the old list then
 * stays in force). */
int gr_zap_reload(gr_zap_t *self, const gr_trust_t *trust);

/* Sets where refusal reports go (fn NULL: nowhere). A refused key is
 * reported at most once per interval; the next report for it says how many
 * attempts were not reported in between, e.g.
 *   "refused unknown CURVE key 3b6a..ef12 from 127.0.0.1
 *    (5 more attempts since last report)"   (one line)
 * The key shown is the client's Curve25519 key (its Ed25519 form cannot be
 * recovered). fn runs inside gr_zap_handle() and must not call back into
 * the handler. */
void gr_zap_set_logger(gr_zap_t *self, gr_zap_log_fn fn, void *ctx);

/* Sets the report interval (default GR_ZAP_LOG_INTERVAL_MS) of both the
 * per-key limit and the overall burst limit; 0 turns rate limiting off
 * (every refusal is reported: for debugging only). Takes effect at once,
 * also for keys already seen. Ignored for a NULL handler. */
void gr_zap_set_log_interval_ms(gr_zap_t *self, uint64_t interval_ms);

/* Number of requests answered "200" since gr_zap_new(). */
uint64_t gr_zap_admitted(const gr_zap_t *self);

/* Number of requests answered "400" or "500" since gr_zap_new(). */
uint64_t gr_zap_refused(const gr_zap_t *self);

/* Number of refused keys currently remembered (never above
 * GR_ZAP_TRACK_MAX). */
size_t gr_zap_tracked(const gr_zap_t *self);

#endif
