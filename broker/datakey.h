/* The node's data key ring: symmetric keys that encrypt personal data at
 * rest (docs/PROTOCOL.md section 12, README "Privacy and confidential
 * cases").
 *
 * A data key file is text, one key a line, "ID HEX": ID a decimal number
 * 1..4294967295, HEX 64 hex digits (32 bytes for
 * crypto_aead_xchacha20poly1305_ietf). Blank lines and lines starting with
 * '#' are ignored. The key with the highest ID is the current one: it
 * seals every value written; the others only open what they sealed before,
 * which is how a key is rotated without rewriting the store at once. The
 * file must be a regular file nobody but its owner may read or write
 * (mode 0600), as for the node's secret key.
 *
 * A sealed value is
 *   0x00 | 0xD1 | key id u32 BE | nonce 24 B | ciphertext | tag 16 B
 * where the AEAD's additional data is the caller's (the store passes the
 * database and the record's key, so a value cannot be moved to another
 * record). No protobuf message starts with a 0x00 byte (field number 0
 * does not exist), so a reader tells a sealed value from a plain one.
 *
 * Thread safety: a loaded ring is read-only and may be shared by threads.
 * sodium_init() must have run (gr_keys_init()).
 */
#ifndef GR_DATAKEY_H
#define GR_DATAKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GR_DATAKEY_BYTES 32
#define GR_DATAKEY_MAX 64                       /* keys a file may hold */
#define GR_DATAKEY_HEADER (2 + 4 + 24)          /* magic, key id, nonce */
#define GR_DATAKEY_OVERHEAD (GR_DATAKEY_HEADER + 16)

typedef struct gr_datakey gr_datakey_t;

/* Loads the key file at path. Refuses with GR_EKEY anything but a regular
 * file, a file group or others may access, a malformed line (err names the
 * line), two lines with one ID, or a file with no key. */
int gr_datakey_load(gr_datakey_t **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Wipes the keys and frees the ring; accepts NULL, sets *self_p to NULL. */
void gr_datakey_destroy(gr_datakey_t **self_p);

/* Creates a new key file at path (mode 0600) holding one fresh key, ID 1.
 * Refuses with GR_EEXIST when path exists. */
int gr_datakey_create_file(const char *path, char *err, size_t errlen);

/* Appends a fresh key with ID one above the file's highest, which becomes
 * the current key; the old keys stay. The file is rewritten through a
 * temporary file and rename(), so a crash leaves the old or the new file.
 * *new_id (may be NULL) is the new key's ID. */
int gr_datakey_rotate_file(const char *path, uint32_t *new_id, char *err, size_t errlen);

/* Removes key id from the file (after a rekey left no value under it).
 * Refuses with GR_EINVAL to remove the current key, GR_ENOTFOUND an ID the
 * file lacks. */
int gr_datakey_drop_file(const char *path, uint32_t id, char *err, size_t errlen);

/* The current key's ID; the number of keys and the ID of the i-th (in file
 * order). */
uint32_t gr_datakey_current(const gr_datakey_t *self);
size_t gr_datakey_count(const gr_datakey_t *self);
uint32_t gr_datakey_id_at(const gr_datakey_t *self, size_t i);
/* Whether the ring holds key id. */
bool gr_datakey_has(const gr_datakey_t *self, uint32_t id);
const char *gr_datakey_path(const gr_datakey_t *self);

/* Whether v (len bytes) is a sealed value; *id (may be NULL) its key ID. */
bool gr_datakey_is_sealed(const uint8_t *v, size_t len, uint32_t *id);

/* Seals len bytes with the current key into out, which holds
 * len + GR_DATAKEY_OVERHEAD bytes. plain may be out + GR_DATAKEY_HEADER
 * (sealing in place: the caller packs straight into that spot); otherwise
 * the two must not overlap. Returns 0 or GR_EINVAL. */
int gr_datakey_seal(const gr_datakey_t *self, uint8_t *out, const uint8_t *plain, size_t len,
                    const uint8_t *ad, size_t adlen);

/* Opens a sealed value of len bytes into out (len - GR_DATAKEY_OVERHEAD
 * bytes). Returns 0; GR_EDECODE when it is not a sealed value; GR_EKEY
 * when the ring lacks its key ID; GR_ESIGNATURE when the key does not open
 * it (another key under that ID, or changed bytes). */
int gr_datakey_open(const gr_datakey_t *self, uint8_t *out, const uint8_t *sealed, size_t len,
                    const uint8_t *ad, size_t adlen) __attribute__((warn_unused_result));

#endif
