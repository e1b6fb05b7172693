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
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MEMO_SMALL_ENTRIES 32
#define MEMO_SMALL_INDEX 64 /* 2**6, at least twice MEMO_SMALL_ENTRIES */
#define MEMO_FIRST_HEAP_ENTRIES 256

/* The low bit of an entry's key marks a value this table took off the garbage
   collector's lists (see memotable_untrack): a copy under construction that no Python
   code can reach need not be traversed by every collection the copy triggers. Only
   lists, tuples and plain instances are untracked: a dict copied or merged from an
   untracked dict would stay untracked itself (dict.copy and dict.update clone the
   source's tracking), hiding its cycles from the collector for good. */
#define MEMO_UNTRACKED ((uintptr_t)1)
#define MEMO_UNTRACK_FROM 128  /* entries memoised before any untracking starts */

/* From 3.12 the collector runs only from the interpreter's evaluation loop (and
   PyErr_CheckSignals, which this module does not call), never from an allocation: it
   cannot run while a copy runs no Python code, and before any Python code runs the
   table gives back all it untracked. There untracking is work for nothing (on 3.14,
   where the collector's calls are functions, about 7% of a JSON-like copy), so the
   table untracks only before 3.12. */
#if PY_VERSION_HEX >= 0x030C0000
#  define MEMO_UNTRACKS 0
#else
#  define MEMO_UNTRACKS 1
#endif

typedef struct {
    uintptr_t key;   /* the original's address (borrowed), low bit MEMO_UNTRACKED */
    PyObject *value; /* its copy (strong) */
} MemoEntry;

static inline PyObject *
memoentry_key(const MemoEntry *entry)
{
    return (PyObject *)(entry->key & ~MEMO_UNTRACKED);
}

typedef struct {
    uint32_t *index;      /* slot -> entry position + 1; 0 marks an empty slot */
    Py_ssize_t indexed;   /* entries below this are in the index; the rest were added as
                             new keys (memotable_add_new) and go in at the next lookup */
    size_t mask;          /* number of slots - 1 */
    unsigned int shift;   /* 64 - log2(number of slots) */
    MemoEntry *entries;   /* in insertion order */
    Py_ssize_t used;
    Py_ssize_t capacity;
    PyObject **keep;      /* originals kept alive, in completion order (strong) */
    Py_ssize_t nkeep;
    Py_ssize_t keepcap;
    Py_ssize_t keep_pos;  /* entries present when the first original was kept, or -1 */
    Py_ssize_t settled;   /* entries below this were tracked again and stay tracked */
    uint32_t small_index[MEMO_SMALL_INDEX];
    MemoEntry small_entries[MEMO_SMALL_ENTRIES];
    PyObject *small_keep[MEMO_SMALL_ENTRIES];
} MemoTable;

/* Slot of an address: Fibonacci hashing, keeping the well-mixed high bits. */
static inline size_t
memotable_slot(const MemoTable *t, const PyObject *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> t->shift);
}

/* Prepare an empty table using its inline storage; cannot fail. The inline index is
   zeroed by the first insertion (most deep copies of atoms never insert). */
static inline void
memotable_init(MemoTable *t)
{
    t->index = t->small_index;
    t->mask = MEMO_SMALL_INDEX - 1;
    t->shift = 64 - 6;
    t->entries = t->small_entries;
    t->used = 0;
    t->indexed = 0;
    t->capacity = MEMO_SMALL_ENTRIES;
    t->keep = t->small_keep;
    t->nkeep = 0;
    t->keepcap = MEMO_SMALL_ENTRIES;
    t->keep_pos = -1;
    t->settled = 0;
}

/* Zero the inline index. With plain stores where SSE2 is there: compilers turn a
   memset this size (and a loop of stores) into `rep stos`, whose start-up cost was a
   tenth of a small copy's time. */
static inline void
memotable_zero_small_index(MemoTable *t)
{
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    __m128i *index = (__m128i *)t->small_index;
    Py_BUILD_ASSERT(MEMO_SMALL_INDEX == 64);
#define MEMO_ZERO4(k) \
    _mm_storeu_si128(index + (k), zero); _mm_storeu_si128(index + (k) + 1, zero); \
    _mm_storeu_si128(index + (k) + 2, zero); _mm_storeu_si128(index + (k) + 3, zero)
    MEMO_ZERO4(0);
    MEMO_ZERO4(4);
    MEMO_ZERO4(8);
    MEMO_ZERO4(12);
#undef MEMO_ZERO4
#else
    memset(t->small_index, 0, sizeof(t->small_index));
#endif
}

