/* _memotable.h: the private memo of one deepcopy call, keyed by object address.
 *
 * While no Python code has seen the memo, deepcopy keeps it here instead of in a
 * dict: no int objects for the ids, no hashing, no dict resizes. The table remembers
 * everything a stdlib memo dict would hold at the same moment, so it can become that
 * dict on demand (memotable_to_dict): the entries in insertion order, and the
 * keep-alive list of originals with the point at which the stdlib would have
 * inserted it (memo[id(memo)] appears when the first original is kept alive).
 *
 * Ownership: values and kept-alive originals are strong references; keys are
 * borrowed (an original is alive while it is being copied, and kept alive after).
 * Small copies never touch the heap: the first few entries live inside the struct.
 */
#ifndef COPYKIT_MEMOTABLE_H
#define COPYKIT_MEMOTABLE_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MEMO_SMALL_ENTRIES 32
#define MEMO_SMALL_INDEX 64 /* power of two, at least twice MEMO_SMALL_ENTRIES */

typedef struct {
    PyObject *key;   /* the original (borrowed) */
    PyObject *value; /* its copy (strong) */
} MemoEntry;

typedef struct {
    uint32_t *index;      /* slot -> entry position + 1; 0 marks an empty slot */
    size_t mask;          /* number of slots - 1 */
    MemoEntry *entries;   /* in insertion order */
    Py_ssize_t used;
    Py_ssize_t capacity;
    PyObject **keep;      /* originals kept alive, in completion order (strong) */
    Py_ssize_t nkeep;
    Py_ssize_t keepcap;
    Py_ssize_t keep_pos;  /* entries present when the first original was kept, or -1 */
    uint32_t small_index[MEMO_SMALL_INDEX];
    MemoEntry small_entries[MEMO_SMALL_ENTRIES];
    PyObject *small_keep[MEMO_SMALL_ENTRIES];
} MemoTable;

/* Slot of an address: Fibonacci hashing of the pointer without its alignment bits. */
static inline size_t
memotable_slot(const MemoTable *t, const PyObject *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key >> 4;
    h *= UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h ^ (h >> 29)) & t->mask;
}

/* Prepare an empty table using its inline storage; cannot fail. */
static inline void
memotable_init(MemoTable *t)
{
    memset(t->small_index, 0, sizeof(t->small_index));
    t->index = t->small_index;
    t->mask = MEMO_SMALL_INDEX - 1;
    t->entries = t->small_entries;
    t->used = 0;
    t->capacity = MEMO_SMALL_ENTRIES;
    t->keep = t->small_keep;
    t->nkeep = 0;
    t->keepcap = MEMO_SMALL_ENTRIES;
    t->keep_pos = -1;
}

/* The copy remembered for key (borrowed), or NULL; never sets an exception. */
static inline PyObject *
memotable_get(const MemoTable *t, const PyObject *key)
{
    size_t i = memotable_slot(t, key);
    for (;;) {
        uint32_t pos = t->index[i];
        if (pos == 0) {
            return NULL;
        }
        if (t->entries[pos - 1].key == key) {
            return t->entries[pos - 1].value;
        }
        i = (i + 1) & t->mask;
    }
}

