#include "http_xml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/xmlwriter.h>

/* "attributes" -> "attribute": the element of one value of a list. */
static void s_singular(char *out, size_t outlen, const char *key)
{
    size_t len = strlen(key);
    if (len > 1 && key[len - 1] == 's')
        len--;
    snprintf(out, outlen, "%.*s", (int)len, key);
}

static int s_value(xmlTextWriterPtr w, const char *name, json_object *v);

/* An array's values, each as an element name. */
static int s_list(xmlTextWriterPtr w, const char *name, json_object *arr)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (s_value(w, name, json_object_array_get_idx(arr, i)) < 0)
            return -1;
    return 0;
}

/* An object's members, each its own element. */
static int s_members(xmlTextWriterPtr w, json_object *obj)
{
    json_object_object_foreach(obj, key, v) {
        if (json_object_is_type(v, json_type_array)) {
            char item[128];
            s_singular(item, sizeof item, key);
            if (xmlTextWriterStartElement(w, BAD_CAST key) < 0 || s_list(w, item, v) < 0 ||
                xmlTextWriterEndElement(w) < 0)
                return -1;
        } else if (s_value(w, key, v) < 0) {
            return -1;
        }
    }
    return 0;
}

static int s_value(xmlTextWriterPtr w, const char *name, json_object *v)
{
    if (xmlTextWriterStartElement(w, BAD_CAST name) < 0)
        return -1;
    int rc = 0;
    switch (json_object_get_type(v)) {
    case json_type_null:
        break;
    case json_type_object:
        rc = s_members(w, v);
        break;
    case json_type_array: {
        char item[128];
        s_singular(item, sizeof item, name);
        rc = s_list(w, item, v);
        break;
    }
    case json_type_boolean:
        rc = xmlTextWriterWriteString(w, BAD_CAST(json_object_get_boolean(v) ? "true" : "false"));
        break;
    default:    /* string, int, double: their text */
        rc = xmlTextWriterWriteString(w, BAD_CAST json_object_get_string(v));
        break;
    }
    if (rc < 0)
        return -1;
    return xmlTextWriterEndElement(w);
}

char *gr_http_xml(json_object *obj, const char *root, const char *item, size_t *len)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    bool ok = w && xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) >= 0 &&
              xmlTextWriterStartElement(w, BAD_CAST root) >= 0;
    if (ok && json_object_is_type(obj, json_type_array))
        ok = s_list(w, item, obj) == 0;
    else if (ok && json_object_is_type(obj, json_type_object))
        ok = s_members(w, obj) == 0;
    ok = ok && xmlTextWriterEndElement(w) >= 0 && xmlTextWriterEndDocument(w) >= 0;
    if (w)
        xmlFreeTextWriter(w);   /* flushes into buf */
    char *out = NULL;
    if (ok && buf && (out = malloc((size_t)xmlBufferLength(buf) + 1))) {
        *len = (size_t)xmlBufferLength(buf);
        memcpy(out, xmlBufferContent(buf), *len);
        out[*len] = '\0';
    }
    if (buf)
        xmlBufferFree(buf);
    return out;
}