/* Put the entries added since the last lookup into the index. Copying a tree of
   containers adds an entry for each and looks none up (a container held only by its
   parent cannot be in the memo), so the index is built only when something is looked
   up, once per entry at most. */
static inline void
memotable_index_pending(MemoTable *t)
{
    if (t->indexed == 0) {
        /* an index is zeroed when first probed, not when made: a tree of containers
           never probes it */
        if (t->index == t->small_index) {
            memotable_zero_small_index(t);
        }
        else {
            memset(t->index, 0, (t->mask + 1) * sizeof(uint32_t));
        }
    }
    if (t->indexed == t->used) {
        return;
    }
    for (Py_ssize_t e = t->indexed; e < t->used; e++) {
        size_t i = memotable_slot(t, memoentry_key(&t->entries[e]));
        while (t->index[i] != 0) {
            i = (i + 1) & t->mask;
        }
        t->index[i] = (uint32_t)(e + 1);
    }
    t->indexed = t->used;
}

/* The entry for key, or NULL with *slot set to the empty slot where key would go
   (the index then covers every entry). Never sets an exception. */
static inline MemoEntry *
memotable_probe(MemoTable *t, const PyObject *key, size_t *slot)
{
    size_t i;
    memotable_index_pending(t);
    i = memotable_slot(t, key);
    for (;;) {
        uint32_t pos = t->index[i];
        if (pos == 0) {
            *slot = i;
            return NULL;
        }
        if (memoentry_key(&t->entries[pos - 1]) == key) {
            return &t->entries[pos - 1];
        }
        i = (i + 1) & t->mask;
    }
}

/* The entry for key, or NULL; never sets an exception. */
static inline MemoEntry *
memotable_find(MemoTable *t, const PyObject *key)
{
    size_t slot;
    if (t->used == 0) {
        return NULL;
    }
    return memotable_probe(t, key, &slot);
}

/* The copy remembered for key (borrowed), or NULL; never sets an exception. */
static inline PyObject *
memotable_get(MemoTable *t, const PyObject *key)
{
    MemoEntry *entry = memotable_find(t, key);
    return entry != NULL ? entry->value : NULL;
}

/* Grow the entry array and the index: from the inline arrays straight to
   MEMO_FIRST_HEAP_ENTRIES (a copy that outgrows them is seldom small), then doubling.
   The new index starts empty: every entry goes back in at the next lookup, if any.
   0 or -1 with MemoryError set. */
static int
memotable_grow(MemoTable *t)
{
    Py_ssize_t newcap = t->capacity < MEMO_FIRST_HEAP_ENTRIES ? MEMO_FIRST_HEAP_ENTRIES
                                                              : t->capacity * 2;
    size_t nslots = (size_t)newcap * 2;
    MemoEntry *entries;
    uint32_t *index;
    if (newcap > (Py_ssize_t)(UINT32_MAX / 4)) {
        PyErr_NoMemory();
        return -1;
    }
    /* the index first: if either allocation fails, the table is as it was */
    index = PyMem_Malloc(nslots * sizeof(uint32_t));  /* zeroed when first probed */
    if (index == NULL) {
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
        PyMem_Free(index);
        PyErr_NoMemory();
        return -1;
    }
    t->entries = entries;
    t->capacity = newcap;
    if (t->index != t->small_index) {
        PyMem_Free(t->index);
    }
    t->index = index;
    t->mask = nslots - 1;
    t->shift = 64;
    while (((size_t)1 << (64 - t->shift)) < nslots) {
        t->shift--;  /* 64 - log2(nslots); nslots is a power of two */
    }
    t->indexed = 0;
    return 0;
}

/* Give an untracked value back to the garbage collector and clear the mark. */
static inline void
memotable_retrack(MemoEntry *entry)
{
    if (entry->key & MEMO_UNTRACKED) {
        entry->key &= ~MEMO_UNTRACKED;
        if (!PyObject_GC_IsTracked(entry->value)) {
            PyObject_GC_Track(entry->value);
        }
    }
}

