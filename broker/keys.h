/* Ed25519 identity keys and their files.
 *
 * A secret key file holds one line: the 64-byte libsodium secret key (seed
 * followed by public key) as 128 lowercase hex digits. A public key file
 * holds one line: the 32-byte public key as 64 hex digits. Text so that an
 * operator can paste a public key into a config file.
 *
 * Thread safety: all functions are reentrant; sodium_init() must have run
 * (gr_keys_init() does it and may be called any number of times).
 */
#ifndef GR_KEYS_H
#define GR_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define GR_PUBLIC_KEY_BYTES 32
#define GR_SECRET_KEY_BYTES 64
#define GR_SIGNATURE_BYTES 64
#define GR_PUBLIC_KEY_HEX (GR_PUBLIC_KEY_BYTES * 2 + 1)

typedef struct {
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    uint8_t sk[GR_SECRET_KEY_BYTES];
} gr_keypair_t;

/* Initialises libsodium. Returns 0, or GR_EINVAL if it cannot start. */
int gr_keys_init(void) __attribute__((warn_unused_result));

/* Fills kp with a fresh random key pair. Returns 0 or an error. */
int gr_keys_generate(gr_keypair_t *kp);

/* Writes kp to secret_path (created with mode 0600) and its public key to
 * public_path (0644). Refuses, with GR_EEXIST, when either file exists, so an
 * identity is never overwritten by accident. On error a message naming the
 * file goes into err (errlen bytes) and no file is left half-written. */
int gr_keys_save(const gr_keypair_t *kp, const char *secret_path,
                 const char *public_path, char *err, size_t errlen);

/* Loads a secret key file into kp. Refuses with GR_EKEY anything but a
 * regular file (a FIFO is refused at once, never waited on), a file that
 * group or others can read or write (as ssh does), a malformed file, or one
 * whose public half does not match its seed. */
int gr_keys_load_secret(gr_keypair_t *kp, const char *path, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/* Parses 64 hex digits into pk. Returns 0 or GR_EKEY. */
int gr_key_from_hex(uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *hex);

/* Loads a public key file (one line of 64 hex digits). Refuses with GR_EKEY
 * anything but a regular file (a FIFO is refused at once, never waited
 * on). Parses only: gr_key_check_public() says whether the key is usable. */
int gr_key_load_public(uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *path,
                       char *err, size_t errlen);

/* Whether pk is a usable Ed25519 public key: 0 when libsodium can convert
 * it to the Curve25519 form CURVE needs (crypto_sign_ed25519_pk_to_curve25519),
 * GR_EKEY when it cannot (all zeros or another point of small order, bytes
 * that encode no point, a point outside the main subgroup), GR_EINVAL for
 * NULL. gr_key_from_hex() and gr_key_load_public() do not call it, so that
 * their callers can say which of the two is wrong. */
int gr_key_check_public(const uint8_t pk[GR_PUBLIC_KEY_BYTES])
    __attribute__((warn_unused_result));

/* Writes pk as 64 hex digits plus NUL into out. */
void gr_key_to_hex(char out[GR_PUBLIC_KEY_HEX], const uint8_t pk[GR_PUBLIC_KEY_BYTES]);

#endif
