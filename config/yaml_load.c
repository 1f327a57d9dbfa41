/* yaml_load.c - libyaml events to a value tree, with PyYAML's semantics.
 *
 * The loader walks libyaml's event stream recursively.  Anchored nodes are
 * remembered by pointer once complete; an alias is a deep copy of its anchor,
 * counted against KURC_LOAD_MAX_VALUES so alias bombs stop early.  Merge keys
 * (`<<`) are flattened the way PyYAML's flatten_mapping does: merged pairs
 * come first (for a list of maps, the last map first, so earlier maps win),
 * explicit pairs after them, and a later pair replaces an earlier one in
 * place.
 */
#include "config/yaml_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/file_read.h"
#include "base/strbuf.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "config/value/pyrepr.h"
#include "config/yaml_resolve.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
    char *name;
    struct kurc_value *node; /* a copy of the anchored node; NULL while it is being read */
    size_t count;            /* values in the node's subtree */
};

struct loader {
    yaml_parser_t parser;
    const char *data; /* the document text */
    size_t len;
    enum kurc_doc_format format;
    const char *file;
    struct anchor *anchors;
    size_t n_anchors;
    size_t cap_anchors;
    size_t values;
    int depth;
    struct kurc_err *err;
};

static struct kurc_loc mark_loc(const struct loader *L, yaml_mark_t mark) {
    struct kurc_loc loc = {L->file, (int)mark.line + 1, (int)mark.column + 1};
    return loc;
}

/* The line and column of a byte offset in the document. */
static struct kurc_loc offset_loc(const struct loader *L, size_t offset) {
    struct kurc_loc loc = {L->file, 1, 1};
    for (size_t i = 0; i < offset && i < L->len; i++) {
        if (L->data[i] == '\n') {
            loc.line++;
            loc.col = 1;
        } else if (!kurc_utf8_is_cont((unsigned char)L->data[i])) {
            loc.col++;
        }
    }
    return loc;
}

static enum kurc_status syntax_error(struct loader *L) {
    const yaml_parser_t *p = &L->parser;
    const char *problem = p->problem ? p->problem : "unreadable document";
    if (p->error == YAML_READER_ERROR) {
        struct kurc_loc loc = offset_loc(L, p->problem_offset);
        return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "the file is not valid UTF-8 (%s)",
                            problem);
    }
    struct kurc_loc loc = mark_loc(L, p->problem_mark);
    const char *hint = "";
    if (p->problem_mark.index < L->len && L->data[p->problem_mark.index] == '\t')
        hint = " (YAML cannot indent with tabs: use spaces)";
    if (p->context)
        return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "syntax error: %s %s at line %d%s",
                            problem, p->context, (int)p->context_mark.line + 1, hint);
    return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "syntax error: %s%s", problem, hint);
}

static enum kurc_status next_event(struct loader *L, yaml_event_t *ev) {
    if (!yaml_parser_parse(&L->parser, ev))
        return syntax_error(L);
    return KURC_OK;
}

static enum kurc_status count_value(struct loader *L, size_t n, const struct kurc_loc *loc) {
    L->values += n;
    if (L->values > KURC_LOAD_MAX_VALUES)
        return kurc_err_set(L->err, KURC_E_CONFIG, loc,
                            "document expands to more than %d values (alias bomb?)",
                            KURC_LOAD_MAX_VALUES);
    return KURC_OK;
}

static size_t subtree_count(const struct kurc_value *v) {
    size_t n = 1;
    if (v->kind == KURC_LIST)
        for (size_t i = 0; i < v->u.list.len; i++)
            n += subtree_count(v->u.list.items[i]);
    else if (v->kind == KURC_MAP)
        for (size_t i = 0; i < v->u.map.len; i++)
            n += subtree_count(v->u.map.pairs[i].val);
    return n;
}

/* Records (a copy of) the node an anchor names; node NULL marks an anchor
 * whose node is still being read.  A copy, because the tree may free the
 * original (a merge source, a mapping key) before an alias uses it. */
