/* _dictview.h: the entries of a combined dict table, read (and values replaced)
 * directly. Version-specific; included by _ccopy.c.
 *
 * Why: a deep copy of JSON-like data is mostly dict iteration and value replacement.
 * PyDict_Next costs about 45 instructions an item and PyDict_SetItem about 120 to
 * replace one value; reading the entry array costs a few.
 *
 * What is relied on. A dict whose table is combined (ma_values == NULL: every dict that
 * is not an instance's attribute dict sharing its class's keys) keeps its items in one
 * array of entries, in insertion order, right after its hash index; a deleted item
 * leaves an entry whose value is NULL; PyDict_Next's position is an index into that
 * array. The keys object's header, which says where the array starts and how an entry
 * looks, is not in any public header and differs between 3.10 and 3.11+, so it is
 * described below and checked once at import against PyDict_Next (dictview_verify).
 * If the check fails (an interpreter built differently), dictview_get answers 0 and
 * every caller goes through PyDict_Next / PyDict_SetItem instead.
 */
#ifndef COPYKIT_DICTVIEW_H
#define COPYKIT_DICTVIEW_H

/* The header of a dict's keys object (PyDictKeysObject). */
typedef struct {
    Py_ssize_t refcnt;
#if PY_VERSION_HEX >= 0x030B0000
    uint8_t log2_size;         /* slots in the hash index: 1 << log2_size */
    uint8_t log2_index_bytes;  /* bytes of the hash index: 1 << log2_index_bytes */
    uint8_t kind;              /* DICTVIEW_GENERAL, DICTVIEW_UNICODE, or split */
#  ifdef Py_GIL_DISABLED
    PyMutex mutex;
#  endif
    uint32_t version;
#else
    Py_ssize_t size;           /* slots in the hash index (a power of two) */
    void *lookup;              /* the lookup function */
#endif
    Py_ssize_t usable;
    Py_ssize_t nentries;       /* entries used so far, deleted ones included */
    char indices[];            /* the hash index, then the entries */
} DictKeysHeader;

#define DICTVIEW_GENERAL 0  /* entries are (hash, key, value); always so before 3.11 */
#define DICTVIEW_UNICODE 1  /* str keys only (3.11+): entries are (key, value) */

/* Entry i's key is first[i * stride], its value first[i * stride + 1]. */
typedef struct {
    PyObject **first;
    Py_ssize_t stride;
    Py_ssize_t count;  /* entries, deleted ones included */
    int str_keys;      /* every key is an exact str (a unicode-kind table, 3.11+) */
} DictView;

static int dictview_ok = 0;  /* the layout checked out (dictview_verify) */

/* Where the entries of keys object k start, and their stride; 0 if k does not look
   like a combined table as described above (nothing is read beyond the header). */
static inline int
dictview_locate(const DictKeysHeader *k, DictView *v)
{
    char *entries;
#if PY_VERSION_HEX >= 0x030B0000
    entries = (char *)k->indices + ((size_t)1 << k->log2_index_bytes);
    if (k->kind == DICTVIEW_UNICODE) {
        v->first = (PyObject **)entries;
        v->stride = 2;
        v->str_keys = 1;  /* a key that is not an exact str turns the table general */
    }
    else if (k->kind == DICTVIEW_GENERAL) {
        v->first = (PyObject **)entries + 1;
        v->stride = 3;
        v->str_keys = 0;
    }
    else {
        return 0;
    }
#else
    Py_ssize_t n = k->size;
    size_t index_bytes = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffLL ? 4 : 8;
    entries = (char *)k->indices + (size_t)n * index_bytes;
    v->first = (PyObject **)entries + 1;
    v->stride = 3;
    v->str_keys = 0;  /* not recorded in the table before 3.11 */
#endif
    v->count = k->nentries;
    return 1;
}

/* The entries of dict d, valid until d changes: 1, or 0 when d must go through the
   API (split table, or layout not verified). */
static inline int
dictview_get(PyObject *d, DictView *v)
{
    if (!dictview_ok || ((PyDictObject *)d)->ma_values != NULL) {
        return 0;
    }
    return dictview_locate((const DictKeysHeader *)((PyDictObject *)d)->ma_keys, v);
}