/* Double the entry array and the index; 0 or -1 with MemoryError set. */
static int
memotable_grow(MemoTable *t)
{
    Py_ssize_t newcap = t->capacity * 2;
    size_t nslots = (size_t)newcap * 2;
    MemoEntry *entries;
    uint32_t *index;
    if (newcap > (Py_ssize_t)(UINT32_MAX / 4)) {
        PyErr_NoMemory();
        return -1;
    }
    if (t->entries == t->small_entries) {
        entries = PyMem_Malloc((size_t)newcap * sizeof(MemoEntry));
        if (entries != NULL) {
            memcpy(entries, t->small_entries, (size_t)t->used * sizeof(MemoEntry));
        }
    }
    else {
        entries = PyMem_Realloc(t->entries, (size_t)newcap * sizeof(MemoEntry));
    }
    if (entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    t->entries = entries;
    t->capacity = newcap;
    index = PyMem_Calloc(nslots, sizeof(uint32_t));
    if (index == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (t->index != t->small_index) {
        PyMem_Free(t->index);
    }
    t->index = index;
    t->mask = nslots - 1;
    for (Py_ssize_t e = 0; e < t->used; e++) {
        size_t i = memotable_slot(t, t->entries[e].key);
        while (t->index[i] != 0) {
            i = (i + 1) & t->mask;
        }
        t->index[i] = (uint32_t)(e + 1);
    }
    return 0;
}

/* memo[key] = value (value is not stolen); 0, or -1 with MemoryError set.
   An existing key keeps its place in the order, as in a dict. */
static inline int
memotable_set(MemoTable *t, PyObject *key, PyObject *value)
{
    size_t i = memotable_slot(t, key);
    for (;;) {
        uint32_t pos = t->index[i];
        if (pos == 0) {
            break;
        }
        if (t->entries[pos - 1].key == key) {
            PyObject *old = t->entries[pos - 1].value;
            t->entries[pos - 1].value = Py_NewRef(value);
            Py_DECREF(old);
            return 0;
        }
        i = (i + 1) & t->mask;
    }
    if (t->used == t->capacity) {
        if (memotable_grow(t) < 0) {
            return -1;
        }
        i = memotable_slot(t, key);
        while (t->index[i] != 0) {
            i = (i + 1) & t->mask;
        }
    }
    t->entries[t->used].key = key;
    t->entries[t->used].value = Py_NewRef(value);
    t->used++;
    t->index[i] = (uint32_t)t->used;
    return 0;
}

/* Keep original alive (new reference taken); 0, or -1 with MemoryError set. */
static inline int
memotable_keep(MemoTable *t, PyObject *original)
{
    if (t->nkeep == t->keepcap) {
        Py_ssize_t newcap = t->keepcap * 2;
        PyObject **keep;
        if (t->keep == t->small_keep) {
            keep = PyMem_Malloc((size_t)newcap * sizeof(PyObject *));
            if (keep != NULL) {
                memcpy(keep, t->small_keep, (size_t)t->nkeep * sizeof(PyObject *));
            }
        }
        else {
            keep = PyMem_Realloc(t->keep, (size_t)newcap * sizeof(PyObject *));
        }
        if (keep == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        t->keep = keep;
        t->keepcap = newcap;
    }
    if (t->keep_pos < 0) {
        t->keep_pos = t->used;
    }
    t->keep[t->nkeep++] = Py_NewRef(original);
    return 0;
}

/* Release every reference and heap block; the table is empty and reusable after. */
static void
memotable_clear(MemoTable *t)
{
    for (Py_ssize_t e = 0; e < t->used; e++) {
        Py_DECREF(t->entries[e].value);
    }
    for (Py_ssize_t k = 0; k < t->nkeep; k++) {
        Py_DECREF(t->keep[k]);
    }
    if (t->entries != t->small_entries) {
        PyMem_Free(t->entries);
    }
    if (t->index != t->small_index) {
        PyMem_Free(t->index);
    }
    if (t->keep != t->small_keep) {
        PyMem_Free(t->keep);
    }
    memotable_init(t);
}

/* Insert memo[id(memo)] = [kept originals] into dict; 0 or -1 with exception set. */
static int
memotable_put_keep_list(const MemoTable *t, PyObject *dict)
{
    PyObject *list = NULL, *key = NULL;
    int rc = -1;
    list = PyList_New(t->nkeep);
    if (list == NULL) {
        goto done;
    }
    for (Py_ssize_t k = 0; k < t->nkeep; k++) {
        PyList_SET_ITEM(list, k, Py_NewRef(t->keep[k]));
    }
    key = PyLong_FromVoidPtr(dict);
    if (key == NULL) {
        goto done;
    }
    rc = PyDict_SetItem(dict, key, list);
done:
    Py_XDECREF(list);
    Py_XDECREF(key);
    return rc;
}

/* A new dict with exactly the contents and order the stdlib memo would have, or NULL
   with an exception set. The table is left untouched (the caller clears it). */
static PyObject *
memotable_to_dict(const MemoTable *t)
{
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return NULL;
    }
    for (Py_ssize_t e = 0; e <= t->used; e++) {
        PyObject *key;
        int rc;
        if (e == t->keep_pos && memotable_put_keep_list(t, dict) < 0) {
            goto error;
        }
        if (e == t->used) {
            break;
        }
        key = PyLong_FromVoidPtr(t->entries[e].key);
        if (key == NULL) {
            goto error;
        }
        rc = PyDict_SetItem(dict, key, t->entries[e].value);
        Py_DECREF(key);
        if (rc < 0) {
            goto error;
        }
    }
    return dict;
error:
    Py_DECREF(dict);
    return NULL;
}

#endif /* COPYKIT_MEMOTABLE_H */