/* Untrack the value of entry position e if the collector tracks it; it is tracked
   again before any code but ours can reach it (memotable_settle), and when the table
   is cleared. */
static inline void
memotable_untrack(MemoTable *t, Py_ssize_t e)
{
    MemoEntry *entry = &t->entries[e];
    /* small copies end before the collector runs: untracking would only cost */
    if (MEMO_UNTRACKS && e >= MEMO_UNTRACK_FROM && e >= t->settled && !(entry->key & MEMO_UNTRACKED)
        && PyObject_GC_IsTracked(entry->value)) {
        PyObject_GC_UnTrack(entry->value);
        entry->key |= MEMO_UNTRACKED;
    }
}

/* Track again every value the table untracked. */
static void
memotable_retrack_all(MemoTable *t)
{
    for (Py_ssize_t e = 0; MEMO_UNTRACKS && e < t->used; e++) {
        memotable_retrack(&t->entries[e]);
    }
    t->settled = t->used;
}

/* Before foreign code runs: track again what was untracked since the last time, and
   untrack nothing memoised so far from now on (amortised linear). */
static inline void
memotable_settle(MemoTable *t)
{
    for (Py_ssize_t e = t->settled; MEMO_UNTRACKS && e < t->used; e++) {
        memotable_retrack(&t->entries[e]);
    }
    t->settled = t->used;
}

/* Track again the value memoised for key, if the table untracked it. */
static void
memotable_retrack_key(MemoTable *t, const PyObject *key)
{
    MemoEntry *entry;
    if (!MEMO_UNTRACKS) {
        return;
    }
    entry = memotable_find(t, key);
    if (entry != NULL) {
        memotable_retrack(entry);
    }
}


/* memo[key] = value (value is not stolen) for a key not in the table: the caller
   knows (it looked key up and nothing ran since, or only its container holds key).
   0, or -1 with MemoryError set. */
static inline int
memotable_add_new(MemoTable *t, PyObject *key, PyObject *value)
{
    if (t->used == t->capacity && memotable_grow(t) < 0) {
        return -1;
    }
    t->entries[t->used].key = (uintptr_t)key;
    t->entries[t->used].value = Py_NewRef(value);
    t->used++;
    return 0;
}

/* memo[key] = value (value is not stolen); 0, or -1 with MemoryError set.
   An existing key keeps its place in the order, as in a dict. */
static inline int
memotable_set(MemoTable *t, PyObject *key, PyObject *value)
{
    size_t slot;
    MemoEntry *entry = memotable_probe(t, key, &slot);
    if (entry != NULL) {
        PyObject *old = entry->value;
        if (old != value) {
            memotable_retrack(entry);
        }
        entry->value = Py_NewRef(value);
        Py_DECREF(old);
        return 0;
    }
    if (t->used == t->capacity) {
        return memotable_add_new(t, key, value);  /* grows: indexed at the next lookup */
    }
    /* probed anyway: indexed now, as a lookup would (the index covers every entry) */
    t->index[slot] = (uint32_t)(t->used + 1);
    t->indexed = t->used + 1;
    return memotable_add_new(t, key, value);
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
static inline void
memotable_clear(MemoTable *t)
{
    memotable_retrack_all(t);
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
   with an exception set. Every value is tracked again first: Python code may now
   reach it. The table keeps its references (the caller clears it). */
static PyObject *
memotable_to_dict(MemoTable *t)
{
    memotable_retrack_all(t);
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
        if (t->entries[e].value == memoentry_key(&t->entries[e])
            && PyList_CheckExact(t->entries[e].value)) {
            /* a list mapped to itself stands for a copy not made yet (see deepcopy_set) */
            PyObject *list = t->entries[e].value;
            PyObject *copy = PyList_GetSlice(list, 0, PyList_GET_SIZE(list));
            if (copy == NULL) {
                goto error;
            }
            t->entries[e].value = copy;
            Py_DECREF(list);
        }
        key = PyLong_FromVoidPtr(memoentry_key(&t->entries[e]));
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