static void remember_anchor(struct loader *L, const char *name, const struct kurc_value *node) {
    struct kurc_value *copy = node ? kurc_value_copy(node) : NULL;
    for (size_t i = 0; i < L->n_anchors; i++) {
        if (strcmp(L->anchors[i].name, name) == 0) {
            kurc_value_free(L->anchors[i].node);
            L->anchors[i].node = copy;
            L->anchors[i].count = copy ? subtree_count(copy) : 0;
            return;
        }
    }
    if (L->n_anchors == L->cap_anchors) {
        L->cap_anchors = L->cap_anchors ? 2 * L->cap_anchors : 8;
        L->anchors = kurc_xrealloc(L->anchors, L->cap_anchors * sizeof *L->anchors);
    }
    struct anchor *a = &L->anchors[L->n_anchors++];
    a->name = kurc_xstrdup(name);
    a->node = copy;
    a->count = copy ? subtree_count(copy) : 0;
}

static enum kurc_status json_only(struct loader *L, const struct kurc_loc *loc, const char *what) {
    return kurc_err_set(L->err, KURC_E_CONFIG, loc, "not valid JSON: %s is YAML-only syntax", what);
}

static enum kurc_status resolve_alias(struct loader *L, const yaml_event_t *ev,
                                      struct kurc_value **out) {
    struct kurc_loc loc = mark_loc(L, ev->start_mark);
    const char *name = (const char *)ev->data.alias.anchor;
    if (L->format == KURC_FORMAT_JSON)
        return json_only(L, &loc, "an alias");
    for (size_t i = L->n_anchors; i-- > 0;) {
        struct anchor *a = &L->anchors[i];
        if (strcmp(a->name, name) != 0)
            continue;
        if (!a->node)
            return kurc_err_set(L->err, KURC_E_CONFIG, &loc,
                                "alias *%s refers to the node that contains it", name);
        enum kurc_status st = count_value(L, a->count, &loc);
        if (st)
            return st;
        *out = kurc_value_copy(a->node);
        return KURC_OK;
    }
    return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "found undefined alias *%s", name);
}

/* Types a scalar from its tag, style and text. */
static enum kurc_status make_scalar(struct loader *L, const yaml_event_t *ev,
                                    struct kurc_value **out) {
    struct kurc_loc loc = mark_loc(L, ev->start_mark);
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

    if (L->format == KURC_FORMAT_JSON) {
        if (tag)
            return json_only(L, &loc, "a tag");
        if (plain) {
            *out = kurc_json_resolve_plain(text, len, &loc);
            if (!*out)
                return kurc_err_set(L->err, KURC_E_CONFIG, &loc,
                                    "not valid JSON: '%.*s' is not a number, true, false or null",
                                    (int)(len > 60 ? 60 : len), text);
            return KURC_OK;
        }
        if (ev->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE)
            return json_only(L, &loc, "a string not in double quotes");
        *out = kurc_value_strn(text, len, &loc);
        return KURC_OK;
    }

    if (!tag || strcmp(tag, "!") == 0) {
        *out = plain && !tag ? kurc_yaml_resolve_plain(text, len, &loc)
                             : kurc_value_strn(text, len, &loc);
        return KURC_OK;
    }
    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
        return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "unsupported YAML tag '%s'", tag);
    const char *kind = tag + strlen(TAG_PREFIX);
    if (strcmp(kind, "str") == 0) {
        *out = kurc_value_strn(text, len, &loc);
        return KURC_OK;
    }
    static const char *const known[] = {"int", "float", "bool", "null", NULL};
    bool supported = false;
    for (const char *const *k = known; *k && !supported; k++)
        supported = strcmp(*k, kind) == 0;
    if (!supported)
        return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "unsupported YAML tag '%s'", tag);
    struct kurc_value *v = kurc_yaml_resolve_plain(text, len, &loc);
    bool ok = (strcmp(kind, "int") == 0 && v->kind == KURC_INT) ||
              (strcmp(kind, "float") == 0 && (v->kind == KURC_FLOAT || v->kind == KURC_INT)) ||
              (strcmp(kind, "bool") == 0 && v->kind == KURC_BOOL) ||
              (strcmp(kind, "null") == 0 && v->kind == KURC_NULL);
    if (!ok) {
        kurc_value_free(v);
        return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "'%.*s' is not a valid !!%s",
                            (int)(len > 60 ? 60 : len), text, kind);
    }
    if (strcmp(kind, "float") == 0 && v->kind == KURC_INT) {
        double f = (double)v->u.i;
        v->kind = KURC_FLOAT;
        v->u.f = f;
    }
    *out = v;
    return KURC_OK;
}

