/* Open311 GeoReport v2's XML form (node/http_open311): the same answers
 * as the JSON ones, written with libxml2's xmlwriter from the JSON the
 * handlers build, so the two forms cannot drift apart.
 *
 * The mapping, as the spec's XML examples have it: the document's root is
 * root; a JSON array at the top becomes one <item> per element; an
 * object's members become child elements named by their keys; a member
 * that is an array becomes <key> holding one element per value, named by
 * the key's singular (attributes -> attribute, values -> value); strings
 * and numbers are the text, booleans "true"/"false", null an empty element.
 *
 * Thread safety: reentrant.
 */
#ifndef GR_HTTP_XML_H
#define GR_HTTP_XML_H

#include <stddef.h>

#include <json-c/json.h>

/* obj as an XML document (UTF-8, with its declaration): malloc'd, NUL
 * terminated, *len its length. NULL when out of memory or when a key is
 * not an XML name. obj is not changed. */
char *gr_http_xml(json_object *obj, const char *root, const char *item, size_t *len);

#endif