/* PyDict_Next, reading the entries directly when it can. */
static inline int
dict_next(PyObject *d, Py_ssize_t *pos, PyObject **key, PyObject **value)
{
    DictView v;
    if (!dictview_get(d, &v)) {
        return PyDict_Next(d, pos, key, value);
    }
    for (Py_ssize_t i = *pos < 0 ? v.count : *pos; i < v.count; i++) {
        PyObject **entry = v.first + i * v.stride;
        if (entry[1] != NULL) {
            *key = entry[0];
            *value = entry[1];
            *pos = i + 1;
            return 1;
        }
    }
    return 0;
}

/* dict_next over a view located earlier, for a dict that cannot have changed since (no
   size check): the next item from *pos on, counting it down in *remaining. 1, or 0 at
   the end. */
static inline int
dictview_next(const DictView *v, Py_ssize_t *pos, Py_ssize_t *remaining, PyObject **key,
              PyObject **value)
{
    for (Py_ssize_t i = *pos; i < v->count; i++) {
        PyObject **entry = v->first + i * v->stride;
        if (entry[1] != NULL) {
            *key = entry[0];
            *value = entry[1];
            *pos = i + 1;
            (*remaining)--;
            return 1;
        }
    }
    return 0;
}

/* Is the header plausible for a combined table of this many items? Checked before
   the entries are located, so that a wrong layout is not followed into memory. */
static int
dictview_header_plausible(const DictKeysHeader *k, Py_ssize_t used)
{
#if PY_VERSION_HEX >= 0x030B0000
    if (k->log2_size < 3 || k->log2_size > 40 || k->log2_index_bytes < k->log2_size
        || k->log2_index_bytes > k->log2_size + 3 || k->kind > DICTVIEW_UNICODE) {
        return 0;
    }
    return k->nentries >= used && k->nentries <= ((Py_ssize_t)1 << k->log2_size);
#else
    if (k->size < 8 || (k->size & (k->size - 1)) != 0) {
        return 0;
    }
    return k->nentries >= used && k->nentries <= k->size;
#endif
}

/* Does the direct view of d give exactly PyDict_Next's items, in order? */
static int
dictview_agrees(PyObject *d)
{
    const DictKeysHeader *k = (const DictKeysHeader *)((PyDictObject *)d)->ma_keys;
    Py_ssize_t pos = 0, seen = 0, i = 0;
    PyObject *key, *value;
    DictView v;
    if (((PyDictObject *)d)->ma_values != NULL
        || !dictview_header_plausible(k, PyDict_GET_SIZE(d)) || !dictview_locate(k, &v)) {
        return 0;
    }
    while (PyDict_Next(d, &pos, &key, &value)) {
        while (i < v.count && v.first[i * v.stride + 1] == NULL) {
            i++;
        }
        if (i >= v.count || v.first[i * v.stride] != key || v.first[i * v.stride + 1] != value
            || pos != i + 1) {
            return 0;
        }
        i++;
        seen++;
    }
    return seen == PyDict_GET_SIZE(d);
}

/* Check the layout against PyDict_Next on dicts of both entry kinds and of one- and
   two-byte hash indexes, with deleted items; sets dictview_ok. 0, or -1 on error. */
static int
dictview_verify(void)
{
    PyObject *dicts[3] = {PyDict_New(), PyDict_New(), PyDict_New()};
    int ok = dicts[0] != NULL && dicts[1] != NULL && dicts[2] != NULL;
    for (int n = 0; ok && n < 600; n++) {
        PyObject *text = PyUnicode_FromFormat("key%d", n), *number = PyLong_FromLong(n);
        ok = text != NULL && number != NULL
             && (n >= 12 || PyDict_SetItem(dicts[0], text, number) == 0)
             && (n >= 12 || PyDict_SetItem(dicts[1], n % 2 ? text : number, text) == 0)
             && PyDict_SetItem(dicts[2], n % 3 ? text : number, number) == 0
             && (n % 5 != 4 || PyDict_DelItem(dicts[2], n % 3 ? text : number) == 0);
        Py_XDECREF(text);
        Py_XDECREF(number);
    }
    if (ok) {
        PyObject *gone = PyUnicode_FromString("key3");
        ok = gone != NULL && PyDict_DelItem(dicts[0], gone) == 0;
        Py_XDECREF(gone);
    }
    if (!ok) {
        for (int j = 0; j < 3; j++) {
            Py_XDECREF(dicts[j]);
        }
        return -1;
    }
    dictview_ok = dictview_agrees(dicts[0]) && dictview_agrees(dicts[1])
                  && dictview_agrees(dicts[2]);
    for (int j = 0; j < 3; j++) {
        Py_DECREF(dicts[j]);
    }
    return 0;
}

#endif /* COPYKIT_DICTVIEW_H */