static enum kurc_status check_collection_tag(struct loader *L, const char *tag,
                                             const char *expected, const struct kurc_loc *loc) {
    if (!tag || strcmp(tag, "!") == 0)
        return KURC_OK;
    if (L->format == KURC_FORMAT_JSON)
        return json_only(L, loc, "a tag");
    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 &&
        strcmp(tag + strlen(TAG_PREFIX), expected) == 0)
        return KURC_OK;
    return kurc_err_set(L->err, KURC_E_CONFIG, loc, "unsupported YAML tag '%s'", tag);
}

static enum kurc_status parse_node(struct loader *L, yaml_event_t *ev, struct kurc_value **out);

/* Turns a scalar key value into the string a Python dict key prints as in
 * json.dumps (1 -> "1", True -> "true", None -> "null"). */
static char *key_string(const struct kurc_value *k) {
    char num[32];
    switch (k->kind) {
    case KURC_STR:
        return kurc_xstrndup(k->u.str.s, k->u.str.len);
    case KURC_NULL:
        return kurc_xstrdup("null");
    case KURC_BOOL:
        return kurc_xstrdup(k->u.b ? "true" : "false");
    case KURC_INT:
        return kurc_xasprintf("%lld", (long long)k->u.i);
    case KURC_FLOAT:
        kurc_py_float_repr(k->u.f, num);
        return kurc_xstrdup(num);
    default:
        return NULL;
    }
}

/* Appends the pairs of a merge source (a mapping, or a list of mappings with
 * the last one first) to merged. */
static enum kurc_status collect_merge(struct loader *L, struct kurc_value *src,
                                      struct kurc_value *merged) {
    if (src->kind == KURC_MAP) {
        for (size_t i = 0; i < src->u.map.len; i++) {
            struct kurc_pair *p = &src->u.map.pairs[i];
            kurc_map_set(merged, p->key, &p->key_loc, kurc_value_copy(p->val));
        }
        return KURC_OK;
    }
    if (src->kind == KURC_LIST) {
        for (size_t i = 0; i < src->u.list.len; i++)
            if (src->u.list.items[i]->kind != KURC_MAP)
                return kurc_err_set(L->err, KURC_E_CONFIG, &src->u.list.items[i]->loc,
                                    "expected a mapping for merging, but found %s",
                                    
kurc_kind_phrase(src->u.list.items[i]->kind));
        /* PyYAML: earlier maps in the list win, so lay down the last first. */
        for (size_t i = src->u.list.len; i-- > 0;) {
            struct kurc_value *m = src->u.list.items[i];
            for (size_t j = 0; j < m->u.map.len; j++) {
                struct kurc_pair *p = &m->u.map.pairs[j];
                kurc_map_set(merged, p->key, &p->key_loc, kurc_value_copy(p->val));
            }
        }
        return KURC_OK;
    }
    return kurc_err_set(L->err, KURC_E_CONFIG, &src->loc,
                        "expected a mapping or list of mappings for merging, but found %s",
                        
kurc_kind_phrase(src->kind));
}

static bool is_merge_key(const struct loader *L, const yaml_event_t *ev) {
    if (L->format != KURC_FORMAT_YAML || ev->type != YAML_SCALAR_EVENT)
        return false;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag)
        return strcmp(tag, TAG_PREFIX "merge") == 0;
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.length == 2 &&
           memcmp(ev->data.scalar.value, "<<", 2) == 0;
}

static enum kurc_status parse_mapping(struct loader *L, struct kurc_value *map) {
    struct kurc_value *merged = kurc_value_map(&map->loc);
    struct kurc_value *explicit_pairs = kurc_value_map(&map->loc);
    enum kurc_status st = KURC_OK;
    for (;;) {
        yaml_event_t kev;
        if ((st = next_event(L, &kev)))
            break;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            break;
        }
        struct kurc_loc kloc = mark_loc(L, kev.start_mark);
        bool merge = is_merge_key(L, &kev);
        struct kurc_value *key = NULL;
        if (!merge) {
            st = parse_node(L, &kev, &key);
        } else {
            yaml_event_delete(&kev);
        }
        if (st)
            break;
        yaml_event_t vev;
        if ((st = next_event(L, &vev))) {
            kurc_value_free(key);
            break;
        }
        struct kurc_value *val = NULL;
        if ((st = parse_node(L, &vev, &val))) {
            kurc_value_free(key);
            break;
        }
        if (merge) {
            st = collect_merge(L, val, merged);
            kurc_value_free(val);
            if (st)
                break;
            continue;
        }
        char *name = key_string(key);
        kurc_value_free(key);
        if (!name) {
            kurc_value_free(val);
            st = kurc_err_set(L->err, KURC_E_CONFIG, &kloc, "mapping keys must be scalars");
            break;
        }
        const struct kurc_pair *dup = kurc_map_find(explicit_pairs, name);
        if (dup) {
            st = kurc_err_set(L->err, KURC_E_CONFIG, &kloc,
                              "duplicate key '%s' (first given at line %d, column %d)", name,
                              dup->key_loc.line, dup->key_loc.col);
            free(name);
            kurc_value_free(val);
            break;
        }
        kurc_map_set(explicit_pairs, name, &kloc, val);
        free(name);
    }
    if (st == KURC_OK) {
        /* merged pairs first, then explicit ones replacing them in place */
        struct kurc_value *parts[2] = {merged, explicit_pairs};
        for (int k = 0; k < 2; k++) {
            struct kurc_value *part = parts[k];
            for (size_t i = 0; i < part->u.map.len; i++) {
                struct kurc_pair *p = &part->u.map.pairs[i];
                kurc_map_set(map, p->key, &p->key_loc, p->val);
                p->val = NULL;
            }
        }
    }
    kurc_value_free(merged);
    kurc_value_free(explicit_pairs);
    return st;
}

static enum kurc_status parse_sequence(struct loader *L, struct kurc_value *list) {
    for (;;) {
        yaml_event_t ev;
        enum kurc_status st = next_event(L, &ev);
        if (st)
            return st;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return KURC_OK;
        }
        struct kurc_value *item = NULL;
        if ((st = parse_node(L, &ev, &item)))
            return st;
        kurc_list_append(list, item);
    }
}

/* Builds the node that starts with event ev (which this function deletes). */
static enum kurc_status parse_node(struct loader *L, yaml_event_t *ev, struct kurc_value **out) {
    struct kurc_loc loc = mark_loc(L, ev->start_mark);
    enum kurc_status st = KURC_OK;
    const char *anchor = NULL;
    *out = NULL;

    if (++L->depth > KURC_LOAD_MAX_DEPTH) {
        st = kurc_err_set(L->err, KURC_E_CONFIG, &loc, "document nests deeper than %d levels",
                          KURC_LOAD_MAX_DEPTH);
        goto done;
    }
    if ((st = count_value(L, 1, &loc)))
        goto done;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        st = resolve_alias(L, ev, out);
        goto done;
    case YAML_SCALAR_EVENT:
        anchor = (const char *)ev->data.scalar.anchor;
        st = make_scalar(L, ev, out);
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = (const char *)ev->data.sequence_start.anchor;
        if ((st = check_collection_tag(L, (const char *)ev->data.sequence_start.tag, "seq", &loc)))
            break;
        if (L->format == KURC_FORMAT_JSON && ev->data.sequence_start.style != YAML_FLOW_SEQUENCE_STYLE) {
            st = json_only(L, &loc, "a block list ('- item')");
            break;
        }
        *out = kurc_value_list(&loc);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = (const char *)ev->data.mapping_start.anchor;
        if ((st = check_collection_tag(L, (const char *)ev->data.mapping_start.tag, "map", &loc)))
            break;
        if (L->format == KURC_FORMAT_JSON && ev->data.mapping_start.style != YAML_FLOW_MAPPING_STYLE) {
            st = json_only(L, &loc, "a block mapping ('key: value')");
            break;
        }
        *out = kurc_value_map(&loc);
        break;
    default:
        st = kurc_err_set(L->err, KURC_E_CONFIG, &loc, "unexpected YAML event");
        break;
    }
    if (st)
        goto done;
    if (anchor && L->format == KURC_FORMAT_JSON) {
        st = json_only(L, &loc, "an anchor");
        goto done;
    }
    if (anchor && (*out)->kind != KURC_LIST && (*out)->kind != KURC_MAP)
        remember_anchor(L, anchor, *out);
    else if (anchor)
        remember_anchor(L, anchor, NULL); /* in progress: aliasing it now is recursive */

    if ((*out)->kind == KURC_LIST)
        st = parse_sequence(L, *out);
    else if ((*out)->kind == KURC_MAP)
        st = parse_mapping(L, *out);
    if (st == KURC_OK && anchor && ((*out)->kind == KURC_LIST || (*out)->kind == KURC_MAP))
        remember_anchor(L, anchor, *out);

done:
    L->depth--;
    yaml_event_delete(ev);
    if (st) {
        kurc_value_free(*out);
        *out = NULL;
    }
    return st;
}

static enum kurc_status expect_event(struct loader *L, yaml_event_type_t type, const char *what) {
    yaml_event_t ev;
    enum kurc_status st = next_event(L, &ev);
    if (st)
        return st;
    if (ev.type != type) {
        struct kurc_loc loc = mark_loc(L, ev.start_mark);
        yaml_event_delete(&ev);
        return kurc_err_set(L->err, KURC_E_CONFIG, &loc, "%s", what);
    }
    yaml_event_delete(&ev);
    return KURC_OK;
}

static enum kurc_status parse_stream(struct loader *L, struct kurc_value **out) {
    enum kurc_status st = expect_event(L, YAML_STREAM_START_EVENT, "expected a document");
    if (st)
        return st;
    yaml_event_t ev;
    if ((st = next_event(L, &ev)))
        return st;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return KURC_OK; /* empty document */
    }
    yaml_event_delete(&ev); /* DOCUMENT_START */
    if ((st = next_event(L, &ev)))
        return st;
    if ((st = parse_node(L, &ev, out)))
        return st;
    if ((st = expect_event(L, YAML_DOCUMENT_END_EVENT, "expected the end of the document")))
        return st;
    return expect_event(L, YAML_STREAM_END_EVENT,
                        "expected a single document, but found another document");
}

static int hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* JSON spells characters above U+FFFF as a pair of \uD8xx\uDCxx escapes,
 * which libyaml refuses; rewrite each pair inside strings as the equivalent
 * YAML escape \U000XXXXX (two characters shorter, so later columns on that
 * line shift by two).  Returns NULL when there is nothing to rewrite. */
static char *join_surrogate_escapes(const char *data, size_t len, size_t *out_len) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    bool in_string = false, changed = false;
    size_t i = 0;
    while (i < len) {
        char c = data[i];
        if (in_string && c == '\\' && i + 12 <= len && data[i + 1] == 'u' &&
            data[i + 6] == '\\' && data[i + 7] == 'u') {
            int hi = hex4(data + i + 2), lo = hex4(data + i + 8);
            if (hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
                unsigned cp = 0x10000u + (((unsigned)hi - 0xD800u) << 10) + ((unsigned)lo - 0xDC00u);
                kurc_strbuf_printf(&sb, "\\U%08X", cp);
                i += 12;
                changed = true;
                continue;
            }
        }
        if (in_string && c == '\\' && i + 1 < len) {
            kurc_strbuf_append(&sb, data + i, 2);
            i += 2;
            continue;
        }
        if (c == '"')
            in_string = !in_string;
        kurc_strbuf_putc(&sb, c);
        i++;
    }
    if (!changed) {
        kurc_strbuf_free(&sb);
        return NULL;
    }
    *out_len = sb.len;
    return kurc_strbuf_take(&sb);
}

enum kurc_status kurc_load_buffer(const char *data, size_t len, enum kurc_doc_format format,
                                  const char *file, struct kurc_value **out,
                                  struct kurc_err *err) {
    struct loader L = {.format = format, .file = file, .err = err};
    *out = NULL;
    char *rewritten = NULL;
    if (format == KURC_FORMAT_JSON) {
        size_t new_len;
        rewritten = join_surrogate_escapes(data, len, &new_len);
        if (rewritten) {
            data = rewritten;
            len = new_len;
        }
    }
    if (!yaml_parser_initialize(&L.parser)) {
        free(rewritten);
        return kurc_err_set(err, KURC_E_CONFIG, NULL, "%s: cannot initialise the YAML parser",
                            file);
    }
    L.data = data;
    L.len = len;
    yaml_parser_set_input_string(&L.parser, (const unsigned char *)data, len);
    yaml_parser_set_encoding(&L.parser, YAML_UTF8_ENCODING);
    enum kurc_status st = parse_stream(&L, out);
    if (st) {
        kurc_value_free(*out);
        *out = NULL;
    }
    for (size_t i = 0; i < L.n_anchors; i++) {
        free(L.anchors[i].name);
        kurc_value_free(L.anchors[i].node);
    }
    free(L.anchors);
    yaml_parser_delete(&L.parser);
    free(rewritten);
    return st;
}

/* The format a file name implies: .yml/.yaml -> YAML, .json -> JSON
 * (case-insensitive).  Returns -1 for any other extension. */
static int kurc_format_for_path(const char *path) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return -1;
    if (strcasecmp(dot, ".yml") == 0 || strcasecmp(dot, ".yaml") == 0)
        return KURC_FORMAT_YAML;
    if (strcasecmp(dot, ".json") == 0)
        return KURC_FORMAT_JSON;
    return -1;
}

/* Reads a whole file into a new buffer. */
static enum kurc_status read_file(const char *path, const struct kurc_loc *where, char **data,
                                  size_t *len, struct kurc_err *err) {
    int e = kurc_file_read(path, data, len);
    if (e)
        return kurc_err_set(err, KURC_E_CONFIG, where, "cannot read Kurfile '%s': %s", path,
                            kurc_file_read_why(e));
    return KURC_OK;
}

enum kurc_status kurc_load_file_as(struct kurc_sources *sources, const char *path,
                                   enum kurc_doc_format format, const struct kurc_loc *where,
                                   struct kurc_value **out, struct kurc_err *err) {
    *out = NULL;
    char *data;
    size_t len;
    enum kurc_status st = read_file(path, where, &data, &len, err);
    if (st)
        return st;
    const char *file = kurc_sources_intern(sources, path);
    st = kurc_load_buffer(data, len, format, file, out, err);
    free(data);
    return st;
}

enum kurc_status kurc_load_file(struct kurc_sources *sources, const char *path,
                                const struct kurc_loc *where, struct kurc_value **out,
                                struct kurc_err *err) {
    *out = NULL;
    int format = kurc_format_for_path(path);
    if (format < 0)
        return kurc_err_set(err, KURC_E_CONFIG, where,
                            "cannot tell the format of '%s': a Kurfile ends in .yml, .yaml or "
                            ".json",
                            path);
    return kurc_load_file_as(sources, path, (enum kurc_doc_format)format, where, out, err);
}
