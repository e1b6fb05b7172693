/* _ccopy.c: the C twin of copykit/_pycopy.py.
 *
 * copy() and deepcopy() do exactly what the running interpreter's copy module does
 * (same results, sharing, memo contents, hook calls, errors), only faster. The
 * sections mirror _pycopy.py: module state, memo, atomic types, shallow copy,
 * containers, reduce and reconstruct, per-type plans, path notes, module init.
 *
 * The memo. While no Python code can see it, a deepcopy call keeps its memo in a
 * pointer-keyed table (_memotable.h). The first time Python code must receive it (a
 * __deepcopy__ hook, a registered copier, a delegated _reconstruct) the table becomes
 * the very dict the stdlib would have built by then, and the rest of the call works
 * on that dict ("dict mode"). A memo passed by the caller is in dict mode from the
 * start; a memo that is not an exact dict is handed to the pure twin.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include "_memotable.h"
#include "_dictview.h"

/* Functions only reached when something failed, or once a copy has stopped being plain
   data (a dict clone given back): out of the hot code's way. */
#if defined(__GNUC__) || defined(__clang__)
#  define COLD __attribute__((cold))
#else
#  define COLD
#endif

#if PY_VERSION_HEX < 0x030A0000
#  error "copykit needs CPython 3.10 or newer"
#endif

/* 3.13 renamed _PyObject_LookupAttr: 1 found, 0 missing (no exception), -1 error. */
#if PY_VERSION_HEX >= 0x030D0000
#  define lookup_attr PyObject_GetOptionalAttr
#else
#  define lookup_attr _PyObject_LookupAttr
#endif

/* Keeps a big, rarely nested path out of a recursive caller's stack frame (the
   recursion through deepcopy_fresh pays for every local an inlined callee adds). */
#if defined(__GNUC__) || defined(__clang__)
#  define NO_INLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#  define NO_INLINE __declspec(noinline)
#else
#  define NO_INLINE
#endif

/* What the stdlib's copy module does differently, by version (docs/compat.md):
   3.14 answers atomic types before the memo lookup and replaced copy()'s dispatch
   table with two sets (_copy_atomic_types, _copy_builtin_containers); its dicts no
   longer carry a version tag (ma_version_tag), so changes are learnt from dict
   watchers. 3.15 adds frozendict and drops deepcopy()'s _nil parameter. */
#if PY_VERSION_HEX >= 0x030E0000
#  define ATOMS_BYPASS_MEMO 1
#  define WATCH_DICTS 1
#else
#  define ATOMS_BYPASS_MEMO 0
#  define WATCH_DICTS 0
#endif
#if PY_VERSION_HEX >= 0x030F0000
#  define HAVE_FROZENDICT 1
#  define DEEPCOPY_MAX_ARGS 2
#else
#  define HAVE_FROZENDICT 0
#  define DEEPCOPY_MAX_ARGS 3
#endif

/* 3.12 spells the structmember constants with a Py_ prefix. */
#ifndef Py_T_OBJECT_EX
#  define Py_T_OBJECT_EX T_OBJECT_EX
#endif
#ifndef Py_READONLY
#  define Py_READONLY READONLY
#endif

/* ======================================================================== */
/* Module state                                                             */
/* ======================================================================== */

#define PLAN_CACHE_SIZE 256
#define PLAN_MAX_SLOTS 16
#define PLAN_GENERAL 0   /* known: always take the general path */
#define PLAN_REDUCE 1    /* plain instance: reduce and reconstruct done in C */
#define PLAN_IDENTITY 2  /* immutable type whose C __deepcopy__ returns the object */
#define PLAN_CREDUCE 3   /* immutable C type reduced by its own C __reduce(_ex)__ */
#define PLAN_GETSTATE 4  /* no instance dict, all defaults but a Python __getstate__ */

/* How plain instances of one type are reduced, learnt once and trusted while the
   type's version tag is unchanged (see "Per-type plans"). */
typedef struct {
    PyTypeObject *type;    /* borrowed; only compared, the tag proves it is the same */
    unsigned int tag;      /* tp_version_tag when learnt; 0 = empty entry */
    int kind;              /* PLAN_GENERAL, PLAN_REDUCE, ... */
    unsigned int meta_tag; /* tp_version_tag of the metaclass when learnt */
    int has_dict;
    int shallow_ok;        /* getattr(cls, "__copy__") finds nothing */
    uint64_t table_version; /* copyreg.dispatch_table version last seen without tp */
    PyObject *reducer;     /* PLAN_CREDUCE: the type's __reduce_ex__ or __reduce__
                              method descriptor (borrowed; the type is immutable) */
    int with_protocol;     /* PLAN_CREDUCE: reducer is __reduce_ex__ (called with 4) */
    PyObject *slotnames;   /* borrowed from the type's __dict__; checked on use */
    Py_ssize_t nslots;
    PyObject *names[PLAN_MAX_SLOTS];     /* borrowed: the list's items when learnt */
    Py_ssize_t offsets[PLAN_MAX_SLOTS];
} TypePlan;

/* What copykit knows of one of the stdlib's registries: at version `seen` it held only
   built-in types that never get to it (then no type needs looking up in it). */
typedef struct {
    uint64_t seen;
    int builtins_only;
} RegistryView;

typedef struct {
    PyObject *Error;                 /* copy.Error */
    PyObject *dispatch_table;        /* copyreg.dispatch_table */
    PyObject *copyreg_newobj;        /* copyreg.__newobj__ */
    PyObject *stdlib_copy_dispatch;  /* copy._copy_dispatch: programs register there
                                        (NULL from 3.14, which has the sets below) */
    PyObject *copy_atomic_types;     /* 3.14+: copy._copy_atomic_types (a set) */
    PyObject *copy_containers;       /* 3.14+: copy._copy_builtin_containers */
    PyObject *deep_atomic_types;     /* 3.14+: copy._atomic_types */
    PyObject *stdlib_deep_dispatch;  /* copy._deepcopy_dispatch */
    PyObject *pycopy;                /* copykit._pycopy, the reference twin */
    PyObject *own_copiers;           /* _pycopy._STDLIB_TO_OWN_COPIERS */
    PyObject *own_atomic;            /* _pycopy._deepcopy_atomic */
    PyObject *helpers;               /* dict of small Python helpers, made on first use */
    PyObject *enum_deepcopy;         /* enum.Enum.__deepcopy__ once seen, or NULL */
    PyCFunction identity_cfuncs[3];  /* C __deepcopy__ that return self, once seen */
    PyObject *empty_tuple;
    PyObject *four;
    PyObject *s_deepcopy, *s_copy, *s_reduce_ex, *s_reduce, *s_getstate, *s_setstate;
    PyObject *s_dict, *s_update, *s_append, *s_items, *s_new, *s_slotnames;
    PyObject *s_getnewargs, *s_getnewargs_ex, *s_self, *s_class;
    PyObject *s_types, *s_predicate, *s_per_type, *s_copy_method;
    PyObject *s_uuid, *s_UUID, *s_SafeUUID, *s_int, *s_is_safe, *s_file;
    PyObject *uuid_type;             /* uuid.UUID, once seen as uuid.py defines it */
    PyObject *uuid_safe_type;        /* uuid.SafeUUID then */
    unsigned int uuid_tag;           /* uuid.UUID's version tag then (0: not learnt) */
    Py_ssize_t uuid_int_offset, uuid_safe_offset;  /* its int and is_safe slots */
    PyObject *keep_policies;         /* _pycopy._KEEP_POLICIES: id(memo) -> keep policy */
    PyObject *keep_policy;           /* _pycopy._keep_policy: validates a keep argument */
    PyObject *object_class;          /* object's __class__ descriptor (borrowed) */
    PyObject *abc_meta;              /* abc.ABCMeta */
    getter dict_getter;              /* the getter of a plain class's __dict__ */
    RegistryView deep_registry;      /* copy._deepcopy_dispatch */
    RegistryView copy_registry;      /* copy._copy_dispatch (before 3.14) */
    Py_ssize_t deep_atomic_size;     /* 3.14+: the size of copy._atomic_types, and of */
    Py_ssize_t copy_sets_size;       /* copy()'s two sets added up, while they held only
                                        built-in types (see take_copy_registries) */
    int registry_watcher;            /* 3.14+: dict watcher ids, or -1 */
    int clone_watcher;
    uint64_t clone_watch_bit;        /* 3.14+: what PyDict_Watch(clone_watcher) sets in a
                                        dict, when seen to set only that (else 0) */
    PyObject *object_reduce_ex, *object_reduce, *object_getstate; /* borrowed from object */
    struct MemoMirror *mirrors;      /* memo dicts mirrored by calls in progress */
    TypePlan plans[PLAN_CACHE_SIZE];
} copy_state;

static inline copy_state *
get_state(PyObject *module)
{
    return (copy_state *)PyModule_GetState(module);
}

#if WATCH_DICTS
/* 3.14 removed the dicts' version tag. Instead, dicts that copykit must know unchanged
   are watched (PyDict_Watch): the registries for good, and a dict for as long as its
   copy is a clone of it (frame_begin). Any change to one of them moves its watcher's
   counter, which serves as the "version" of every dict that watcher watches: a change
   to any of them looks like a change to all, which costs a look-up, never exactness.
   Process-wide (a watcher callback is given no module), hence atomic. */
static uint64_t registry_epoch = 1, clone_epoch = 1;

static int
registry_changed(PyDict_WatchEvent event, PyObject *dict, PyObject *key, PyObject *value)
{
    (void)event, (void)dict, (void)key, (void)value;
    __atomic_fetch_add(&registry_epoch, 1, __ATOMIC_RELAXED);
    return 0;
}

static int
clone_source_changed(PyDict_WatchEvent event, PyObject *dict, PyObject *key, PyObject *value)
{
    (void)event, (void)dict, (void)key, (void)value;
    __atomic_fetch_add(&clone_epoch, 1, __ATOMIC_RELAXED);
    return 0;
}

/* The version of a registry (0: cannot know, when no watcher could be had). */
static inline uint64_t
registry_version(copy_state *st, PyObject *registry)
{
    (void)registry;
    return st->registry_watcher >= 0 ? __atomic_load_n(&registry_epoch, __ATOMIC_RELAXED) : 0;
}

/* The version of a dict being cloned, watched since frame_begin. */
static inline uint64_t
clone_source_version(PyObject *dict)
{
    (void)dict;
    return __atomic_load_n(&clone_epoch, __ATOMIC_RELAXED);
}
#else
/* A dict's version tag: it changes on every modification. Deprecated for Python code
   since 3.12 but still maintained by the interpreter through 3.13. */
static inline uint64_t
dict_version(PyObject *dict)
{
    uint64_t version;
_Py_COMP_DIAG_PUSH
_Py_COMP_DIAG_IGNORE_DEPR_DECLS
    version = ((PyDictObject *)dict)->ma_version_tag;
_Py_COMP_DIAG_POP
    return version;
}
#  define registry_version(st, registry) ((void)(st), dict_version(registry))
#  define clone_source_version(dict) dict_version(dict)
#endif

static int registry_builtins_only(PyObject *registry, int deep);

/* 3.15's frozendict is copied by its registry entry (the stdlib's own copier runs as
   the twin's), which is always looked up: it does not keep the registry from counting
   as built-ins only. */
#if HAVE_FROZENDICT
#  define IS_FROZENDICT_TYPE(tp) ((tp) == &PyFrozenDict_Type)
#else
#  define IS_FROZENDICT_TYPE(tp) 0
#endif

/* Does looking tp up by hash run code, or find another type's entry? (A metaclass
   with its own __hash__ or __eq__; a class posing as int finds int's.) */
static inline int
type_hashes_in_python(PyTypeObject *tp)
{
    return Py_TYPE(tp)->tp_hash != PyType_Type.tp_hash
           || Py_TYPE(tp)->tp_richcompare != PyType_Type.tp_richcompare;
}

/* registry.get(tp) (borrowed, NULL if absent or on error), skipped while the registry
   holds only built-in types that never get here and tp's metaclass hashes and
   compares as type does (a class posing as int would find int's entry). Whether the
   registry holds only those is learnt again after each change (a scan of its keys,
   which runs no code). */
static inline PyObject *
registry_lookup(copy_state *st, PyObject *registry, RegistryView *view, int deep,
                PyTypeObject *tp)
{
    uint64_t version = registry_version(st, registry);
    if (version != view->seen || version == 0) {
        view->builtins_only = version != 0 && registry_builtins_only(registry, deep);
        view->seen = version;
    }
    if (view->builtins_only && !type_hashes_in_python(tp) && !IS_FROZENDICT_TYPE(tp)) {
        return NULL;
    }
    return PyDict_GetItemWithError(registry, (PyObject *)tp);
}

/* ======================================================================== */
/* Memo                                                                     */
/* ======================================================================== */

/* What deepcopy(..., keep=) shares (see "keep=" below). */
#define KEEP_TYPES_CACHED 64  /* a power of two */

typedef struct KeepCheck {
    PyObject *policy;     /* the twin's _KeepPolicy (strong), or NULL until registered */
    PyObject *keep;       /* keep as the caller gave it (borrowed), to make policy from */
    PyObject *types;      /* the tuple of types (strong) */
    PyObject *predicate;  /* the predicate (strong), or NULL */
    int per_type;         /* isinstance answers may be remembered per type */
    int plain_types;      /* every type's metaclass is exactly type: isinstance runs no
                             code for an object whose class answers per type */
    PyTypeObject *last_type;  /* the type asked last (borrowed from seen[]), or NULL */
    int last_answer;
    int register_memo;    /* the policy is the call's own: register it for the memo */
    int registered;       /* the policy is in _KEEP_POLICIES under this call's memo */
    PyObject *outer;      /* what _KEEP_POLICIES held there before (strong), or NULL */
    int cached;           /* entries of seen[] in use */
    PyTypeObject *seen[KEEP_TYPES_CACHED];  /* strong, or NULL: free */
    char answers[KEEP_TYPES_CACHED];
} KeepCheck;

/* An object whose __deepcopy__ hook (or registered copier, or Python _reconstruct)
   runs with the mirrored memo: it is alive while that runs (the walk holds it), so an
   entry the hook adds for it (memo[id(self)] = new) may join the table. */
typedef struct HookedObject {
    PyObject *x;
    struct MemoMirror *mirror;
    struct HookedObject *outer;
} HookedObject;

/* A memo dict that Python code has seen, mirrored by a private table so that the
   call goes on at the table's speed (see "The memo after Python code has seen it" in
   docs/c-design.md). Table entries [0, synced) are the dict's entries in the same
   order, memo[id(memo)] (the keep-alive list) aside; later ones are pending, added to
   the dict before Python code can next see it (mirror_push). After Python code ran,
   the dict is read back (mirror_resync): entries it appended for hooked objects join
   the table; any other change ends the mirror and the call goes on in dict mode. */
typedef struct MemoMirror {
    MemoTable *table;        /* the owner's table */
    PyObject *dict;          /* the memo dict (the owner's reference) */
    PyObject *dict_key;      /* id(dict) as an int (the owner's reference) */
    int callers;             /* the dict is the caller's: reachable by others all along */
    int dead;                /* ended by a nested call: its owner goes to dict mode */
    int stale;               /* Python code may have changed the dict since the last sync */
    Py_ssize_t synced;       /* table entries in the dict */
    Py_ssize_t synced_keep;  /* table keeps in the dict's keep-alive list */
    Py_ssize_t keep_at;      /* table entries before memo[id(memo)] in the dict, or -1 */
    Py_ssize_t nentries;     /* the dict's entries at the last sync */
    const void *keys;        /* its keys object then */
    Py_ssize_t room;         /* that keys object's usable + nentries (a popitem lowers it) */
    PyThreadState *tstate;   /* the owner's thread: only its calls share the table */
    HookedObject *hooked;    /* objects whose hooks run with the dict, innermost first */
    struct MemoMirror *next; /* the module's other mirrors in progress */
} MemoMirror;

/* One deepcopy call: the memo is the table (table != NULL) or the dict memo. */
typedef struct {
    copy_state *st;
    MemoTable *table;
    PyObject *memo;      /* dict mode: the memo dict (owned if owns_memo) */
    PyObject *memo_key;  /* dict mode: id(memo) as an int (owned) */
    int owns_memo;
    struct FrameStack *walks;  /* the innermost container walk in progress, or NULL */
    Py_ssize_t cloned;         /* frames of those walks whose dict copy is a clone */
    PyObject *clone_of;        /* the dict whose clone waits for its frame (borrowed) */
    PyObject *clone;           /* that clone (strong; see dict_clone), or NULL */
    Py_ssize_t clone_pos;      /* PyDict_Next position of its first item not checked */
    Py_ssize_t clone_checked;  /* its items checked (plain key, atom value) */
    KeepCheck *keep;           /* deepcopy(..., keep=): what to share, or NULL */
    PyObject *unoffered;       /* a reduce state being copied: not offered to keep */
    MemoMirror *mirror;        /* the dict the table mirrors (shared with nested calls
                                  on the same memo), or NULL */
    MemoMirror *own_mirror;    /* the mirror this call made (freed when it returns) */
    PyObject *unmemoised;      /* the object a hook or registered copier just copied
                                  (compared only): memo_complete memoises its copy */
} DeepCtx;

static int frames_declone(DeepCtx *c);
static int keep_register(DeepCtx *c);

/* Enter dict mode with memo (borrowed unless owned); 0 or -1 with exception set. */
static int
ctx_use_dict(DeepCtx *c, PyObject *memo, int owned)
{
    c->memo_key = PyLong_FromVoidPtr(memo);
    if (c->memo_key == NULL) {
        if (owned) {
            Py_DECREF(memo);
        }
        return -1;
    }
    c->memo = memo;
    c->owns_memo = owned;
    c->table = NULL;
    return 0;
}

/* The memo as the dict Python code receives (borrowed), built from the table on the
   first request; NULL with exception set on failure. */
static PyObject *
memo_materialize(DeepCtx *c)
{
    PyObject *dict;
    if (c->table == NULL) {
        return c->memo;
    }
    if (c->cloned > 0 && frames_declone(c) < 0) {
        return NULL;
    }
    dict = memotable_to_dict(c->table);
    if (dict == NULL) {
        return NULL;
    }
    memotable_clear(c->table);
    if (ctx_use_dict(c, dict, 1) < 0) {
        return NULL;
    }
    if (c->keep != NULL && c->keep->register_memo && keep_register(c) < 0) {
        return NULL;
    }
    return c->memo;
}

/* The pending exception (or none), set aside while clean-up code runs. */
typedef struct {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc;
#else
    PyObject *type, *value, *tb;
#endif
} PendingError;

static inline void
pending_error_take(PendingError *e)
{
#if PY_VERSION_HEX >= 0x030C0000
    e->exc = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&e->type, &e->value, &e->tb);
#endif
}

/* Is there an exception set aside in e? */
static inline int
pending_error_any(const PendingError *e)
{
#if PY_VERSION_HEX >= 0x030C0000
    return e->exc != NULL;
#else
    return e->type != NULL;
#endif
}

/* Make e's exception (or none) the pending one again, replacing any set since. */
static inline void
pending_error_restore(PendingError *e)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(e->exc);
#else
    PyErr_Restore(e->type, e->value, e->tb);
#endif
}

/* ---- The memo after Python code has seen it: a mirror ---------------------------- */

/* The mirror of memo made by a call in progress, or NULL. */
static inline MemoMirror *
mirror_of(copy_state *st, PyObject *memo)
{
    for (MemoMirror *m = st->mirrors; m != NULL; m = m->next) {
        if (m->dict == memo) {
            return m;
        }
    }
    return NULL;
}

/* Can code other than this module's reach the dict (a caller's memo, or one a hook
   kept)? Otherwise nothing but this call can read or change it. */
static inline int
mirror_reachable(const MemoMirror *m)
{
    return m->callers || Py_REFCNT(m->dict) > 1;
}

/* Remember the dict's shape, as the next sync will compare it. */
static inline void
mirror_note_shape(MemoMirror *m)
{
    const DictKeysHeader *k = (const DictKeysHeader *)((PyDictObject *)m->dict)->ma_keys;
    m->keys = k;
    m->nentries = k->nentries;
    m->room = k->usable + k->nentries;
}

/* Add the table's keeps not yet in the dict to memo[id(memo)] in target (the memo
   dict), made now if it has none (as _keep_alive does on KeyError), after `at` table
   entries. 0 or -1 with exception set. */
static int
mirror_push_keeps(MemoMirror *m, copy_state *st, PyObject *target, Py_ssize_t at)
{
    MemoTable *t = m->table;
    PyObject *list = PyDict_GetItemWithError(target, m->dict_key);
    if (list == NULL) {
        int rc;
        if (PyErr_Occurred()) {
            return -1;
        }
        list = PyList_New(t->nkeep - m->synced_keep);
        if (list == NULL) {
            return -1;
        }
        for (Py_ssize_t k = m->synced_keep; k < t->nkeep; k++) {
            PyList_SET_ITEM(list, k - m->synced_keep, Py_NewRef(t->keep[k]));
        }
        rc = PyDict_SetItem(target, m->dict_key, list);
        Py_DECREF(list);
        if (rc < 0) {
            return -1;
        }
        m->synced_keep = t->nkeep;
        m->keep_at = at;
        return 0;
    }
    Py_INCREF(list);
    for (; m->synced_keep < t->nkeep; m->synced_keep++) {
        PyObject *x = t->keep[m->synced_keep], *result;
        if (PyList_CheckExact(list)) {
            if (PyList_Append(list, x) < 0) {
                Py_DECREF(list);
                return -1;
            }
            continue;
        }
        result = PyObject_CallMethodOneArg(list, st->s_append, x);  /* as _keep_alive */
        if (result == NULL) {
            Py_DECREF(list);
            return -1;
        }
        Py_DECREF(result);
    }
    Py_DECREF(list);
    return 0;
}

/* Table entry e as a memo item in target: memo[id(original)] = copy (a set's temporary
   list mapped to itself gets its copy now). 0 or -1 with exception set. */
static int
mirror_push_entry(MemoTable *t, Py_ssize_t e, PyObject *target)
{
    MemoEntry *entry = &t->entries[e];
    PyObject *key;
    int rc;
    if (entry->value == memoentry_key(entry) && PyList_CheckExact(entry->value)) {
        PyObject *list = entry->value;
        /* a new list: the collector may run, and code it runs may grow the table */
        PyObject *copy = PyList_GetSlice(list, 0, PyList_GET_SIZE(list));
        if (copy == NULL) {
            return -1;
        }
        entry = &t->entries[e];
        if (entry->value == list) {
            entry->value = copy;
            Py_DECREF(list);
        }
        else {
            Py_DECREF(copy);
        }
    }
    key = PyLong_FromVoidPtr(memoentry_key(entry));
    if (key == NULL) {
        return -1;
    }
    rc = PyDict_SetItem(target, key, entry->value);
    Py_DECREF(key);
    return rc;
}

/* Many entries for the empty dict (a caller's {}) go into a dict made with room for them
   all, which then becomes the memo's contents at once (dict.update into an empty dict
   copies the table of a dict made so), with no resize on the way. */
#define MIRROR_BATCH_FROM 64

/* The pending entries into target (the memo dict, or a batch for it), with the
   keep-alive list where the first original was kept; synced counts them only when
   target is the dict. 0 or -1 with exception set. */
static int
mirror_push_entries(DeepCtx *c, PyObject *target)
{
    MemoMirror *m = c->mirror;
    MemoTable *t = m->table;
    for (Py_ssize_t e = m->synced; e <= t->used; e++) {
        if (e == t->keep_pos && m->keep_at < 0 && m->synced_keep < t->nkeep
            && mirror_push_keeps(m, c->st, target, e) < 0) {
            return -1;
        }
        if (e == t->used) {
            break;
        }
        if (mirror_push_entry(t, e, target) < 0) {
            return -1;
        }
        if (target == m->dict) {
            m->synced = e + 1;
        }
    }
    return 0;
}

/* mirror_push_entries into an empty memo dict by way of a batch. 0 or -1 with
   exception set (then nothing reached the memo). */
static NO_INLINE int
mirror_push_batch(DeepCtx *c)
{
    MemoMirror *m = c->mirror;
    Py_ssize_t keep_at = m->keep_at, synced_keep = m->synced_keep;
    PyObject *batch = _PyDict_NewPresized(m->table->used - m->synced + 1);
    int rc = -1;
    if (batch != NULL && mirror_push_entries(c, batch) == 0
        && PyDict_Update(m->dict, batch) == 0) {
        m->synced = m->table->used;
        rc = 0;
    }
    else {
        m->keep_at = keep_at;
        m->synced_keep = synced_keep;
    }
    Py_XDECREF(batch);
    return rc;
}

/* Add the pending entries and keeps to the dict, in the order the stdlib made them
   (the keep-alive list where the first original was kept). Nothing but this module
   runs. 0 or -1 with exception set (what was added stays counted). */
static int
mirror_push(DeepCtx *c)
{
    MemoMirror *m = c->mirror;
    MemoTable *t = m->table;
    int rc;
    memotable_settle(t);  /* the dict lets Python code reach every value */
    if (t->used - m->synced >= MIRROR_BATCH_FROM && PyDict_GET_SIZE(m->dict) == 0) {
        rc = mirror_push_batch(c);
    }
    else {
        rc = mirror_push_entries(c, m->dict);
    }
    if (rc < 0
        || (m->synced_keep < t->nkeep && mirror_push_keeps(m, c->st, m->dict, m->synced) < 0)) {
        return -1;
    }
    /* the dict's shape noted; the mirror given up if it is not the dict it describes */
    mirror_note_shape(m);
    if (m->nentries != m->synced + (m->keep_at >= 0)
        || PyDict_GET_SIZE(m->dict) != m->nentries) {
        m->dead = m->stale = 1;
    }
    return 0;
}

/* The owner's mirror unregistered and its table emptied (its references now in the
   dict, or dropped with the call). */
static void
mirror_drop(DeepCtx *c)
{
    MemoMirror *m = c->own_mirror, **link = &c->st->mirrors;
    while (*link != NULL && *link != m) {
        link = &(*link)->next;
    }
    if (*link == m) {
        *link = m->next;
        memotable_clear(m->table);
    }
}

/* Stop mirroring: the pending entries go into the dict and the call goes on in dict
   mode against it; a nested call only marks the mirror dead, for its owner to drop
   when it next reads the dict. 0 or -1 with exception set. */
static COLD int
mirror_leave(DeepCtx *c)
{
    MemoMirror *m = c->mirror;
    int rc = mirror_push(c);
    m->dead = m->stale = 1;  /* every call sharing it reads the dict back, and leaves */
    c->mirror = NULL;
    c->table = NULL;
    if (c->own_mirror == m) {
        mirror_drop(c);
    }
    return rc;
}

/* mirror_push, if anything is pending, with an exception perhaps pending (kept; a new
   one is set only if none was). 0 or -1. */
static int
mirror_push_now(DeepCtx *c)
{
    MemoMirror *m = c->mirror;
    PendingError pending;
    int rc;
    if (m->synced == m->table->used && m->synced_keep == m->table->nkeep) {
        return 0;
    }
    pending_error_take(&pending);
    rc = mirror_push(c);
    if (pending_error_any(&pending)) {
        pending_error_restore(&pending);
    }
    return rc;
}

/* The key of a dict entry as the address it stands for: 1 with *address set, 0 when
   it is not an exact int that fits one. Never sets an exception. */
static int
entry_address(PyObject *key, void **address)
{
    if (!PyLong_CheckExact(key)) {
        return 0;
    }
    *address = PyLong_AsVoidPtr(key);
    if (*address == NULL && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* Does the dict still hold the mirrored entries at their places (checked key by key
   after its keys object changed: a resize, which cost the dict as much)? */
static COLD int
mirror_prefix_unchanged(const MemoMirror *m, const DictView *view)
{
    for (Py_ssize_t p = 0; p < m->nentries; p++) {
        void *address;
        const void *expected;
        Py_ssize_t e = m->keep_at >= 0 && p > m->keep_at ? p - 1 : p;
        if (!entry_address(view->first[p * view->stride], &address)) {
            return 0;
        }
        expected = p == m->keep_at ? (const void *)m->dict
                                   : (const void *)memoentry_key(&m->table->entries[e]);
        if (address != expected) {
            return 0;
        }
    }
    return 1;
}

/* An entry Python code appended to the dict: 1 if the mirror takes it (the keep-alive
   list, or an entry for an object whose hook is running), 0 if the mirror must end,
   -1 with exception set. */
static int
mirror_take_appended(MemoMirror *m, PyObject *key, PyObject *value)
{
    void *address;
    if (!entry_address(key, &address)) {
        return 0;
    }
    if (address == (void *)m->dict) {
        if (m->keep_at >= 0 || !PyList_CheckExact(value)) {
            return 0;
        }
        m->keep_at = m->synced;
        return 1;
    }
    for (HookedObject *h = m->hooked; h != NULL; h = h->outer) {
        if ((void *)h->x == address) {
            if (memotable_find(m->table, h->x) != NULL
                || memotable_set(m->table, h->x, value) < 0) {
                return PyErr_Occurred() ? -1 : 0;
            }
            m->synced = m->table->used;
            return 1;
        }
    }
    return 0;
}

/* After Python code may have used the dict: read it back. Unchanged, or changed only
   by appends the mirror takes, the call goes on with the table; otherwise (an entry
   deleted, a foreign key, the keep-alive list replaced by something else) in dict
   mode. Values that Python code overwrote are read from the dict when looked up
   (mirror_value). 0 or -1 with exception set. */
static NO_INLINE int
mirror_resync(DeepCtx *c)
{
    MemoMirror *m = c->mirror;
    PyDictObject *d = (PyDictObject *)m->dict;
    const DictKeysHeader *k;
    DictView view;
    m->stale = 0;
    if (m->dead || !dictview_get(m->dict, &view)) {
        return mirror_leave(c);
    }
    k = (const DictKeysHeader *)d->ma_keys;
    if (d->ma_used != k->nentries || k->nentries < m->nentries) {
        return mirror_leave(c);  /* an entry deleted (or more) */
    }
    if (((const void *)k != m->keys || k->usable + k->nentries != m->room)
        && !mirror_prefix_unchanged(m, &view)) {
        return mirror_leave(c);  /* resized or popped: the entries checked, and moved */
    }
    if (k->nentries > m->nentries && m->table->used > m->synced) {
        return mirror_leave(c);  /* appended after entries still pending */
    }
    for (Py_ssize_t p = m->nentries; p < k->nentries; p++) {
        int r = mirror_take_appended(m, view.first[p * view.stride],
                                     view.first[p * view.stride + 1]);
        if (r <= 0) {
            return r < 0 ? -1 : mirror_leave(c);
        }
    }
    if (m->keep_at >= 0 && !PyList_CheckExact(view.first[m->keep_at * view.stride + 1])) {
        return mirror_leave(c);  /* the keep-alive list replaced by something else */
    }
    mirror_note_shape(m);
    return 0;
}

/* Read the dict back first if Python code may have changed it. 0 or -1. */
#if defined(__GNUC__) || defined(__clang__)
#  define MEMO_SYNC(c) \
    (__builtin_expect((c)->mirror != NULL, 0) && (c)->mirror->stale ? mirror_resync(c) : 0)
#else
#  define MEMO_SYNC(c) ((c)->mirror != NULL && (c)->mirror->stale ? mirror_resync(c) : 0)
#endif

/* The value of a mirrored entry (borrowed): the dict's, which Python code may have
   overwritten, once the entry is in the dict. */
static inline PyObject *
mirror_value(const MemoMirror *m, const MemoEntry *entry)
{
    Py_ssize_t e = entry - m->table->entries;
    DictView view;
    if (e >= m->synced || !dictview_get(m->dict, &view)) {
        return entry->value;
    }
    if (m->keep_at >= 0 && e >= m->keep_at) {
        e++;
    }
    return view.first[e * view.stride + 1];
}

/* The copy a mirrored table holds for x: 1 with *value borrowed, 2 when it is a set's
   temporary list mapped to itself (pending: its copy not made yet), 0 if absent, -1
   with exception set. The memo dict itself is found as the stdlib finds it:
   memo[id(memo)], the keep-alive list (added to the dict first if it is due). */
static NO_INLINE int
mirror_find(DeepCtx *c, PyObject *x, PyObject **value)
{
    MemoMirror *m = c->mirror;
    MemoEntry *entry;
    if (x == m->dict) {
        if (m->keep_at < 0 && m->synced_keep < m->table->nkeep && mirror_push(c) < 0) {
            return -1;
        }
        if (m->keep_at < 0) {
            return 0;
        }
        *value = PyDict_GetItemWithError(m->dict, m->dict_key);
        return *value != NULL ? 1 : PyErr_Occurred() ? -1 : 0;
    }
    entry = memotable_find(m->table, x);
    if (entry == NULL) {
        return 0;
    }
    if (entry - m->table->entries >= m->synced) {
        *value = entry->value;
        return entry->value == x && PyList_CheckExact(x) ? 2 : 1;
    }
    *value = mirror_value(m, entry);
    return 1;
}

/* The copy the table (mirrored or not) holds for x, as mirror_find answers. */
static inline int
table_find(DeepCtx *c, PyObject *x, PyObject **value)
{
    MemoEntry *entry;
    if (c->mirror != NULL) {
        return mirror_find(c, x, value);
    }
    entry = memotable_find(c->table, x);
    if (entry == NULL) {
        return 0;
    }
    *value = entry->value;
    return entry->value == x && PyList_CheckExact(x) ? 2 : 1;
}

/* Make c's table (c->table) the mirror of its memo dict (c->memo, c->memo_key: the
   table's own dict, or the caller's, empty), registered for nested calls on the same
   dict. 0, or -1 with MemoryError set (then c is in dict mode, the table emptied). */
static int
mirror_begin(DeepCtx *c, int callers)
{
    MemoMirror *m = PyMem_Malloc(sizeof(MemoMirror));
    if (m == NULL) {
        memotable_clear(c->table);
        c->table = NULL;
        PyErr_NoMemory();
        return -1;
    }
    m->table = c->table;
    m->dict = c->memo;
    m->dict_key = c->memo_key;
    m->callers = callers;
    m->dead = 0;
    m->stale = 0;
    m->synced = c->table->used;
    m->synced_keep = c->table->nkeep;
    m->keep_at = c->table->keep_pos;
    m->tstate = PyThreadState_Get();
    m->hooked = NULL;
    mirror_note_shape(m);
    m->next = c->st->mirrors;
    c->st->mirrors = m;
    c->mirror = c->own_mirror = m;
    return 0;
}

/* The pending entries into the dict, and the dict marked as seen by Python code, for
   code that may reach it to run next. 0 or -1 with exception set. */
static int
memo_expose(DeepCtx *c)
{
    if (MEMO_SYNC(c) < 0) {
        return -1;
    }
    if (c->mirror == NULL) {
        return 0;  /* dict mode from here on */
    }
    if (mirror_push(c) < 0) {
        return -1;
    }
    c->mirror->stale = 1;
    return 0;
}

/* At the end of a call: a nested call leaves the dict complete for the hook that
   called it; a call that made a mirror completes the dict if anybody can see it, and
   unregisters and frees the mirror. A pending exception stays pending; 0, or -1 with
   a new one set. */
static int
mirror_end(DeepCtx *c)
{
    MemoMirror *m = c->own_mirror;
    int rc = 0;
    if (m == NULL) {
        if (c->mirror != NULL) {  /* a nested call on another call's mirror */
            rc = mirror_push_now(c);
            c->mirror->stale = 1;  /* the hook's code goes on */
            c->mirror = NULL;
            c->table = NULL;  /* the owner's */
        }
        return rc;
    }
    if (c->mirror == m && mirror_reachable(m)) {
        rc = mirror_push_now(c);
    }
    c->mirror = NULL;
    c->table = NULL;
    mirror_drop(c);
    PyMem_Free(m);
    c->own_mirror = NULL;
    return rc;
}

/* Hand the memo to Python code that runs for x (a hook, a registered copier, the
   twin's _reconstruct): the memo dict (borrowed), or NULL with exception set. While
   the table mirrors it, x is recorded in h as hooked until memo_taken_back. */
static PyObject *
memo_show(DeepCtx *c, PyObject *x, HookedObject *h)
{
    h->x = NULL;
    if (c->table == NULL) {
        return c->memo;
    }
    if (c->cloned > 0 && frames_declone(c) < 0) {
        return NULL;
    }
    if (c->mirror != NULL) {
        if (memo_expose(c) < 0) {
            return NULL;
        }
    }
    else if (!dictview_ok) {
        return memo_materialize(c);  /* no mirror: dict mode from here on */
    }
    else {
        MemoTable *table = c->table;
        PyObject *dict = memotable_to_dict(table);
        if (dict == NULL) {
            return NULL;
        }
        if (ctx_use_dict(c, dict, 1) < 0) {
            c->table = table;  /* emptied when the call ends */
            return NULL;
        }
        c->table = table;
        if (mirror_begin(c, 0) < 0) {
            return NULL;
        }
        c->mirror->stale = 1;
        if (c->keep != NULL && c->keep->register_memo && keep_register(c) < 0) {
            return NULL;
        }
    }
    if (c->mirror != NULL) {
        h->x = x;
        h->mirror = c->mirror;
        h->outer = c->mirror->hooked;
        c->mirror->hooked = h;
    }
    return c->memo;
}

/* After the Python code memo_show handed the memo to returned y (stolen; NULL if it
   raised): the dict read back while x still counts as hooked. y, or NULL with
   exception set. */
static PyObject *
memo_taken_back(DeepCtx *c, HookedObject *h, PyObject *y)
{
    if (h->x != NULL) {
        if (y != NULL && c->mirror == h->mirror && MEMO_SYNC(c) < 0) {
            Py_CLEAR(y);
        }
        h->mirror->hooked = h->outer;
    }
    return y;
}

/* entry's value replaced by y (a new reference taken), if it is not y already. */
static inline void
memoentry_replace(MemoEntry *entry, PyObject *y)
{
    if (entry->value != y) {
        PyObject *old = entry->value;
        entry->value = Py_NewRef(y);
        Py_DECREF(old);
    }
}

/* memo[id(x)] = y with a mirrored table: an entry already in the dict is replaced in
   both, in place; the memo dict's own id (memo[id(memo)]: only a hostile structure)
   ends the mirror first. 0 or -1 with exception set. */
static int
mirror_set(DeepCtx *c, PyObject *x, PyObject *y)
{
    MemoMirror *m = c->mirror;
    MemoEntry *entry;
    PyObject *key;
    int rc;
    if (x == m->dict) {
        if (mirror_leave(c) < 0) {
            return -1;
        }
        return PyDict_SetItem(c->memo, c->memo_key, y);
    }
    entry = memotable_find(m->table, x);
    if (entry == NULL || entry - m->table->entries >= m->synced) {
        return memotable_set(m->table, x, y);
    }
    if (mirror_value(m, entry) == y) {
        /* already so in the dict (a forwarding hook's memo[id(self)] = new): setting
           it again changes nothing Python code can see */
        memoentry_replace(entry, y);
        return 0;
    }
    key = PyLong_FromVoidPtr(x);
    if (key == NULL) {
        return -1;
    }
    rc = PyDict_SetItem(m->dict, key, y);
    Py_DECREF(key);
    if (rc < 0) {
        return -1;
    }
    mirror_note_shape(m);
    /* the value the dict let go may have had a finalizer, which may have copied with
       this memo and grown the table: find the entry again */
    entry = memotable_find(m->table, x);
    if (entry != NULL) {
        memoentry_replace(entry, y);
    }
    return 0;
}

/* memo_lookup, past the private table's own case. */
static NO_INLINE int
memo_lookup_slow(DeepCtx *c, PyObject *x, PyObject **found)
{
    PyObject *key, *value;
    if (MEMO_SYNC(c) < 0) {
        return -1;
    }
    if (c->table != NULL) {
        int r = table_find(c, x, &value);
        if (r <= 0) {
            return r;
        }
        *found = Py_NewRef(value);
        return 1;
    }
    key = PyLong_FromVoidPtr(x);
    if (key == NULL) {
        return -1;
    }
    value = PyDict_GetItemWithError(c->memo, key);
    Py_DECREF(key);
    if (value == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    *found = Py_NewRef(value);
    return 1;
}

/* memo.get(id(x)): 1 with *found a new reference, 0 if absent, -1 with exception. */
static inline int
memo_lookup(DeepCtx *c, PyObject *x, PyObject **found)
{
    if (c->table != NULL && c->mirror == NULL) {
        PyObject *value = memotable_get(c->table, x);
        if (value == NULL) {
            return 0;
        }
        *found = Py_NewRef(value);
        return 1;
    }
    return memo_lookup_slow(c, x, found);
}

/* memo_set, past the private table's own case. */
static NO_INLINE int
memo_set_slow(DeepCtx *c, PyObject *x, PyObject *y)
{
    PyObject *key;
    int rc;
    if (MEMO_SYNC(c) < 0) {
        return -1;
    }
    if (c->mirror != NULL) {
        return mirror_set(c, x, y);
    }
    if (c->table != NULL) {
        return memotable_set(c->table, x, y);
    }
    key = PyLong_FromVoidPtr(x);
    if (key == NULL) {
        return -1;
    }
    rc = PyDict_SetItem(c->memo, key, y);
    Py_DECREF(key);
    return rc;
}

/* memo[id(x)] = y; 0 or -1 with exception set. */
static inline int
memo_set(DeepCtx *c, PyObject *x, PyObject *y)
{
    if (c->table != NULL && c->mirror == NULL) {
        return memotable_set(c->table, x, y);
    }
    return memo_set_slow(c, x, y);
}

/* memo_set for an x known not to be memoised: looked up (or held only by its
   container, see part_known_references) with nothing run since. */
static inline int
memo_set_new(DeepCtx *c, PyObject *x, PyObject *y)
{
    if (c->table != NULL && (c->mirror == NULL || (!c->mirror->stale && x != c->memo))) {
        return memotable_add_new(c->table, x, y);
    }
    return memo_set(c, x, y);
}

/* memo_keep_alive, past the table's own case. */
static NO_INLINE int
memo_keep_alive_slow(DeepCtx *c, PyObject *x)
{
    PyObject *list, *result, *fresh;
    int rc;
    if (MEMO_SYNC(c) < 0) {
        return -1;
    }
    if (c->table != NULL) {
        return memotable_keep(c->table, x);
    }
    list = PyDict_GetItemWithError(c->memo, c->memo_key);
    if (list != NULL) {
        if (PyList_CheckExact(list)) {
            return PyList_Append(list, x);
        }
        Py_INCREF(list);
        result = PyObject_CallMethodOneArg(list, c->st->s_append, x);
        Py_DECREF(list);
        if (result != NULL) {
            Py_DECREF(result);
            return 0;
        }
        if (!PyErr_ExceptionMatches(PyExc_KeyError)) {
            return -1;
        }
        PyErr_Clear();
    }
    else if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_KeyError)) {
            return -1;
        }
        PyErr_Clear();
    }
    fresh = PyList_New(1);
    if (fresh == NULL) {
        return -1;
    }
    PyList_SET_ITEM(fresh, 0, Py_NewRef(x));
    rc = PyDict_SetItem(c->memo, c->memo_key, fresh);
    Py_DECREF(fresh);
    return rc;
}

/* _keep_alive: memo[id(memo)].append(x), or a new list on KeyError; 0 or -1. */
static inline int
memo_keep_alive(DeepCtx *c, PyObject *x)
{
    if (c->table != NULL && (c->mirror == NULL || !c->mirror->stale)) {
        return memotable_keep(c->table, x);
    }
    return memo_keep_alive_slow(c, x);
}

/* Before code other than this module's may run or reach the copies made so far: give
   the collector back what the private memo untracked (see memotable_untrack), and
   bring dict copies made as clones to the stdlib's state (frames_declone). */
static inline int
memo_settle(DeepCtx *c)
{
    if (c->table != NULL) {
        memotable_settle(c->table);
        if (c->mirror != NULL && mirror_reachable(c->mirror) && memo_expose(c) < 0) {
            return -1;
        }
    }
    return c->cloned > 0 ? frames_declone(c) : 0;
}

/* memo[id(x)] = y and keep x alive, as deepcopy does for every y that is not x. */
static inline int
memo_remember(DeepCtx *c, PyObject *x, PyObject *y)
{
    if (memo_set(c, x, y) < 0) {
        return -1;
    }
    return memo_keep_alive(c, x);
}

/* ======================================================================== */
/* Atomic and immutable types                                               */
/* ======================================================================== */

/* Is tp one of the stdlib's _deepcopy_atomic types (exact type)? */
static inline int
is_deep_atomic(PyTypeObject *tp)
{
    if (tp == &PyUnicode_Type || tp == &PyLong_Type || tp == &PyFloat_Type
        || tp == Py_TYPE(Py_None) || tp == &PyBool_Type) {
        return 1;
    }
    /* the usual non-atoms (containers, classes defined in Python) in one test */
    if (PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE | Py_TPFLAGS_LIST_SUBCLASS
                                  | Py_TPFLAGS_DICT_SUBCLASS | Py_TPFLAGS_TUPLE_SUBCLASS)) {
        return 0;
    }
    return tp == &PyBytes_Type
           || tp == &PyComplex_Type || tp == &PyType_Type || tp == &PyFunction_Type
           || tp == &PyCFunction_Type || tp == &PyCode_Type || tp == &PyRange_Type
           || tp == &_PyWeakref_RefType || tp == &PyProperty_Type
           || tp == Py_TYPE(Py_Ellipsis) || tp == Py_TYPE(Py_NotImplemented);
}

/* Is tp one of the types copy() returns unchanged (_copy_immutable)? */
static inline int
is_shallow_immutable(PyTypeObject *tp)
{
    return is_deep_atomic(tp) || tp == &PyTuple_Type || tp == &PyFrozenSet_Type
           || tp == &PySlice_Type
#if ATOMS_BYPASS_MEMO
           || tp == &PySuper_Type  /* added to copy's atomic types in 3.14 */
#endif
#if HAVE_FROZENDICT
           || tp == &PyFrozenDict_Type
#endif
        ;
}

/* May an atom of type tp be answered without asking the memo? From 3.14 always;
   before, when the memo is private (it never holds an atom). */
#define ATOM_SKIPS_MEMO(c) (ATOMS_BYPASS_MEMO || (c)->table != NULL)

/* 3.14+: is tp (not a built-in atom) in copy._atomic_types, where a program added it
   or where its metaclass's __eq__ finds it? 1, 0, or -1 with exception set (the
   stdlib's, when hashing it fails). Looked up only when either may be. */
static inline int
atomic_type_added(copy_state *st, PyTypeObject *tp)
{
#if ATOMS_BYPASS_MEMO
    if (PySet_GET_SIZE(st->deep_atomic_types) == st->deep_atomic_size
        && !type_hashes_in_python(tp)) {
        return 0;
    }
    return PySet_Contains(st->deep_atomic_types, (PyObject *)tp);
#else
    (void)st, (void)tp;
    return 0;
#endif
}

/* getattr(obj, name, None): 1 with *result a new reference when present and not
   None, 0 when missing or None (as `is not None` tests), -1 with exception set. */
static inline int
lookup_not_none(PyObject *obj, PyObject *name, PyObject **result)
{
    if (lookup_attr(obj, name, result) < 0) {
        return -1;
    }
    if (*result == Py_None) {
        Py_CLEAR(*result);
    }
    return *result != NULL;
}

/* Is the version tag of tp valid (assigned and not invalidated)? */
static inline int
type_tag_valid(PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030D0000
    /* 3.13 no longer sets Py_TPFLAGS_VALID_VERSION_TAG: a changed type gets tag 0 */
    return tp->tp_version_tag != 0;
#else
    return (tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) && tp->tp_version_tag != 0;
#endif
}

/* Does getattr(cls, name) on a class of metaclass meta run no code of its own, so
   that it yields the class's attribute as its descriptor returns it for no instance?
   True under type's own getattro unless the metaclass has a data descriptor name. */
static inline int
class_lookup_is_plain(PyTypeObject *meta, PyObject *name)
{
    PyObject *descr;
    if (meta == &PyType_Type) {
        return 1;
    }
    if (meta->tp_getattro != PyType_Type.tp_getattro) {
        return 0;
    }
    descr = _PyType_Lookup(meta, name);
    return descr == NULL || Py_TYPE(descr)->tp_descr_set == NULL;
}

/* 3.13 moved _PyObject_GetMethod to the internal headers; it is still exported. */
#if PY_VERSION_HEX >= 0x030D0000
PyAPI_FUNC(int) _PyObject_GetMethod(PyObject *obj, PyObject *name, PyObject **method);
#endif

/* getattr(obj, name, None) as `obj.name(...)` resolves it, so that the call needs no
   bound method: 1 with *func the unbound function found on the type (call it with obj
   first), 0 with *func the attribute itself or NULL when missing (AttributeError
   cleared, as getattr with a default does), -1 with exception set. The same lookup
   as getattr: the type's getattro runs unless it is the generic one, whose steps
   _PyObject_GetMethod takes in the same order. */
static int
lookup_method(PyObject *obj, PyObject *name, PyObject **func)
{
    int unbound;
    if (Py_TYPE(obj)->tp_getattro != PyObject_GenericGetAttr) {
        return lookup_attr(obj, name, func) < 0 ? -1 : 0;
    }
    *func = NULL;  /* _PyObject_GetMethod leaves it alone when the name is missing */
    unbound = _PyObject_GetMethod(obj, name, func);
    if (*func == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    return unbound;
}

/* ======================================================================== */
/* Small Python helpers                                                     */
/* ======================================================================== */

/* Things the interpreter itself must do so that error messages match exactly:
   star-unpacking a reduce value into _reconstruct, and `a, b = item`. */
static const char helpers_source[] =
    "def reconstruct_star(reconstruct, x, memo, rv):\n"
    "    return reconstruct(x, memo, *rv)\n"
    "def unpack_pair(item):\n"
    "    first, second = item\n"
    "    return first, second\n";

/* The helper function called name (borrowed), or NULL with exception set. */
static PyObject *
get_helper(copy_state *st, const char *name)
{
    PyObject *func;
    if (st->helpers == NULL) {
        PyObject *globals = NULL, *code = NULL, *result = NULL;
        globals = PyDict_New();
        if (globals == NULL
            || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0) {
            goto fail;
        }
        code = Py_CompileString(helpers_source, "<copykit._ccopy helpers>", Py_file_input);
        if (code == NULL) {
            goto fail;
        }
        result = PyEval_EvalCode(code, globals, globals);
        if (result == NULL) {
            goto fail;
        }
        Py_DECREF(result);
        Py_DECREF(code);
        st->helpers = globals;
        goto found;
    fail:
        Py_XDECREF(globals);
        Py_XDECREF(code);
        return NULL;
    }
found:
    func = PyDict_GetItemString(st->helpers, name);
    if (func == NULL) {
        PyErr_Format(PyExc_SystemError, "copykit helper %s missing", name);
    }
    return func;
}

/* `first, second = item` into two new references; 0, or -1 with the interpreter's
   own unpacking error set. */
static int
unpack_pair(copy_state *st, PyObject *item, PyObject **first, PyObject **second)
{
    PyObject *helper, *pair;
    if (PyTuple_CheckExact(item) && PyTuple_GET_SIZE(item) == 2) {
        *first = Py_NewRef(PyTuple_GET_ITEM(item, 0));
        *second = Py_NewRef(PyTuple_GET_ITEM(item, 1));
        return 0;
    }
    helper = get_helper(st, "unpack_pair");
    if (helper == NULL) {
        return -1;
    }
    pair = PyObject_CallOneArg(helper, item);
    if (pair == NULL) {
        return -1;
    }
    *first = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
    *second = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
    Py_DECREF(pair);
    return 0;
}

/* getattr(obj, name) for the rare paths (errors, fallbacks, learning), by the interned
   name: a fresh string would stay behind in CPython's type attribute cache, which keeps
   a reference to each name it caches until another name takes the entry. */
static COLD PyObject *
getattr_interned(PyObject *obj, const char *name)
{
    PyObject *key = PyUnicode_InternFromString(name), *value;
    if (key == NULL) {
        return NULL;
    }
    value = PyObject_GetAttr(obj, key);
    Py_DECREF(key);
    return value;
}

/* ======================================================================== */
/* Path notes (PEP 678, 3.11+): where in the structure a deepcopy failed     */
/* ======================================================================== */

/* The error path only: the pure twin builds and attaches the note, so both twins
   write the same text. Nothing here runs when copying succeeds. */

#if PY_VERSION_HEX >= 0x030C0000
#  define FETCH_EXC(exc) ((exc) = PyErr_GetRaisedException())
#  define RESTORE_EXC(exc) PyErr_SetRaisedException(exc)
#elif PY_VERSION_HEX >= 0x030B0000
/* 3.11: fetch, normalise and attach the traceback, so the exception is one object. */
static COLD PyObject *
fetch_exception(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}
#  define FETCH_EXC(exc) ((exc) = fetch_exception())
#  define RESTORE_EXC(exc) PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), (exc), \
                                         PyException_GetTraceback(exc))
#endif

/* Call _pycopy.<note>(exc, *args) on the pending exception, which stays pending. */
static COLD void
call_note(copy_state *st, const char *note, PyObject *segment_or_state, PyObject *child)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *exc, *func, *result = NULL;
    FETCH_EXC(exc);
    if (exc == NULL) {
        return;
    }
    func = getattr_interned(st->pycopy, note);
    if (func != NULL) {
        if (child != NULL) {
            result = PyObject_CallFunctionObjArgs(func, exc, segment_or_state, child, NULL);
        }
        else {
            result = PyObject_CallFunctionObjArgs(func, exc, segment_or_state, NULL);
        }
        Py_DECREF(func);
    }
    Py_XDECREF(result);
    PyErr_Clear();
    RESTORE_EXC(exc);
#else
    (void)st; (void)note; (void)segment_or_state; (void)child;
#endif
}

/* Record a failure at segment kind(argument) whose failing part is child. */
static COLD void
note_failure(copy_state *st, const char *kind, PyObject *argument, PyObject *child)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *exc, *func, *segment;
    FETCH_EXC(exc);
    if (exc == NULL) {
        return;
    }
    func = getattr_interned(st->pycopy, kind);
    segment = func == NULL ? NULL : PyObject_CallOneArg(func, argument);
    Py_XDECREF(func);
    PyErr_Clear();
    RESTORE_EXC(exc);
    if (segment != NULL) {
        call_note(st, "_note_failure", segment, child);
        Py_DECREF(segment);
    }
#else
    (void)st; (void)kind; (void)argument; (void)child;
#endif
}

/* note_failure for a position segment (an index or reduce argument number). */
static COLD void
note_failure_at(copy_state *st, const char *kind, Py_ssize_t position, PyObject *child)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *exc, *number;
    FETCH_EXC(exc);
    number = PyLong_FromSsize_t(position);
    PyErr_Clear();
    if (exc != NULL) {
        RESTORE_EXC(exc);
    }
    if (number != NULL) {
        note_failure(st, kind, number, child);
        Py_DECREF(number);
    }
#else
    (void)st; (void)kind; (void)position; (void)child;
#endif
}

/* ======================================================================== */
/* keep=: what the copy shares with the original                            */
/* ======================================================================== */

/* deepcopy(x, keep=...) validates keep with the twin's _keep_policy. While the call's
   memo is a dict Python code can see, the policy is registered in the twin's
   _KEEP_POLICIES under id(memo), so that deepcopy calls with that memo inside hooks
   (copykit's or the patched copy.deepcopy) honour it too. The walk asks keep_matches
   about every object it would copy, except atoms, classes and the parts of a reduce
   value that only carry the object's own parts (its state, a set's list of items). */


/* Fill k from a _KeepPolicy (borrowed); 0, or -1 with exception set (k then needs
   keep_release all the same). */
static int
keep_init(copy_state *st, KeepCheck *k, PyObject *policy)
{
    PyObject *per_type;
    k->policy = Py_NewRef(policy);
    k->types = PyObject_GetAttr(policy, st->s_types);
    k->predicate = PyObject_GetAttr(policy, st->s_predicate);
    per_type = PyObject_GetAttr(policy, st->s_per_type);
    if (k->types == NULL || k->predicate == NULL || per_type == NULL) {
        Py_XDECREF(per_type);
        return -1;
    }
    if (k->predicate == Py_None) {
        Py_CLEAR(k->predicate);
    }
    k->per_type = per_type == Py_True;
    Py_DECREF(per_type);
    return 0;
}

/* The usual keep, a class or a tuple of classes, checked here as the twin's _keep_policy
   would accept it, without making the twin's policy (made only if it must be registered,
   keep_register). 1 filled, 0 not such a keep (k untouched), -1 with exception set. */
static int
keep_init_types(copy_state *st, KeepCheck *k, PyObject *keep)
{
    PyObject *types;
    Py_ssize_t n;
    if (PyType_Check(keep)) {
        types = PyTuple_Pack(1, keep);
        if (types == NULL) {
            return -1;
        }
    }
    else if (PyTuple_CheckExact(keep)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keep); i++) {
            if (!PyType_Check(PyTuple_GET_ITEM(keep, i))) {
                return 0;  /* the twin words the TypeError */
            }
        }
        types = Py_NewRef(keep);
    }
    else {
        return 0;
    }
    k->keep = keep;
    k->types = types;
    k->per_type = k->plain_types = 1;
    n = PyTuple_GET_SIZE(types);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTypeObject *meta = Py_TYPE(PyTuple_GET_ITEM(types, i));
        if (meta != &PyType_Type) {
            k->plain_types = 0;
            if ((PyObject *)meta != st->abc_meta) {
                k->per_type = 0;
            }
        }
    }
    return 1;
}

/* Drop what k holds (after keep_unregister). */
static void
keep_release(KeepCheck *k)
{
    for (int i = 0; i < KEEP_TYPES_CACHED; i++) {
        Py_XDECREF(k->seen[i]);
    }
    Py_XDECREF(k->policy);
    Py_XDECREF(k->types);
    Py_XDECREF(k->predicate);
    Py_XDECREF(k->outer);
}

/* _KEEP_POLICIES[id(memo)] = the policy, for the rest of the call (keep_unregister);
   needs the memo as a dict (c->memo_key). 0, or -1 with exception set. */
static int
keep_register(DeepCtx *c)
{
    KeepCheck *k = c->keep;
    PyObject *registry = c->st->keep_policies;
    PyObject *outer;
    if (k->policy == NULL) {
        k->policy = PyObject_CallOneArg(c->st->keep_policy, k->keep);
        if (k->policy == NULL) {
            return -1;
        }
    }
    outer = PyDict_GetItemWithError(registry, c->memo_key);
    if (outer == NULL && PyErr_Occurred()) {
        return -1;
    }
    Py_XINCREF(outer);  /* a hook's own deepcopy(..., keep=) nests: put back after */
    if (PyDict_SetItem(registry, c->memo_key, k->policy) < 0) {
        Py_XDECREF(outer);
        return -1;
    }
    k->outer = outer;
    k->registered = 1;
    return 0;
}

/* Undo keep_register, if it was done; a pending exception stays pending. */
static void
keep_unregister(DeepCtx *c)
{
    KeepCheck *k = c->keep;
    PyObject *registry;
    if (k == NULL || !k->registered) {
        return;
    }
    registry = c->st->keep_policies;
    k->registered = 0;
    PendingError pending;
    pending_error_take(&pending);
    /* replacing or deleting an int key allocates nothing; it fails only if a program
       took the entry out meanwhile, and then there is nothing to undo */
    if ((k->outer != NULL ? PyDict_SetItem(registry, c->memo_key, k->outer)
                          : PyDict_DelItem(registry, c->memo_key)) < 0) {
        PyErr_Clear();
    }
    Py_CLEAR(k->outer);
    pending_error_restore(&pending);
}

/* Can isinstance(obj, T), T of an ordinary metaclass or ABCMeta, differ between two
   instances of tp? Only when obj.__class__ may name another class (a __class__ of its
   own, or attribute lookup by code). The twin's _answer_depends_on_type_only. */
static int
keep_answer_per_type(copy_state *st, PyTypeObject *tp)
{
    return tp->tp_getattro == PyObject_GenericGetAttr
           && _PyType_Lookup(tp, st->s_class) == st->object_class;
}

/* isinstance(x, types) for an x of type tp whose class answers per type, all types of
   metaclass type: what PyObject_IsInstance finds, without running code. */
static int
keep_is_subtype(PyTypeObject *tp, PyObject *types)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(types); i++) {
        if (PyType_IsSubtype(tp, (PyTypeObject *)PyTuple_GET_ITEM(types, i))) {
            return 1;
        }
    }
    return 0;
}

/* Does the keep policy share x (not in the memo)? 1 yes, 0 no, or -1 with exception
   set and the path note started. Atoms and classes are never offered. The predicate,
   a metaclass's __instancecheck__ or a __class__ property may run code, so the memo is
   settled first, unless the answer is remembered for x's type or needs no code. */
static NO_INLINE int
keep_matches(DeepCtx *c, PyObject *x)
{
    KeepCheck *k = c->keep;
    PyTypeObject *tp = Py_TYPE(x);
    size_t slot = ((uintptr_t)tp >> 4) & (KEEP_TYPES_CACHED - 1);
    int r, cacheable;
    if (is_deep_atomic(tp) || PyType_Check(x)) {
        return 0;
    }
    if (k->predicate == NULL) {
        while (k->seen[slot] != NULL) {
            if (k->seen[slot] == tp) {
                k->last_type = tp;
                k->last_answer = k->answers[slot];
                return k->last_answer;
            }
            slot = (slot + 1) & (KEEP_TYPES_CACHED - 1);
        }
    }
    cacheable = k->predicate == NULL && k->per_type && keep_answer_per_type(c->st, tp);
    if (cacheable && k->plain_types) {
        r = keep_is_subtype(tp, k->types);
    }
    else {
        if (memo_settle(c) < 0) {
            return -1;
        }
        if (k->predicate != NULL) {
            PyObject *result = PyObject_CallOneArg(k->predicate, x);
            r = result != NULL ? PyObject_IsTrue(result) : -1;
            Py_XDECREF(result);
        }
        else {
            r = PyObject_IsInstance(x, k->types);
        }
        if (r < 0) {
            call_note(c->st, "_note_keep_failure", x, NULL);
            return -1;
        }
    }
    /* slot is still free: only this call's walk fills k (nested calls have their own) */
    if (cacheable && k->cached < KEEP_TYPES_CACHED / 2) {
        k->seen[slot] = (PyTypeObject *)Py_NewRef(tp);
        k->answers[slot] = (char)r;
        k->cached++;
        k->last_type = tp;
        k->last_answer = r;
    }
    return r;
}

/* keep_matches, answered inline when x's type is the one asked last. */
static inline int
keep_part(DeepCtx *c, PyObject *x)
{
    if (Py_TYPE(x) == c->keep->last_type) {
        return c->keep->last_answer;
    }
    return keep_matches(c, x);
}

/* keep_part unless there is no policy or x is the reduce state being copied. */
static inline int
keep_offer(DeepCtx *c, PyObject *x)
{
    if (c->keep == NULL || x == c->unoffered) {
        return 0;
    }
    return keep_part(c, x);
}

/* ======================================================================== */
/* Reduce and reconstruct                                                   */
/* ======================================================================== */

static PyObject *deepcopy_object(DeepCtx *c, PyObject *x);
static PyObject *deepcopy_fresh(DeepCtx *c, PyObject *x);

/* deepcopy_fresh for x known not to be in the memo, once 3.14+ has asked whether a
   program added its type to copy._atomic_types (as the stdlib asks first). */
static inline PyObject *
deepcopy_unmemoised(DeepCtx *c, PyObject *x)
{
    int r = atomic_type_added(c->st, Py_TYPE(x));
    if (r != 0) {
        return r > 0 ? Py_NewRef(x) : NULL;
    }
    return deepcopy_fresh(c, x);
}
static PyObject *deepcopy_container(DeepCtx *c, PyObject *x, PyObject *items);

/* object.__reduce_ex__(x, 4) for a class whose __reduce__ is a Python function and
   whose metaclass finds class attributes without running code: that method looks up
   x.__reduce__ and, seeing the class's differs from object's, calls it with no
   arguments; here the function is called without the bound methods. New reference,
   NULL with exception set, or NULL without one when this does not apply. */
static PyObject *
object_reduce_ex_by_function(copy_state *st, PyObject *x)
{
    PyTypeObject *tp = Py_TYPE(x), *meta = Py_TYPE(tp);
    PyObject *cls_reduce, *reduce, *rv;
    unsigned int tag = tp->tp_version_tag;
    int unbound;
    cls_reduce = _PyType_Lookup(tp, st->s_reduce);
    if (cls_reduce == NULL || !PyFunction_Check(cls_reduce) || !type_tag_valid(tp)
        || !class_lookup_is_plain(meta, st->s_reduce)) {
        return NULL;
    }
    /* getattr(x, "__reduce__"): an instance dict lookup, which may run a key's __eq__ */
    unbound = lookup_method(x, st->s_reduce, &reduce);
    if (unbound < 0) {
        return NULL;
    }
    if (reduce == NULL) {
        return NULL;  /* the class lost its __reduce__ meanwhile: see below */
    }
    if (!type_tag_valid(tp) || tp->tp_version_tag != tag) {
        /* that lookup ran code that changed the class: getattr(type(x), "__reduce__")
           for real. If it is object's now, object.__reduce_ex__ is called after all and
           looks x.__reduce__ up once more (a known difference, docs/c-design.md). */
        PyObject *now = PyObject_GetAttr((PyObject *)tp, st->s_reduce);
        int inherited = now == st->object_reduce;
        Py_XDECREF(now);
        if (now == NULL || inherited) {
            Py_DECREF(reduce);
            return NULL;
        }
    }
    /* getattr(type(x), "__reduce__") is not object's: call what x.__reduce__ found */
    if (unbound) {
        rv = PyObject_CallOneArg(reduce, x);
    }
    else {
        rv = PyObject_CallNoArgs(reduce);
    }
    Py_DECREF(reduce);
    return rv;
}

/* getattr(x, "__reduce_ex__")(4) given the unbound method found on the type. */
static PyObject *
call_reduce_ex(copy_state *st, PyObject *reduce_ex, PyObject *x)
{
    PyObject *args[2] = {x, st->four};
    if (reduce_ex == st->object_reduce_ex) {
        PyObject *rv = object_reduce_ex_by_function(st, x);
        if (rv != NULL || PyErr_Occurred()) {
            return rv;
        }
    }
    return PyObject_Vectorcall(reduce_ex, args, 2, NULL);
}

static PyObject *dispatch_table_get(copy_state *st, PyTypeObject *tp);

/* The reduce value of x as copy/deepcopy obtain it (new reference), or NULL with
   copy.Error (no way to reduce) or the reductor's exception set. */
static PyObject *
reduce_object(copy_state *st, PyObject *x, int deep)
{
    PyObject *reductor, *rv;
    PyTypeObject *cls = Py_TYPE(x);
    int truth;
    reductor = dispatch_table_get(st, cls);
    if (reductor != NULL) {
        Py_INCREF(reductor);
        /* deepcopy tests the registered reductor's truth, copy only its presence */
        truth = deep ? PyObject_IsTrue(reductor) : 1;
        if (truth > 0) {
            rv = PyObject_CallOneArg(reductor, x);
            Py_DECREF(reductor);
            return rv;
        }
        Py_DECREF(reductor);
        if (truth < 0) {
            return NULL;
        }
    }
    else if (PyErr_Occurred()) {
        return NULL;
    }
    truth = lookup_method(x, st->s_reduce_ex, &reductor);
    if (truth < 0) {
        return NULL;
    }
    if (truth > 0) {
        rv = call_reduce_ex(st, reductor, x);
        Py_DECREF(reductor);
        return rv;
    }
    if (reductor == Py_None) {
        Py_CLEAR(reductor);
    }
    if (reductor != NULL) {
        rv = PyObject_CallOneArg(reductor, st->four);
        Py_DECREF(reductor);
        return rv;
    }
    if (lookup_attr(x, st->s_reduce, &reductor) < 0) {
        return NULL;
    }
    truth = reductor != NULL ? PyObject_IsTrue(reductor) : 0;
    if (truth > 0) {
        rv = PyObject_CallNoArgs(reductor);
        Py_DECREF(reductor);
        return rv;
    }
    Py_XDECREF(reductor);
    if (truth == 0) {
        PyErr_Format(st->Error, deep ? "un(deep)copyable object of type %S"
                                     : "un(shallow)copyable object of type %S",
                     (PyObject *)cls);
    }
    return NULL;
}

/* The reduce value of x by a PLAN_CREDUCE reducer, or NULL with exception set; the
   same call getattr(x, "__reduce_ex__")(4) makes, without the bound methods. */
static PyObject *
reduce_by_plan(copy_state *st, PyObject *reducer, int with_protocol, PyObject *x)
{
    PyObject *args[2] = {x, st->four};
    return PyObject_Vectorcall(reducer, args, with_protocol ? 2 : 1, NULL);
}

/* Hand a reduce value of unusual shape to the pure twin's _reconstruct, called with
   `*rv` by the interpreter so every message is the stdlib's. New reference or NULL. */
static PyObject *
reconstruct_in_python(DeepCtx *c, copy_state *st, PyObject *x, PyObject *rv)
{
    PyObject *helper, *reconstruct, *memo = Py_None, *y;
    HookedObject hooked = {NULL, NULL, NULL};
    if (c != NULL) {
        memo = memo_show(c, x, &hooked);
        if (memo == NULL) {
            return NULL;
        }
    }
    helper = get_helper(st, "reconstruct_star");
    reconstruct = helper != NULL ? getattr_interned(st->pycopy, "_reconstruct") : NULL;
    y = reconstruct != NULL
            ? PyObject_CallFunctionObjArgs(helper, reconstruct, x, memo, rv, NULL) : NULL;
    Py_XDECREF(reconstruct);
    return c != NULL ? memo_taken_back(c, &hooked, y) : y;
}

/* The deep copy of a reduce state (new reference, or NULL with exception set). The
   state only carries the object's parts: it is not offered to keep, and neither are
   the two dicts of a (instance dict, slot values) pair (the twin's
   _deepcopy_pair_state, used only under keep=). */
static PyObject *
deepcopy_state(DeepCtx *c, PyObject *state)
{
    PyObject *saved = c->unoffered, *copy, *parts[2];
    if (c->keep == NULL || !PyTuple_CheckExact(state) || PyTuple_GET_SIZE(state) != 2) {
        c->unoffered = state;
        copy = deepcopy_object(c, state);
        c->unoffered = saved;
        return copy;
    }
    for (Py_ssize_t i = 0; i < 2; i++) {
        c->unoffered = PyTuple_GET_ITEM(state, i);
        parts[i] = deepcopy_object(c, c->unoffered);
        c->unoffered = saved;
        if (parts[i] == NULL) {
            note_failure_at(c->st, "_Index", i, PyTuple_GET_ITEM(state, i));
            if (i == 1) {
                Py_DECREF(parts[0]);
            }
            return NULL;
        }
    }
    if (parts[0] == PyTuple_GET_ITEM(state, 0) && parts[1] == PyTuple_GET_ITEM(state, 1)) {
        copy = Py_NewRef(state);
    }
    else {
        copy = PyTuple_Pack(2, parts[0], parts[1]);
    }
    Py_DECREF(parts[0]);
    Py_DECREF(parts[1]);
    return copy;
}

/* The reduce arguments with every element deep-copied, as a new tuple even when no
   element changed: func(*args) receives a fresh tuple in the stdlib, and some
   constructors keep it (operator.itemgetter). A set's first argument carries its items
   (not offered to keep). NULL with exception set on failure. */
static PyObject *
deepcopy_args(DeepCtx *c, PyObject *args, int first_is_carrier)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *copies = PyTuple_New(n);
    PyObject *saved = c->unoffered;
    if (copies == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *arg = PyTuple_GET_ITEM(args, i);
        PyObject *copy;
        c->unoffered = i == 0 && first_is_carrier ? arg : NULL;
        copy = deepcopy_object(c, arg);
        c->unoffered = saved;
        if (copy == NULL) {
            note_failure_at(c->st, "_ReduceArgument", i, arg);
            Py_DECREF(copies);
            return NULL;
        }
        PyTuple_SET_ITEM(copies, i, copy);
    }
    return copies;
}

/* Can `cls.__new__(cls, *rest)` be done by calling object.__new__'s C slot directly?
   True for classes that inherit object.__new__ under an ordinary metaclass. */
static int
newobj_is_object_new(copy_state *st, PyObject *cls)
{
    PyTypeObject *meta;
    PyObject *meta_new;
    if (!PyType_Check(cls) || ((PyTypeObject *)cls)->tp_new != PyBaseObject_Type.tp_new) {
        return 0;
    }
    meta = Py_TYPE(cls);
    if (meta == &PyType_Type) {
        return 1;
    }
    if (meta->tp_getattro != PyType_Type.tp_getattro) {
        return 0;
    }
    /* a data descriptor called __new__ on the metaclass would win the lookup */
    meta_new = _PyType_Lookup(meta, st->s_new);
    return meta_new == NULL || Py_TYPE(meta_new)->tp_descr_set == NULL;
}

/* y = func(*args), with copyreg.__newobj__ done without its Python frame. */
static PyObject *
call_constructor(copy_state *st, PyObject *func, PyObject *args)
{
    PyObject *cls, *rest, *method, *y;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (func != st->copyreg_newobj || n == 0) {
        return PyObject_Call(func, args, NULL);
    }
    cls = PyTuple_GET_ITEM(args, 0);
    if (n == 1 && newobj_is_object_new(st, cls)) {
        return ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, st->empty_tuple, NULL);
    }
    rest = PyTuple_GetSlice(args, 1, n);
    if (rest == NULL) {
        return NULL;
    }
    if (newobj_is_object_new(st, cls)) {
        y = ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, rest, NULL);
        Py_DECREF(rest);
        return y;
    }
    /* what copyreg.__newobj__ does: cls.__new__(cls, *args) */
    method = PyObject_GetAttr(cls, st->s_new);
    Py_DECREF(rest);
    if (method == NULL) {
        return NULL;
    }
    y = PyObject_Call(method, args, NULL);
    Py_DECREF(method);
    return y;
}

/* y.__dict__.update(state); 0 or -1 with exception set. */
static int
update_instance_dict(copy_state *st, PyObject *y, PyObject *state)
{
    PyObject *dict, *result;
    int rc;
    dict = PyObject_GetAttr(y, st->s_dict);
    if (dict == NULL) {
        return -1;
    }
    if (PyDict_CheckExact(dict) && PyDict_CheckExact(state)) {
        rc = PyDict_Update(dict, state);
    }
    else {
        result = PyObject_CallMethodOneArg(dict, st->s_update, state);
        rc = result == NULL ? -1 : 0;
        Py_XDECREF(result);
    }
    Py_DECREF(dict);
    return rc;
}

/* One step of iterating dict d as its items() iterator does, with the iterator's errors
   if d changes meanwhile: used is len(d) when iteration began, *remaining the items still
   expected. 1 with the item borrowed in *key, *value; 0 at the end; -1 with
   RuntimeError set. */
static inline int
dict_iter_next(PyObject *d, Py_ssize_t *pos, Py_ssize_t used, Py_ssize_t *remaining,
               PyObject **key, PyObject **value)
{
    if (PyDict_GET_SIZE(d) != used) {
        PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
        return -1;
    }
    if (!dict_next(d, pos, key, value)) {
        return 0;
    }
    if ((*remaining)-- == 0) {
        PyErr_SetString(PyExc_RuntimeError, "dictionary keys changed during iteration");
        return -1;
    }
    return 1;
}

/* The same for an exact dict, iterated as its items() iterator would be (and with its
   errors when setattr changes the dict); no iterator object is made. 0 or -1. */
static int
set_slot_state_from_dict(PyObject *y, PyObject *slotstate)
{
    Py_ssize_t pos = 0, used = PyDict_GET_SIZE(slotstate), remaining = used;
    PyObject *key, *value;
    for (;;) {
        int rc = dict_iter_next(slotstate, &pos, used, &remaining, &key, &value);
        if (rc <= 0) {
            return rc;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        rc = PyObject_SetAttr(y, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0) {
            return -1;
        }
    }
}

/* for key, value in slotstate.items(): setattr(y, key, value); 0 or -1. */
static int
set_slot_state(copy_state *st, PyObject *y, PyObject *slotstate)
{
    PyObject *items = NULL, *iterator = NULL, *item = NULL, *key = NULL, *value = NULL;
    int rc = -1;
    if (PyDict_CheckExact(slotstate)) {
        return set_slot_state_from_dict(y, slotstate);
    }
    items = PyObject_CallMethodNoArgs(slotstate, st->s_items);
    if (items == NULL) {
        goto done;
    }
    iterator = PyObject_GetIter(items);
    if (iterator == NULL) {
        goto done;
    }
    while ((item = PyIter_Next(iterator)) != NULL) {
        if (unpack_pair(st, item, &key, &value) < 0) {
            goto done;
        }
        Py_CLEAR(item);
        if (PyObject_SetAttr(y, key, value) < 0) {
            goto done;
        }
        Py_CLEAR(key);
        Py_CLEAR(value);
    }
    rc = PyErr_Occurred() ? -1 : 0;
done:
    Py_XDECREF(items);
    Py_XDECREF(iterator);
    Py_XDECREF(item);
    Py_XDECREF(key);
    Py_XDECREF(value);
    return rc;
}

/* Apply state without __setstate__: a dict, or a (dict, slot dict) pair. */
static int
set_dict_and_slot_state(copy_state *st, PyObject *y, PyObject *state)
{
    PyObject *dictstate = NULL, *slotstate = NULL;
    Py_ssize_t size = 0;
    int rc = -1;
    if (PyTuple_Check(state)) {
        size = PyTuple_CheckExact(state) ? PyTuple_GET_SIZE(state) : PyObject_Size(state);
        if (size < 0) {
            return -1;
        }
    }
    if (size == 2) {
        if (unpack_pair(st, state, &dictstate, &slotstate) < 0) {
            return -1;
        }
    }
    else {
        dictstate = Py_NewRef(state);
        slotstate = Py_NewRef(Py_None);
    }
    if (dictstate != Py_None && update_instance_dict(st, y, dictstate) < 0) {
        goto done;
    }
    if (slotstate != Py_None && set_slot_state(st, y, slotstate) < 0) {
        goto done;
    }
    rc = 0;
done:
    Py_DECREF(dictstate);
    Py_DECREF(slotstate);
    return rc;
}

/* Does tp give its instances a __dict__? */
static inline int
type_has_instance_dict(PyTypeObject *tp)
{
    return tp->tp_dictoffset != 0
#if PY_VERSION_HEX >= 0x030B0000
           || (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
#endif
        ;
}

/* When y has no instance dict and the generic getattr, hasattr(y, "__setstate__") and
   y.__setstate__ both find the class's attribute and run no code: if it is a Python
   function, call it with y first (no bound method). 1 done, 0 not applicable, -1
   error. */
static int
setstate_without_instance_dict(copy_state *st, PyObject *y, PyObject *state)
{
    PyTypeObject *tp = Py_TYPE(y);
    PyObject *descr, *result, *args[2] = {y, state};
    if (tp->tp_getattro != PyObject_GenericGetAttr || type_has_instance_dict(tp)) {
        return 0;
    }
    descr = _PyType_Lookup(tp, st->s_setstate);
    if (descr == NULL || !PyFunction_Check(descr)) {
        return 0;
    }
    Py_INCREF(descr);
    result = PyObject_Vectorcall(descr, args, 2, NULL);
    Py_DECREF(descr);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 1;
}

/* The state step of _reconstruct: __setstate__ if y has one, else dict and slots. */
static int
set_state(copy_state *st, PyObject *y, PyObject *state)
{
    PyObject *setstate, *result;
    int done = setstate_without_instance_dict(st, y, state);
    if (done != 0) {
        return done < 0 ? -1 : 0;
    }
    /* hasattr(y, "__setstate__"), without binding a method only to drop it; when the
       class has none, getattr's suppressing path looks at the instance without making
       an AttributeError (_PyObject_GetMethod would make and drop one) */
    if (_PyType_Lookup(Py_TYPE(y), st->s_setstate) == NULL) {
        if (lookup_attr(y, st->s_setstate, &setstate) < 0) {
            return -1;
        }
    }
    else if (lookup_method(y, st->s_setstate, &setstate) < 0) {
        return -1;
    }
    if (setstate == NULL) {
        return set_dict_and_slot_state(st, y, state);
    }
    Py_DECREF(setstate);
    /* looked up again, as `y.__setstate__(state)` after `hasattr` does */
    result = PyObject_CallMethodOneArg(y, st->s_setstate, state);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* y.append(item), through the method unless y is an exact list; 0 or -1. */
static int
append_item(copy_state *st, PyObject *y, PyObject *item)
{
    PyObject *result;
    if (PyList_CheckExact(y)) {
        return PyList_Append(y, item);
    }
    result = PyObject_CallMethodOneArg(y, st->s_append, item);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* for item in listiter: y.append(deepcopy(item) if deep else item); 0 or -1. */
static int
reconstruct_list_items(DeepCtx *c, copy_state *st, PyObject *y, PyObject *listiter)
{
    PyObject *iterator, *item;
    Py_ssize_t position = 0;
    int rc = -1;
    iterator = PyObject_GetIter(listiter);
    if (iterator == NULL) {
        return -1;
    }
    while ((item = PyIter_Next(iterator)) != NULL) {
        if (c != NULL) {
            PyObject *copy = deepcopy_object(c, item);
            if (copy == NULL) {
                note_failure_at(st, "_Index", position, item);
                Py_DECREF(item);
                goto done;
            }
            Py_SETREF(item, copy);
            position++;
        }
        if ((c != NULL && memo_settle(c) < 0) || append_item(st, y, item) < 0) {
            Py_DECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
    rc = PyErr_Occurred() ? -1 : 0;
done:
    Py_DECREF(iterator);
    return rc;
}

/* Copy one dict item of a reduce value: key first, then value; 0 or -1. */
static int
deepcopy_dict_item(DeepCtx *c, PyObject **key, PyObject **value)
{
    PyObject *key_copy, *value_copy;
    key_copy = deepcopy_object(c, *key);
    if (key_copy == NULL) {
        note_failure(c->st, "_KeyItself", *key, *key);
        return -1;
    }
    value_copy = deepcopy_object(c, *value);
    if (value_copy == NULL) {
        note_failure(c->st, "_Key", *key, *value);
        Py_DECREF(key_copy);
        return -1;
    }
    Py_SETREF(*key, key_copy);
    Py_SETREF(*value, value_copy);
    return 0;
}

/* for key, value in dictiter: y[key] = value (both copied if deep); 0 or -1. */
static int
reconstruct_dict_items(DeepCtx *c, copy_state *st, PyObject *y, PyObject *dictiter)
{
    PyObject *iterator, *item = NULL, *key = NULL, *value = NULL;
    int rc = -1;
    iterator = PyObject_GetIter(dictiter);
    if (iterator == NULL) {
        return -1;
    }
    while ((item = PyIter_Next(iterator)) != NULL) {
        if (unpack_pair(st, item, &key, &value) < 0) {
            goto done;
        }
        Py_CLEAR(item);
        if (c != NULL) {
            if (deepcopy_dict_item(c, &key, &value) < 0 || memo_settle(c) < 0) {
                goto done;
            }
        }
        if (PyObject_SetItem(y, key, value) < 0) {
            goto done;
        }
        Py_CLEAR(key);
        Py_CLEAR(value);
    }
    rc = PyErr_Occurred() ? -1 : 0;
done:
    Py_XDECREF(item);
    Py_XDECREF(key);
    Py_XDECREF(value);
    Py_DECREF(iterator);
    return rc;
}

/* _reconstruct(x, memo, *rv): the copy built from a reduce value (new reference), or
   NULL with exception set. c is NULL for a shallow copy. */
static PyObject *
reconstruct(DeepCtx *c, copy_state *st, PyObject *x, PyObject *rv)
{
    PyObject *func, *args, *state, *listiter, *dictiter;
    PyObject *y = NULL, *newargs = NULL, *state_copy = NULL;
    Py_ssize_t n;
    if (!PyTuple_CheckExact(rv) || PyTuple_GET_SIZE(rv) < 2 || PyTuple_GET_SIZE(rv) > 5
        || !PyTuple_CheckExact(PyTuple_GET_ITEM(rv, 1))) {
        return reconstruct_in_python(c, st, x, rv);
    }
    n = PyTuple_GET_SIZE(rv);
    func = PyTuple_GET_ITEM(rv, 0);
    args = PyTuple_GET_ITEM(rv, 1);
    state = n > 2 ? PyTuple_GET_ITEM(rv, 2) : Py_None;
    listiter = n > 3 ? PyTuple_GET_ITEM(rv, 3) : Py_None;
    dictiter = n > 4 ? PyTuple_GET_ITEM(rv, 4) : Py_None;
    if (c != NULL && func == st->copyreg_newobj && PyTuple_GET_SIZE(args) == 1
        && PyType_Check(PyTuple_GET_ITEM(args, 0)) && c->table != NULL
        && newobj_is_object_new(st, PyTuple_GET_ITEM(args, 0))) {
        /* (copyreg.__newobj__, (cls,)): cls is its own copy and the args tuple goes
           nowhere, so object.__new__(cls) needs no copied tuple */
        newargs = Py_NewRef(args);
    }
    else if (c != NULL && PyTuple_GET_SIZE(args) > 0) {
        newargs = deepcopy_args(c, args, PyAnySet_Check(x));
    }
    else {
        newargs = Py_NewRef(args);
    }
    if (newargs == NULL || (c != NULL && memo_settle(c) < 0)) {
        goto error;
    }
    y = call_constructor(st, func, newargs);
    if (y == NULL) {
        goto error;
    }
    if (c != NULL && memo_set(c, x, y) < 0) {
        goto error;
    }
    if (state != Py_None) {
        if (c != NULL) {
            state_copy = deepcopy_state(c, state);
            if (state_copy == NULL) {
                call_note(st, "_note_state_failure", state, NULL);
                goto error;
            }
            if (memo_settle(c) < 0) {
                goto error;
            }
        }
        if (set_state(st, y, state_copy != NULL ? state_copy : state) < 0) {
            goto error;
        }
    }
    if (c != NULL && memo_settle(c) < 0) {  /* copies reach y's own methods below */
        goto error;
    }
    if (listiter != Py_None && reconstruct_list_items(c, st, y, listiter) < 0) {
        goto error;
    }
    if (dictiter != Py_None && reconstruct_dict_items(c, st, y, dictiter) < 0) {
        goto error;
    }
    goto done;
error:
    Py_CLEAR(y);
done:
    Py_XDECREF(newargs);
    Py_XDECREF(state_copy);
    return y;
}

/* ======================================================================== */
/* Per-type plans: plain instances without the Python round trips           */
/* ======================================================================== */

/* For a class that takes every default (object.__reduce_ex__, object.__getstate__,
   object.__new__, no hooks), __reduce_ex__(4) always yields
   (copyreg.__newobj__, (cls,), state, None, None) with state the instance __dict__
   (None when empty; 3.10: when absent) or (dict-or-None, {slot: value}). The plan
   builds that same state directly and constructs the copy with object.__new__; the
   state is then deep-copied through the memo as usual, so the memo ends up exactly
   as the stdlib's. A plan is learnt from a real __reduce_ex__(4) result (so every
   check object.__reduce_ex__ makes has passed) and trusted while the type's version
   tag is unchanged: any change to the class or its bases gives it a new tag. */

/* The cache entry for tp (the place it would live; check its tag). */
static inline TypePlan *
plan_slot(copy_state *st, PyTypeObject *tp)
{
    uintptr_t h = (uintptr_t)tp >> 4;
    return &st->plans[(h ^ (h >> 8)) & (PLAN_CACHE_SIZE - 1)];
}

/* Does the instance __dict__ of x hold names that would change how it is copied?
   1 yes, 0 no, -1 error. dict may be NULL. */
static int
instance_dict_overrides(copy_state *st, PyObject *dict)
{
    PyObject *names[3] = {st->s_deepcopy, st->s_reduce_ex, st->s_getstate};
    if (dict == NULL || PyDict_GET_SIZE(dict) == 0) {
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        int r = PyDict_Contains(dict, names[i]);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

/* The instance __dict__ of x as object.__reduce_ex__ sees it: new reference, or NULL
   without exception when x has none. 3.11+ creates it on demand (as the stdlib's
   getstate does); 3.10 reports only a dict that exists. */
static PyObject *
instance_dict(PyObject *x, int has_dict)
{
    if (!has_dict) {
        return NULL;
    }
#if PY_VERSION_HEX >= 0x030B0000
    return PyObject_GenericGetDict(x, NULL);
#else
    {
        PyObject **dictptr = _PyObject_GetDictPtr(x);
        return (dictptr != NULL && *dictptr != NULL) ? Py_NewRef(*dictptr) : NULL;
    }
#endif
}

/* The state object.__reduce_ex__(4) gives x under plan (new reference), or NULL with
   exception set. dict is the instance dict (borrowed, may be NULL). */
static PyObject *
plan_state(const TypePlan *plan, PyObject *x, PyObject *dict)
{
    PyObject *dictstate, *slots = NULL, *state;
#if PY_VERSION_HEX >= 0x030B0000
    dictstate = (dict != NULL && PyDict_GET_SIZE(dict) > 0) ? dict : Py_None;
#else
    dictstate = dict != NULL ? dict : Py_None;
#endif
    if (plan->nslots > 0) {
        slots = PyDict_New();
        if (slots == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < plan->nslots; i++) {
            PyObject *value = *(PyObject **)((char *)x + plan->offsets[i]);
            if (value != NULL
                && PyDict_SetItem(slots, plan->names[i], value) < 0) {
                Py_DECREF(slots);
                return NULL;
            }
        }
        if (PyDict_GET_SIZE(slots) > 0) {
            state = PyTuple_Pack(2, dictstate, slots);
            Py_DECREF(slots);
            return state;
        }
        Py_DECREF(slots);
    }
    return Py_NewRef(dictstate);
}

/* Do the type's attributes say "all defaults"? 1 yes, 0 no (never an exception). */
static int
plan_type_is_plain(copy_state *st, PyTypeObject *tp)
{
    PyObject *descr;
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || tp->tp_itemsize != 0
        || tp->tp_getattro != PyObject_GenericGetAttr
        || tp->tp_new != PyBaseObject_Type.tp_new
        || PyType_IsSubtype(tp, &PyType_Type)) {
        return 0;
    }
    if (_PyType_Lookup(tp, st->s_deepcopy) != NULL
        || _PyType_Lookup(tp, st->s_setstate) != NULL
        || _PyType_Lookup(tp, st->s_getnewargs) != NULL
        || _PyType_Lookup(tp, st->s_getnewargs_ex) != NULL
        || _PyType_Lookup(tp, st->s_reduce_ex) != st->object_reduce_ex
        || _PyType_Lookup(tp, st->s_reduce) != st->object_reduce
        || _PyType_Lookup(tp, st->s_getstate) != st->object_getstate) {
        return 0;
    }
    if (!newobj_is_object_new(st, (PyObject *)tp)) {
        return 0;
    }
    descr = _PyType_Lookup(Py_TYPE(tp), st->s_reduce);
    if (descr != NULL && descr != st->object_reduce) {
        return 0;  /* object.__reduce_ex__ compares cls.__reduce__ through the metaclass */
    }
    descr = _PyType_Lookup(tp, st->s_dict);
    if (descr != NULL && (!Py_IS_TYPE(descr, &PyGetSetDescr_Type)
                          || ((PyGetSetDescrObject *)descr)->d_getset->get != st->dict_getter)) {
        return 0;
    }
    return 1;
}

/* PLAN_GETSTATE: is tp a class without instance dicts that takes every default (as
   plan_type_is_plain) except a Python __getstate__ (and any __setstate__)? Then
   every attribute deepcopy and object.__reduce_ex__ look up on an instance is found
   on the class, without running code, except __getstate__, which is called. */
static int
plan_type_has_python_getstate(copy_state *st, PyTypeObject *tp)
{
    PyObject *descr;
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || tp->tp_itemsize != 0
        || tp->tp_getattro != PyObject_GenericGetAttr || type_has_instance_dict(tp)
        || (tp->tp_flags & (Py_TPFLAGS_LIST_SUBCLASS | Py_TPFLAGS_DICT_SUBCLASS))
        || PyType_IsSubtype(tp, &PyType_Type)) {
        return 0;
    }
    descr = _PyType_Lookup(tp, st->s_getstate);
    if (descr == NULL || !PyFunction_Check(descr)
        || _PyType_Lookup(tp, st->s_deepcopy) != NULL
        || _PyType_Lookup(tp, st->s_getnewargs) != NULL
        || _PyType_Lookup(tp, st->s_getnewargs_ex) != NULL
        || _PyType_Lookup(tp, st->s_reduce_ex) != st->object_reduce_ex
        || _PyType_Lookup(tp, st->s_reduce) != st->object_reduce
        || !newobj_is_object_new(st, (PyObject *)tp)) {
        return 0;
    }
    /* object.__reduce_ex__ compares cls.__reduce__ through the metaclass */
    descr = _PyType_Lookup(Py_TYPE(tp), st->s_reduce);
    return descr == NULL || descr == st->object_reduce;
}

/* Fill plan's slot offsets from the type's __slotnames__ list; 1 ok, 0 unusable. */
static int
plan_learn_slots(copy_state *st, PyTypeObject *tp, TypePlan *plan)
{
    PyObject *slotnames = PyDict_GetItemWithError(tp->tp_dict, st->s_slotnames);
    if (slotnames == NULL || !PyList_CheckExact(slotnames)
        || PyList_GET_SIZE(slotnames) > PLAN_MAX_SLOTS) {
        PyErr_Clear();
        return 0;
    }
    plan->slotnames = slotnames;
    plan->nslots = PyList_GET_SIZE(slotnames);
    for (Py_ssize_t i = 0; i < plan->nslots; i++) {
        PyObject *name = PyList_GET_ITEM(slotnames, i);
        PyObject *descr = PyUnicode_CheckExact(name) ? _PyType_Lookup(tp, name) : NULL;
        PyMemberDef *member;
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            return 0;
        }
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != Py_T_OBJECT_EX || (member->flags & Py_READONLY)) {
            return 0;
        }
        plan->names[i] = name;
        plan->offsets[i] = member->offset;
    }
    return 1;
}

/* Do two dicts hold the very same keys and values in the same order? No __eq__ runs. */
static int
dicts_identical(PyObject *a, PyObject *b)
{
    Py_ssize_t pa = 0, pb = 0;
    PyObject *ka, *va, *kb, *vb;
    if (!PyDict_CheckExact(a) || !PyDict_CheckExact(b)
        || PyDict_GET_SIZE(a) != PyDict_GET_SIZE(b)) {
        return 0;
    }
    while (PyDict_Next(a, &pa, &ka, &va)) {
        if (!PyDict_Next(b, &pb, &kb, &vb) || ka != kb || va != vb) {
            return 0;
        }
    }
    return 1;
}

/* Is rv (copyreg.__newobj__, (type(x),), state, None, None), the shape of
   object.__reduce_ex__(4) for a class without __getnewargs(_ex)__? */
static int
rv_is_newobj_of(copy_state *st, PyObject *rv, PyObject *x)
{
    return PyTuple_CheckExact(rv) && PyTuple_GET_SIZE(rv) == 5
           && PyTuple_GET_ITEM(rv, 0) == st->copyreg_newobj
           && PyTuple_GET_ITEM(rv, 3) == Py_None && PyTuple_GET_ITEM(rv, 4) == Py_None
           && PyTuple_CheckExact(PyTuple_GET_ITEM(rv, 1))
           && PyTuple_GET_SIZE(PyTuple_GET_ITEM(rv, 1)) == 1
           && PyTuple_GET_ITEM(PyTuple_GET_ITEM(rv, 1), 0) == (PyObject *)Py_TYPE(x);
}

/* Does rv (a real __reduce_ex__(4) result for x) match what plan predicts? 1/0/-1. */
static int
plan_matches(copy_state *st, const TypePlan *plan, PyObject *x, PyObject *rv)
{
    PyObject *dict, *predicted, *actual;
    int same;
    if (!rv_is_newobj_of(st, rv, x)) {
        return 0;
    }
    dict = instance_dict(x, plan->has_dict);
    if (dict == NULL && PyErr_Occurred()) {
        return -1;
    }
    predicted = plan_state(plan, x, dict);
    Py_XDECREF(dict);
    if (predicted == NULL) {
        return -1;
    }
    actual = PyTuple_GET_ITEM(rv, 2);
    if (PyTuple_CheckExact(predicted) && PyTuple_CheckExact(actual)
        && PyTuple_GET_SIZE(actual) == 2) {
        same = PyTuple_GET_ITEM(predicted, 0) == PyTuple_GET_ITEM(actual, 0)
               && dicts_identical(PyTuple_GET_ITEM(predicted, 1), PyTuple_GET_ITEM(actual, 1));
    }
    else {
        same = predicted == actual;
    }
    Py_DECREF(predicted);
    PyErr_Clear();
    return same;
}

/* For an immutable C type without instance dicts: the C method that
   getattr(x, "__reduce_ex__")(4) ends up running (its own __reduce_ex__, or its own
   __reduce__ through object.__reduce_ex__), so it can be called without binding.
   1 and plan filled, or 0 (never an exception). */
static int
plan_learn_creduce(copy_state *st, PyTypeObject *tp, TypePlan *plan)
{
    PyObject *reduce_ex, *reduce;
    if (!(tp->tp_flags & Py_TPFLAGS_IMMUTABLETYPE) || tp->tp_dictoffset != 0
#if PY_VERSION_HEX >= 0x030B0000
        || (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
#endif
        || tp->tp_getattro != PyObject_GenericGetAttr || Py_TYPE(tp) != &PyType_Type
        || _PyType_Lookup(tp, st->s_deepcopy) != NULL) {
        return 0;
    }
    reduce_ex = _PyType_Lookup(tp, st->s_reduce_ex);
    reduce = _PyType_Lookup(tp, st->s_reduce);
    if (reduce_ex == st->object_reduce_ex && reduce != NULL && reduce != st->object_reduce
        && Py_IS_TYPE(reduce, &PyMethodDescr_Type)) {
        plan->reducer = reduce;
        plan->with_protocol = 0;
    }
    else if (reduce_ex != NULL && reduce_ex != st->object_reduce_ex
             && Py_IS_TYPE(reduce_ex, &PyMethodDescr_Type)) {
        plan->reducer = reduce_ex;
        plan->with_protocol = 1;
    }
    else {
        return 0;
    }
    plan->shallow_ok = _PyType_Lookup(tp, st->s_copy) == NULL;
    return 1;
}

/* Learn (or refuse) a plan for type(x) from its real reduce value rv. Never fails:
   an unusable type simply gets a negative entry. */
static void
plan_learn(copy_state *st, PyObject *x, PyObject *rv)
{
    PyTypeObject *tp = Py_TYPE(x);
    TypePlan *plan = plan_slot(st, tp);
    TypePlan candidate = {0};
    if (!type_tag_valid(tp)) {
        return;
    }
    if (!type_tag_valid(Py_TYPE(tp))) {
        return;
    }
    candidate.type = tp;
    candidate.tag = tp->tp_version_tag;
    candidate.meta_tag = Py_TYPE(tp)->tp_version_tag;
    candidate.shallow_ok = _PyType_Lookup(tp, st->s_copy) == NULL
                           && _PyType_Lookup(Py_TYPE(tp), st->s_copy) == NULL;
    candidate.has_dict = tp->tp_dictoffset != 0
#if PY_VERSION_HEX >= 0x030B0000
                         || (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
#endif
        ;
    if (plan_learn_creduce(st, tp, &candidate)) {
        candidate.kind = PLAN_CREDUCE;
    }
    else if (plan_type_has_python_getstate(st, tp)) {
        candidate.kind = type_tag_valid(tp) && tp->tp_version_tag == candidate.tag
                         && rv_is_newobj_of(st, rv, x) ? PLAN_GETSTATE : PLAN_GENERAL;
    }
    else {
        candidate.kind = plan_type_is_plain(st, tp) && plan_learn_slots(st, tp, &candidate)
                         && type_tag_valid(tp) && tp->tp_version_tag == candidate.tag
                         && plan_matches(st, &candidate, x, rv) == 1
                         ? PLAN_REDUCE : PLAN_GENERAL;
    }
    PyErr_Clear();
    *plan = candidate;
}

/* Is the class's __slotnames__ list (which may be changed in place) still the one the
   plan learnt? */
static inline int
plan_slotnames_unchanged(const TypePlan *plan)
{
    if (plan->nslots == 0) {
        return 1;
    }
    if (PyList_GET_SIZE(plan->slotnames) != plan->nslots) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < plan->nslots; i++) {
        if (PyList_GET_ITEM(plan->slotnames, i) != plan->names[i]) {
            return 0;
        }
    }
    return 1;
}

/* copyreg.dispatch_table.get(type) for a planned type (borrowed, NULL if absent or on
   error), looked up again only when the table changed since the type was last missing. */
static inline PyObject *
plan_reductor(copy_state *st, TypePlan *plan)
{
    uint64_t version = registry_version(st, st->dispatch_table);
    PyObject *reductor;
    if (plan->table_version == version && version != 0) {
        return NULL;
    }
    reductor = PyDict_GetItemWithError(st->dispatch_table, (PyObject *)plan->type);
    if (reductor == NULL && !PyErr_Occurred()) {
        plan->table_version = version;
    }
    return reductor;
}

/* copyreg.dispatch_table.get(tp) (borrowed, NULL if absent or on error), through the
   type's current plan of any kind (see plan_reductor) when hashing tp runs no code. */
static PyObject *
dispatch_table_get(copy_state *st, PyTypeObject *tp)
{
    TypePlan *plan = plan_slot(st, tp);
    if (plan->type == tp && plan->tag == tp->tp_version_tag && type_tag_valid(tp)
        && Py_TYPE(tp)->tp_hash == PyType_Type.tp_hash) {
        return plan_reductor(st, plan);
    }
    return PyDict_GetItemWithError(st->dispatch_table, (PyObject *)tp);
}

/* The usable plan for tp, or NULL (unknown or refused; never an exception). */
static inline TypePlan *
plan_find(copy_state *st, PyTypeObject *tp, int *known)
{
    TypePlan *plan = plan_slot(st, tp);
    *known = plan->type == tp && plan->tag == tp->tp_version_tag && type_tag_valid(tp)
             && ((plan->kind != PLAN_REDUCE && plan->kind != PLAN_GETSTATE)
                 || plan->meta_tag == Py_TYPE(tp)->tp_version_tag);
    if (!*known || plan->kind == PLAN_GENERAL) {
        return NULL;
    }
    if (!plan_slotnames_unchanged(plan)) {
        *known = 0;
        return NULL;
    }
    return plan;
}

/* Copy the parts of a plan in use (its slot arrays only as far as they are filled). */
static inline void
plan_snapshot(TypePlan *dst, const TypePlan *src)
{
    memcpy(dst, src, offsetof(TypePlan, names));
    memcpy(dst->names, src->names, (size_t)src->nslots * sizeof(PyObject *));
    memcpy(dst->offsets, src->offsets, (size_t)src->nslots * sizeof(Py_ssize_t));
}

/* Store the copied slot values into y's slots as setattr would; 0 or -1. The slot
   dict is iterated with the checks of the dict iterator. */
static int
plan_set_slots(const TypePlan *plan, PyObject *y, PyObject *slots)
{
    Py_ssize_t pos = 0, used = PyDict_GET_SIZE(slots), remaining = used, j = 0;
    PyObject *key, *value;
    for (;;) {
        int rc = dict_iter_next(slots, &pos, used, &remaining, &key, &value);
        if (rc <= 0) {
            return rc;
        }
        for (Py_ssize_t tries = 0; tries < plan->nslots && plan->names[j] != key; tries++) {
            j = (j + 1) % plan->nslots;
        }
        if (plan->names[j] == key && Py_TYPE(y)->tp_setattro == PyObject_GenericSetAttr) {
            PyObject **slot = (PyObject **)((char *)y + plan->offsets[j]);
            PyObject *old = *slot;
            *slot = Py_NewRef(value);
            Py_XDECREF(old);
        }
        else if (PyObject_SetAttr(y, key, value) < 0) {
            return -1;
        }
    }
}

/* Apply the copied plan state to the fresh y when nothing can have changed since the
   plan was checked (private memo, same type version): y has no __setstate__ and an
   empty __dict__. 1 done, 0 not applicable (use set_state), -1 error. */
static int
plan_apply_state(DeepCtx *c, const TypePlan *plan, PyObject *y, PyObject *state,
                 PyObject *dict_original)
{
    PyTypeObject *tp = Py_TYPE(y);
    PyObject *dictstate = state, *slots = NULL, *dict;
    int rc;
    /* the cache entry may have been relearnt for another type meanwhile */
    if (c->table == NULL || plan->type != tp || !type_tag_valid(tp)
        || tp->tp_version_tag != plan->tag) {
        return 0;
    }
    if (PyTuple_CheckExact(state) && PyTuple_GET_SIZE(state) == 2) {
        dictstate = PyTuple_GET_ITEM(state, 0);
        slots = PyTuple_GET_ITEM(state, 1);
        if (!PyDict_CheckExact(slots)) {
            return 0;
        }
    }
    if (dictstate != Py_None) {
        if (!PyDict_CheckExact(dictstate) || !plan->has_dict) {
            return 0;
        }
        dict = PyObject_GenericGetDict(y, NULL);
        if (dict == NULL) {
            return -1;
        }
        /* the update clones the source's tracking into y's dict: track it first */
        memotable_retrack_key(c->table, dict_original);
        rc = PyDict_Update(dict, dictstate);
        Py_DECREF(dict);
        if (rc < 0) {
            return -1;
        }
    }
    if (slots != NULL && plan_set_slots(plan, y, slots) < 0) {
        return -1;
    }
    return 1;
}

/* Deep copy of a plain instance by plan: exactly reduce + _reconstruct, without the
   Python calls. Returns a new reference, NULL with exception set, or NULL without an
   exception when x itself does not fit the plan (the caller takes the general path). */
static NO_INLINE PyObject *
deepcopy_by_plan(DeepCtx *c, const TypePlan *cached, PyObject *x)
{
    /* a private copy: Python code (a key's __eq__ in the instance dict, hooks while
       the state is copied) may relearn the cache entry under our feet */
    TypePlan local, *plan = &local;
    copy_state *st = c->st;
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *dict = NULL, *state = NULL, *state_copy = NULL, *y = NULL;
    int overrides;
    plan_snapshot(&local, cached);
    if (!plan_slotnames_unchanged(plan)) {
        return NULL;
    }
    dict = instance_dict(x, plan->has_dict);
    if (dict == NULL && PyErr_Occurred()) {
        return NULL;
    }
    /* the state first: the instance dict check below may run a key's __eq__ */
    state = plan_state(plan, x, dict);
    if (state == NULL) {
        goto error;
    }
    overrides = instance_dict_overrides(st, dict);
    if (overrides != 0) {
        Py_XDECREF(dict);
        Py_DECREF(state);
        return NULL;  /* error set if overrides < 0 */
    }
    y = tp->tp_new(tp, st->empty_tuple, NULL);
    if (y == NULL || memo_set(c, x, y) < 0) {
        goto error;
    }
    memotable_untrack(c->table, c->table->used - 1);
    if (state != Py_None) {
        int applied;
        state_copy = deepcopy_state(c, state);
        if (state_copy == NULL) {
            call_note(st, "_note_state_failure", state, NULL);
            goto error;
        }
        applied = plan_apply_state(c, plan, y, state_copy, dict);
        if (applied == 0) {
            applied = memo_settle(c) < 0 || set_state(st, y, state_copy) < 0 ? -1 : 1;
        }
        if (applied < 0) {
            goto error;
        }
    }
    goto done;
error:
    Py_CLEAR(y);
done:
    Py_XDECREF(dict);
    Py_XDECREF(state);
    Py_XDECREF(state_copy);
    return y;
}

/* Deep copy of x by plan PLAN_GETSTATE: reduce + _reconstruct without the reduce
   value. Its class answers every lookup (no instance dict), so what runs is
   x.__getstate__(), y = copyreg.__newobj__(cls), memo[id(x)] = y, and the copied
   state handed to set_state. New reference, NULL with exception set, or NULL without
   one when the class no longer fits (the caller takes the general path). */
static NO_INLINE PyObject *
deepcopy_by_getstate(DeepCtx *c, PyObject *x)
{
    copy_state *st = c->st;
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *getstate, *state, *state_copy = NULL, *y = NULL;
    getstate = _PyType_Lookup(tp, st->s_getstate);
    if (getstate == NULL || !PyFunction_Check(getstate)) {
        return NULL;
    }
    Py_INCREF(getstate);
    state = PyObject_CallOneArg(getstate, x);
    Py_DECREF(getstate);
    if (state == NULL) {
        return NULL;
    }
    /* __getstate__ may have changed the class: cls.__new__ is looked up only now */
    if (newobj_is_object_new(st, (PyObject *)tp)) {
        y = tp->tp_new(tp, st->empty_tuple, NULL);
    }
    else {
        PyObject *args = PyTuple_Pack(1, (PyObject *)tp);
        y = args != NULL ? call_constructor(st, st->copyreg_newobj, args) : NULL;
        Py_XDECREF(args);
    }
    if (y == NULL || memo_set(c, x, y) < 0) {
        goto error;
    }
    if (state != Py_None) {
        state_copy = deepcopy_state(c, state);
        if (state_copy == NULL) {
            call_note(st, "_note_state_failure", state, NULL);
            goto error;
        }
        if (memo_settle(c) < 0 || set_state(st, y, state_copy) < 0) {
            goto error;
        }
    }
    goto done;
error:
    Py_CLEAR(y);
done:
    Py_DECREF(state);
    Py_XDECREF(state_copy);
    return y;
}

/* Is f a function of uuid.py (file), named qualname there? */
static int
uuid_function(PyObject *f, PyObject *file, const char *qualname)
{
    return f != NULL && PyFunction_Check(f)
           && PyUnicode_Compare(((PyCodeObject *)PyFunction_GET_CODE(f))->co_filename, file) == 0
           && PyUnicode_Check(((PyFunctionObject *)f)->func_qualname)
           && PyUnicode_CompareWithASCIIString(((PyFunctionObject *)f)->func_qualname, qualname)
                  == 0;
}

/* The offset of a writable object slot a member descriptor d describes, or -1. */
static Py_ssize_t
uuid_slot(PyObject *d)
{
    if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)d)->d_member;
    return member->type == Py_T_OBJECT_EX && !(member->flags & Py_READONLY) ? member->offset
                                                                             : -1;
}

/* Is tp uuid.UUID as uuid.py defines it: its __getstate__ and __setstate__ uuid.py's own
   (on 3.10-3.15 the same code: the state is {'int': ...} plus the is_safe value unless
   unknown, and __setstate__ sets both slots back, is_safe as the SafeUUID member of that
   value), int and is_safe plain slots? Learnt into st for tp's current version tag; never
   sets an exception. */
static int
uuid_learn(copy_state *st, PyTypeObject *tp)
{
    PyObject *module, *cls = NULL, *safe = NULL, *file = NULL;
    Py_ssize_t int_offset, safe_offset;
    int ok = 0;
    if (strcmp(tp->tp_name, "UUID") != 0 || !type_tag_valid(tp)) {
        return 0;
    }
    module = PyImport_GetModule(st->s_uuid);
    if (module == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (lookup_attr(module, st->s_UUID, &cls) <= 0 || cls != (PyObject *)tp
        || lookup_attr(module, st->s_SafeUUID, &safe) <= 0 || !PyType_Check(safe)
        || lookup_attr(module, st->s_file, &file) <= 0 || !PyUnicode_Check(file)) {
        goto done;
    }
    int_offset = uuid_slot(_PyType_Lookup(tp, st->s_int));
    safe_offset = uuid_slot(_PyType_Lookup(tp, st->s_is_safe));
    if (int_offset < 0 || safe_offset < 0
        || !uuid_function(_PyType_Lookup(tp, st->s_getstate), file, "UUID.__getstate__")
        || !uuid_function(_PyType_Lookup(tp, st->s_setstate), file, "UUID.__setstate__")) {
        goto done;
    }
    Py_XSETREF(st->uuid_type, Py_NewRef(cls));
    Py_XSETREF(st->uuid_safe_type, Py_NewRef(safe));
    st->uuid_int_offset = int_offset;
    st->uuid_safe_offset = safe_offset;
    st->uuid_tag = tp->tp_version_tag;
    ok = 1;
done:
    PyErr_Clear();
    Py_DECREF(module);
    Py_XDECREF(cls);
    Py_XDECREF(safe);
    Py_XDECREF(file);
    return ok;
}

/* deepcopy of a uuid.UUID (PLAN_GETSTATE) with a private memo: what uuid.py's
   __getstate__, the copy of that state and __setstate__ make -- a new UUID holding the
   same int and the same SafeUUID member -- without the two Python calls or the state
   dict, which nothing can see while the memo is private. Memoised. New reference; NULL
   with exception set; NULL without one when x is not such a UUID (the general path). */
static PyObject *
deepcopy_uuid(DeepCtx *c, PyObject *x)
{
    copy_state *st = c->st;
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *number, *safe, *y;
    if ((PyObject *)tp != st->uuid_type || tp->tp_version_tag != st->uuid_tag
        || st->uuid_tag == 0 || !type_tag_valid(tp)) {
        if (!uuid_learn(st, tp)) {
            return NULL;
        }
    }
    number = *(PyObject **)((char *)x + st->uuid_int_offset);
    safe = *(PyObject **)((char *)x + st->uuid_safe_offset);
    if (number == NULL || !PyLong_CheckExact(number) || safe == NULL
        || (PyObject *)Py_TYPE(safe) != st->uuid_safe_type
        || !newobj_is_object_new(st, (PyObject *)tp)) {
        return NULL;
    }
    y = tp->tp_new(tp, st->empty_tuple, NULL);
    if (y == NULL || memo_set(c, x, y) < 0) {
        Py_XDECREF(y);
        return NULL;
    }
    *(PyObject **)((char *)y + st->uuid_int_offset) = Py_NewRef(number);
    *(PyObject **)((char *)y + st->uuid_safe_offset) = Py_NewRef(safe);
    return y;
}

/* Shallow copy of a plain instance by plan: reduce + _reconstruct(x, None, ...) is
   y = object.__new__(cls); y.__dict__.update(x.__dict__); setattr for each slot.
   New reference, NULL with exception set, or NULL without one when x does not fit. */
static PyObject *
copy_by_plan(copy_state *st, const TypePlan *cached, PyObject *x)
{
    /* a private copy: a key's __eq__ in the instance dict check may run Python code
       that relearns the cache entry */
    TypePlan local, *plan = &local;
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *dict = NULL, *y = NULL, *ydict;
    int overrides;
    plan_snapshot(&local, cached);
    if (!plan_slotnames_unchanged(plan)) {
        return NULL;
    }
    dict = instance_dict(x, plan->has_dict);
    if (dict == NULL && PyErr_Occurred()) {
        return NULL;
    }
    overrides = instance_dict_overrides(st, dict);
    if (overrides != 0) {
        Py_XDECREF(dict);
        return NULL;  /* error set if overrides < 0 */
    }
    y = tp->tp_new(tp, st->empty_tuple, NULL);
    if (y == NULL) {
        goto error;
    }
#if PY_VERSION_HEX >= 0x030B0000
    if (dict != NULL && PyDict_GET_SIZE(dict) > 0) {
#else
    if (dict != NULL) {
#endif
        ydict = PyObject_GenericGetDict(y, NULL);
        if (ydict == NULL || PyDict_Update(ydict, dict) < 0) {
            Py_XDECREF(ydict);
            goto error;
        }
        Py_DECREF(ydict);
    }
    for (Py_ssize_t i = 0; i < plan->nslots; i++) {
        PyObject *value = *(PyObject **)((char *)x + plan->offsets[i]);
        if (value == NULL) {
            continue;
        }
        if (tp->tp_setattro == PyObject_GenericSetAttr) {
            PyObject **slot = (PyObject **)((char *)y + plan->offsets[i]);
            Py_XSETREF(*slot, Py_NewRef(value));
        }
        else if (PyObject_SetAttr(y, plan->names[i], value) < 0) {
            goto error;
        }
    }
    Py_XDECREF(dict);
    return y;
error:
    Py_XDECREF(dict);
    Py_XDECREF(y);
    return NULL;
}

/* ======================================================================== */
/* Deep copy: containers                                                    */
/* ======================================================================== */

/* Append item to y, stealing it; uses the room a presized list keeps. 0 or -1. */
static inline int
list_append_steal(PyObject *y, PyObject *item)
{
    Py_ssize_t size = Py_SIZE(y);
    int rc;
    if (size < ((PyListObject *)y)->allocated) {
        PyList_SET_ITEM(y, size, item);
        Py_SET_SIZE(y, size + 1);
        return 0;
    }
    rc = PyList_Append(y, item);
    Py_DECREF(item);
    return rc;
}

/* Py_INCREF(obj) n times in one step (debug builds count every reference, and
   free-threaded builds split the count: there, one by one). */
static inline void
incref_n(PyObject *obj, Py_ssize_t n)
{
#if defined(Py_REF_DEBUG) || defined(Py_GIL_DISABLED)
    while (n-- > 0) {
        Py_INCREF(obj);
    }
#else
    Py_SET_REFCNT(obj, Py_REFCNT(obj) + n);  /* no effect on an immortal object */
#endif
}

/* How many items of the exact list x from start on (at least 1, at most limit) are
   the object at start. */
static inline Py_ssize_t
list_run_length(PyObject *x, Py_ssize_t start, Py_ssize_t limit)
{
    PyObject *first = PyList_GET_ITEM(x, start);
    Py_ssize_t n = 1, end = PyList_GET_SIZE(x) - start;
    if (limit < end) {
        end = limit;
    }
    while (n < end && PyList_GET_ITEM(x, start + n) == first) {
        n++;
    }
    return n;
}

/* Are all items of the exact list or tuple atoms? A list of atoms deep-copies as a plain
   slice; a tuple of atoms is its own deep copy. Reads the item array directly (no call). */
static inline int
sequence_is_leaf(PyObject *x)
{
    PyObject **items = PySequence_Fast_ITEMS(x);
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(x); i++) {
        if (!is_deep_atomic(Py_TYPE(items[i]))) {
            return 0;
        }
    }
    return 1;
}

/* The deep copy of an exact list of atoms, made in one pass over its items (each
   object is touched once, where a test and then a slice touched it twice): a new
   reference; NULL without an exception when an item is not an atom (the first is tested
   before anything is allocated), NULL with MemoryError set. */
static PyObject *
list_copy_of_atoms(PyObject *x)
{
    Py_ssize_t n = PyList_GET_SIZE(x);
    PyObject *y, **items, **copies;
    if (n == 0 || !is_deep_atomic(Py_TYPE(PyList_GET_ITEM(x, 0)))) {
        return n == 0 ? PyList_New(0) : NULL;
    }
    y = PyList_New(n);
    if (y == NULL) {
        return NULL;
    }
    if (PyList_GET_SIZE(x) != n) {  /* a collection before 3.12 may run code that resizes x */
        Py_DECREF(y);
        return NULL;
    }
    items = ((PyListObject *)x)->ob_item;
    copies = ((PyListObject *)y)->ob_item;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_deep_atomic(Py_TYPE(items[i]))) {
            Py_DECREF(y);  /* its items from i on are still NULL */
            return NULL;
        }
        copies[i] = Py_NewRef(items[i]);
    }
    return y;
}

/* Can inserting this dict key be skipped without anyone noticing? Its hash and
   equality are C code without effects: every atom but a weak reference (which hashes
   and compares its referent). */
static inline int
is_plain_key(PyTypeObject *tp)
{
    return is_deep_atomic(tp) && tp != &_PyWeakref_RefType;
}

/* Would inserting obj make a dict tracked by the collector (as dict insertion decides:
   a tuple only if it is tracked itself)? */
static inline int
may_be_tracked(PyObject *obj)
{
    return PyObject_IS_GC(obj) && (!PyTuple_CheckExact(obj) || PyObject_GC_IsTracked(obj));
}

/* d[key] = value (value stolen) for a key present in dict d, at entry i if d is a
   clone that copied its original's entry array (PyDict_Copy mostly does; when it
   compacted instead, the key found elsewhere, or i is -1, sends this to PyDict_SetItem).
   In place, the value is replaced as PyDict_SetItem would, without the lookup: d is a
   copy under construction that no code but this walk can see (no watchers, no version
   to keep). *v holds d's entries when *viewed (dictview_get's answer for d), and still
   does after the call: a caller replacing many values locates them once. d is tracked
   as inserting value would track it, unless track is 0 (the caller tracks d once, after
   all its values). 0, or -1 with exception set. */
static inline int
dict_replace_viewed(PyObject *d, DictView *v, int *viewed, Py_ssize_t i, PyObject *key,
                    PyObject *value, int track)
{
    PyObject **slot, *old;
    int rc;
    if (*viewed && (size_t)i < (size_t)v->count && v->first[i * v->stride] == key) {
        slot = v->first + i * v->stride + 1;
        old = *slot;
        *slot = value;
        if (track && !PyObject_GC_IsTracked(d) && may_be_tracked(value)) {
            PyObject_GC_Track(d);
        }
        Py_DECREF(old);
        return 0;
    }
    rc = PyDict_SetItem(d, key, value);
    Py_DECREF(value);
    *viewed = rc == 0 && dictview_get(d, v);  /* an insertion may have moved the table */
    return rc;
}

/* dict_replace_viewed for one value. */
static inline int
dict_replace_at(PyObject *d, Py_ssize_t i, PyObject *key, PyObject *value)
{
    DictView v;  /* read only when viewed */
    int viewed = dictview_get(d, &v);
    return dict_replace_viewed(d, &v, &viewed, i, key, value, 1);
}

/* 3.14+: watch x while a frame's copy is a clone of it (clone_source_version); 0, or
   -1 with exception set. Before 3.14 the version tag needs nothing. */
static inline int
clone_watch(DeepCtx *c, PyObject *x)
{
#if WATCH_DICTS
    if (c->st->clone_watch_bit != 0) {  /* what PyDict_Watch would do, without its call */
        ((PyDictObject *)x)->_ma_watcher_tag |= c->st->clone_watch_bit;
        return 0;
    }
    return PyDict_Watch(c->st->clone_watcher, x);
#else
    (void)c, (void)x;
    return 0;
#endif
}

/* Stop watching x (clone_watch); never fails for a dict it watched. */
static inline void
clone_unwatch(DeepCtx *c, PyObject *x)
{
#if WATCH_DICTS
    if (c->st->clone_watch_bit != 0) {
        ((PyDictObject *)x)->_ma_watcher_tag &= ~c->st->clone_watch_bit;
        return;
    }
    if (PyDict_Unwatch(c->st->clone_watcher, x) < 0) {
        PyErr_Clear();
    }
#else
    (void)c, (void)x;
#endif
}

/* dict_clone's clone y of x, left in c->clone for x's frame: the item at PyDict_Next
   position pos is the first not checked, after `checked` checked ones. */
static inline void
dict_clone_pending(DeepCtx *c, PyObject *x, PyObject *y, Py_ssize_t pos, Py_ssize_t checked)
{
#if WATCH_DICTS
    if (c->st->clone_watcher < 0) {
        Py_DECREF(y);  /* x could change unseen: walked item by item instead */
        return;
    }
#endif
    c->clone_of = x;
    c->clone = y;
    c->clone_pos = pos;
    c->clone_checked = checked;
}

/* The deep copy of an exact dict x with a private memo, when its items are atoms and
   its keys plain (is_plain_key): a clone of x (new reference). Otherwise NULL: with an
   exception set on failure; else, when the first items checked allow it, with the
   clone left in c->clone for x's frame to carry on from (frame_begin, frame_next:
   values that are not atoms are replaced by their copies as they come, see
   frame_declone), or with no clone, for an item-by-item walk. A split table (an
   instance's attribute dict) is always walked. */
static PyObject *
dict_clone(DeepCtx *c, PyObject *x)
{
    Py_ssize_t pos = 0, before = 0, checked = 0;
    PyObject *key, *value, *y;
    DictView v;
    if (((PyDictObject *)x)->ma_values != NULL) {
        return NULL;
    }
    y = PyDict_Copy(x);
    if (y == NULL) {
        return NULL;
    }
    if (dictview_get(x, &v)) {
        /* the walk below, over the entries read directly; in a table of str keys
           every key is plain */
        for (Py_ssize_t i = 0; i < v.count; i++) {
            PyObject **entry = v.first + i * v.stride;
            if (entry[1] == NULL) {
                continue;  /* deleted */
            }
            if (!v.str_keys && !is_plain_key(Py_TYPE(entry[0]))) {
                Py_DECREF(y);  /* nobody saw it; x holds all it holds */
                return NULL;
            }
            if (!is_deep_atomic(Py_TYPE(entry[1]))) {
                dict_clone_pending(c, x, y, i, checked);
                return NULL;
            }
            checked++;
        }
        return y;
    }
    while (dict_next(x, &pos, &key, &value)) {
        if (!is_plain_key(Py_TYPE(key))) {
            Py_DECREF(y);
            return NULL;
        }
        if (!is_deep_atomic(Py_TYPE(value))) {
            dict_clone_pending(c, x, y, before, checked);
            return NULL;
        }
        before = pos;
        checked++;
    }
    return y;
}

/* Lists, dicts, tuples and exact sets/frozensets nested in each other are walked with
   an explicit stack of frames, one per container being copied, not with C recursion:
   nesting depth costs heap, not C stack. Each frame does what _deepcopy_list,
   _deepcopy_dict or _deepcopy_tuple does for its container, or for a set what
   set.__reduce__ + _reconstruct do (its one part is the temporary list(x), whose copy
   goes to the set's constructor); other objects inside are copied by
   deepcopy_object (which may start a walk of its own, e.g. for an instance's state). */

typedef struct {
    PyObject *x;            /* the original container (strong) */
    PyObject *y;            /* its copy so far (strong; a tuple's stays NULL while every
                               part so far is its own copy; a set's is the copy of its
                               temporary list, once made) */
    PyTypeObject *tp;       /* list, dict, tuple, set or frozenset */
    PyObject *child;        /* the part being copied (strong), for the path note */
    Py_ssize_t i;           /* list/tuple: index of the next part; dict: iteration pos */
    Py_ssize_t used;        /* dict: size when iteration began (the iterator's check) */
    Py_ssize_t remaining;   /* dict: items still expected */
    Py_ssize_t mark;        /* dict: its memo entry; tuple: memo size before its parts */
    MemoTable *table;       /* the private memo when the frame began, or NULL */
    PyObject *key, *value;  /* dict: the current item (strong) */
    PyObject *value_copy;   /* dict: the value's copy while the key is copied (strong) */
    PyObject *items;        /* set: the temporary list(x) (strong) */
    int cloned;             /* dict: y began as a clone of x (see frame_declone) */
    uint64_t version;       /* dict, cloned: x's version tag when cloned */
} Frame;

#define FRAMES_INLINE 4  /* keep the C frame small: walks nest through instances */

typedef struct FrameStack {
    Frame *frames;
    Py_ssize_t depth, cap;
    struct FrameStack *outer;  /* the walk this one runs inside (through an instance) */
    Frame inline_frames[FRAMES_INLINE];
} FrameStack;

/* Zero every field of a frame. Field by field, not memset: for a struct this size
   compilers emit `rep stos`, whose start-up cost was a tenth of a small copy's time. */
static inline void
frame_clear(Frame *f)
{
    f->x = f->y = f->child = NULL;
    f->tp = NULL;
    f->i = f->used = f->remaining = f->mark = 0;
    f->table = NULL;
    f->key = f->value = f->value_copy = f->items = NULL;
    f->cloned = 0;
    f->version = 0;
}

/* A new zeroed frame on top of the stack, or NULL with MemoryError set. */
static Frame *
frames_push(FrameStack *stack)
{
    Frame *frame;
    if (stack->depth == stack->cap) {
        Py_ssize_t cap = stack->cap * 2;
        Frame *frames = stack->frames == stack->inline_frames
                            ? PyMem_Malloc((size_t)cap * sizeof(Frame))
                            : PyMem_Realloc(stack->frames, (size_t)cap * sizeof(Frame));
        if (frames == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        if (stack->frames == stack->inline_frames) {
            memcpy(frames, stack->inline_frames, sizeof(stack->inline_frames));
        }
        stack->frames = frames;
        stack->cap = cap;
    }
    frame = &stack->frames[stack->depth++];
    frame_clear(frame);
    return frame;
}

/* Release a frame's references. */
static void
frame_release(DeepCtx *c, Frame *f)
{
    if (f->cloned) {
        f->cloned = 0;
        c->cloned--;
        clone_unwatch(c, f->x);
    }
    Py_CLEAR(f->x);
    Py_CLEAR(f->y);
    Py_CLEAR(f->child);
    Py_CLEAR(f->key);
    Py_CLEAR(f->value);
    Py_CLEAR(f->value_copy);
    Py_CLEAR(f->items);
}

/* Is tp set or frozenset with nothing registered for it in copy._deepcopy_dispatch or
   copyreg.dispatch_table, so that the stdlib copies its instances through
   set.__reduce__ (no instance attributes, no __deepcopy__)? 1, 0, or -1 with
   exception set. */
static int
set_walkable(copy_state *st, PyTypeObject *tp)
{
    if (tp != &PySet_Type && tp != &PyFrozenSet_Type) {
        return 0;
    }
    if (registry_lookup(st, st->stdlib_deep_dispatch, &st->deep_registry, 1, tp) != NULL) {
        return 0;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    if (PyDict_GetItemWithError(st->dispatch_table, (PyObject *)tp) != NULL) {
        return 0;
    }
    return PyErr_Occurred() ? -1 : 1;
}

/* Begin copying container x (list and dict memoised first, as the stdlib does);
   items is list(x) for a set (stolen), else NULL. 0, or -1 with exception set. */
static int
frame_begin(DeepCtx *c, Frame *f, PyObject *x, PyObject *items)
{
    PyObject *clone = c->clone;  /* dict_clone's, just made for x */
    c->clone = NULL;
    f->x = Py_NewRef(x);
    f->tp = Py_TYPE(x);
    f->table = c->table;
    f->items = items;
    if (f->tp != &PyDict_Type) {
        Py_CLEAR(clone);
    }
    if (f->tp == &PySet_Type || f->tp == &PyFrozenSet_Type) {
        return 0;  /* memoised when constructed, as _reconstruct does */
    }
    if (f->tp == &PyTuple_Type) {
        f->mark = c->table != NULL ? c->table->used : -1;
        return 0;
    }
    if (f->tp == &PyList_Type) {
        f->y = PyList_New(PyList_GET_SIZE(x));
        if (f->y == NULL) {
            return -1;
        }
        Py_SET_SIZE(f->y, 0);  /* room for every item, none there yet: a valid list */
    }
    else {
        f->used = f->remaining = PyDict_GET_SIZE(x);
        f->mark = c->table != NULL ? c->table->used : -1;
        if (clone != NULL && c->clone_of == x && c->table != NULL) {
            /* carry on from where dict_clone stopped */
            f->y = clone;
            f->i = c->clone_pos;
            f->remaining -= c->clone_checked;
            if (clone_watch(c, x) < 0) {
                return -1;  /* the frame owns the clone: released with it */
            }
            f->cloned = 1;
            f->version = clone_source_version(x);
            c->cloned++;
        }
        else {
            /* room for every item at once (no resizes on the way) */
            Py_XDECREF(clone);
            f->y = f->used > 5 ? _PyDict_NewPresized(f->used) : PyDict_New();
            if (f->y == NULL) {
                return -1;
            }
        }
    }
    if (memo_set_new(c, x, f->y) < 0) {  /* copy_part or deepcopy_fresh: not in the memo */
        return -1;
    }
    if (f->tp == &PyList_Type && c->table != NULL) {
        memotable_untrack(c->table, c->table->used - 1);
    }
    return 0;
}

/* A dict copy begun as a clone of x (dict_clone) holds, beyond the items copied so
   far, x's remaining items with their original values, and keys not checked yet.
   Nothing but this walk can see that while the memo is private and no foreign code
   runs. Before foreign code runs (memo_settle), before the memo is shown
   (memo_materialize), when x changed since it was cloned, and when a key turns out not
   to be a plain atom, the copy is brought to what the stdlib's would hold: its first
   `copied` items, in order. It is emptied and they are put back, which hashes only
   plain keys (never calling code) and leaves later insertions in the stdlib's order.
   0, or -1 with MemoryError set. */
static COLD int
frame_declone(DeepCtx *c, Frame *f, Py_ssize_t copied)
{
    Py_ssize_t pos = 0, n = 0;
    PyObject *key, *value, **saved = NULL;
    int rc = 0;
    f->cloned = 0;
    c->cloned--;
    clone_unwatch(c, f->x);
    if (copied > 0) {
        saved = PyMem_Malloc((size_t)copied * 2 * sizeof(PyObject *));
        if (saved == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        while (n < copied && PyDict_Next(f->y, &pos, &key, &value)) {
            saved[2 * n] = Py_NewRef(key);
            saved[2 * n + 1] = Py_NewRef(value);
            n++;
        }
    }
    PyDict_Clear(f->y);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (rc == 0 && PyDict_SetItem(f->y, saved[2 * i], saved[2 * i + 1]) < 0) {
            rc = -1;
        }
        Py_DECREF(saved[2 * i]);
        Py_DECREF(saved[2 * i + 1]);
    }
    PyMem_Free(saved);
    return rc;
}

/* Items of a dict frame's copy that are complete: the ones fetched, less the one in
   progress. */
static inline Py_ssize_t
frame_items_copied(const Frame *f)
{
    return f->used - f->remaining - (f->key != NULL);
}

/* frame_declone every cloned frame of the walks in progress; 0 or -1. Frames only
   stop being clones, so the ones left are among those pushed since the last call:
   searching from the innermost walk's top stops after as many frames as were pushed
   since. */
static COLD int
frames_declone(DeepCtx *c)
{
    for (FrameStack *stack = c->walks; stack != NULL && c->cloned > 0; stack = stack->outer) {
        for (Py_ssize_t d = stack->depth - 1; d >= 0 && c->cloned > 0; d--) {
            Frame *f = &stack->frames[d];
            if (f->cloned && frame_declone(c, f, frame_items_copied(f)) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Is this part an atom that a private memo lets go straight into the copy? */
#define INLINE_ATOM(c, tp) \
    (ATOM_SKIPS_MEMO(c) && (tp) != &PyList_Type && (tp) != &PyDict_Type \
     && (tp) != &PyTuple_Type && is_deep_atomic(tp))

/* In a list walk, the item at f->i has copy as its copy (an atom, or a memo hit):
   append it, and the same copy for every next item that is the same object. Nothing
   runs in between, so each would get the same answer, and [shared] * n costs one
   memo lookup, not n. Advances f->i. 0 or -1. */
static inline int
list_append_copies(Frame *f, PyObject *copy)
{
    Py_ssize_t size = Py_SIZE(f->y);
    Py_ssize_t room = ((PyListObject *)f->y)->allocated - size, n, k;
    if (room <= 0) {  /* x grew while a hook ran: past the presized room */
        f->i++;
        return list_append_steal(f->y, Py_NewRef(copy));
    }
    n = list_run_length(f->x, f->i, room);
    /* the references in one step, then the stores: a reference count written between
       them could be the list's own fields, as far as the compiler knows, so each store
       would wait to reload them (1.4x slower on [[1]] * 100) */
    incref_n(copy, n);
    for (k = 0; k < n; k++) {
        PyList_SET_ITEM(f->y, size + k, copy);
    }
    Py_SET_SIZE(f->y, size + n);
    f->i += n;
    return 0;
}

/* The next part of the frame's container that needs copying (borrowed) in *part: 1,
   or 0 when the container is done, -1 with exception set (a dict changed while
   iterated, or memory). Atoms met on the way go straight into the copy while the memo
   is private (no lookup can find them, no code can run). */
#if defined(__GNUC__) && !defined(__clang__)
/* view is read only when viewed, which dictview_get filled it for; GCC 16 cannot see
   that. Zeroing it instead would cost every resumption of a walk four stores. */
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
static int
frame_next(DeepCtx *c, Frame *f, PyObject **part)
{
    DictView view;
    int viewed;
    /* (a mirrored memo is read back by copy_part after a part whose copy may have run
       Python code, and by every memo operation) */
    if (f->tp == &PyList_Type) {
        while (f->i < PyList_GET_SIZE(f->x)) {
            PyObject *item = PyList_GET_ITEM(f->x, f->i), *copy = item;
            if (!INLINE_ATOM(c, Py_TYPE(item))) {
                /* a shared part already copied: the memo's copy, no frame needed */
                int r = c->table != NULL && Py_REFCNT(item) > 1
                            ? table_find(c, item, &copy) : 0;
                if (r < 0) {
                    return -1;
                }
                if (r == 0 || copy == item) {
                    *part = item;
                    return 1;
                }
            }
            if (list_append_copies(f, copy) < 0) {
                return -1;
            }
        }
        return 0;
    }
    if (f->tp == &PyTuple_Type) {
        while (f->i < PyTuple_GET_SIZE(f->x)) {
            PyObject *item = PyTuple_GET_ITEM(f->x, f->i);
            if (!INLINE_ATOM(c, Py_TYPE(item))) {
                *part = item;
                return 1;
            }
            if (f->y != NULL) {
                PyTuple_SET_ITEM(f->y, f->i, Py_NewRef(item));
            }
            f->i++;
        }
        return 0;
    }
    if (f->items != NULL) {  /* a set: its temporary list, then done */
        *part = f->items;
        return f->y == NULL;
    }
    if (f->value_copy != NULL) {  /* the value is copied: now the key */
        *part = f->key;
        return 1;
    }
    if (f->cloned && clone_source_version(f->x) != f->version
        && frame_declone(c, f, frame_items_copied(f)) < 0) {
        return -1;  /* x changed since cloned: the clone's rest is stale */
    }
    /* While the copy is a clone, x is what it was when cloned (checked just above, and
       no code runs in this loop until the clone is given up): its entries are read
       where they are, and in a table of str keys every key is plain. */
    viewed = f->cloned && dictview_get(f->x, &view);
    for (;;) {
        PyObject *key, *value;
        int r = viewed ? dictview_next(&view, &f->i, &f->remaining, &key, &value)
                       : dict_iter_next(f->x, &f->i, f->used, &f->remaining, &key, &value);
        if (r <= 0) {
            return r;
        }
        if (f->cloned) {
            if (!(viewed && view.str_keys) && !is_plain_key(Py_TYPE(key))) {
                /* item by item from here on (this item is fetched, not copied) */
                if (frame_declone(c, f, f->used - f->remaining - 1) < 0) {
                    return -1;
                }
                viewed = 0;  /* inserting into the copy may run code from here on */
            }
            else if (INLINE_ATOM(c, Py_TYPE(value))) {
                continue;  /* already in the clone */
            }
            else {
                f->key = Py_NewRef(key);
                f->value = Py_NewRef(value);
                *part = value;
                return 1;
            }
        }
        if (INLINE_ATOM(c, Py_TYPE(value)) && INLINE_ATOM(c, Py_TYPE(key))) {
            if (PyDict_SetItem(f->y, key, value) < 0) {
                return -1;
            }
            continue;
        }
        f->key = Py_NewRef(key);
        f->value = Py_NewRef(value);
        if (INLINE_ATOM(c, Py_TYPE(value))) {
            f->value_copy = Py_NewRef(value);
            *part = key;
            return 1;
        }
        *part = value;  /* y[deepcopy(key)] = deepcopy(value) evaluates the value first */
        return 1;
    }
}

/* Before a copy goes into a dict: a tuple copy that the private memo took off the
   collector's lists (memotable_untrack) is tracked again, or the dict would decide it
   need not be tracked (dict insertion looks at a tuple's tracking), where the stdlib's
   dict, given a new and so tracked tuple, is tracked. */
static inline void
retrack_for_dict(MemoTable *t, PyObject *original, PyObject *copy)
{
    if (MEMO_UNTRACKS && t != NULL && copy != original && PyTuple_CheckExact(copy)
        && !PyObject_GC_IsTracked(copy)) {
        memotable_retrack_key(t, original);
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif

/* Put the copy of the current part in place (copy stolen); 0, or -1 with exception
   set (child left set when the failure belongs to that part). */
static int
frame_take(Frame *f, PyObject *copy)
{
    int rc;
    if (f->tp == &PyList_Type) {
        Py_CLEAR(f->child);
        f->i++;
        return list_append_steal(f->y, copy);
    }
    if (f->tp == &PyTuple_Type) {
        PyObject *item = PyTuple_GET_ITEM(f->x, f->i);
        Py_CLEAR(f->child);
        if (f->y == NULL && copy != item) {
            Py_ssize_t n = PyTuple_GET_SIZE(f->x);
            f->y = PyTuple_New(n);
            if (f->y == NULL) {
                Py_DECREF(copy);
                return -1;
            }
            for (Py_ssize_t j = 0; j < f->i; j++) {
                PyTuple_SET_ITEM(f->y, j, Py_NewRef(PyTuple_GET_ITEM(f->x, j)));
            }
        }
        if (f->y != NULL) {
            PyTuple_SET_ITEM(f->y, f->i, copy);
        }
        else {
            Py_DECREF(copy);
        }
        f->i++;
        return 0;
    }
    if (f->items != NULL) {
        Py_CLEAR(f->child);
        f->y = copy;
        return 0;
    }
    if (f->cloned) {
        /* the value's copy replaces the original in the clone; the key, a plain atom
           with a private memo, is its own copy */
        retrack_for_dict(f->table, f->value, copy);
        if (dict_replace_at(f->y, f->i - 1, f->key, copy) < 0) {  /* the item just fetched */
            return -1;
        }
        Py_CLEAR(f->child);
        Py_CLEAR(f->key);
        Py_CLEAR(f->value);
        return 0;
    }
    if (f->value_copy == NULL) {
        Py_CLEAR(f->child);
        f->value_copy = copy;
        return 0;
    }
    /* the key's copy: the item goes in; a failure here is the key's (child stays) */
    retrack_for_dict(f->table, f->key, copy);
    retrack_for_dict(f->table, f->value, f->value_copy);
    rc = PyDict_SetItem(f->y, copy, f->value_copy);
    Py_DECREF(copy);
    if (rc < 0) {
        return -1;
    }
    Py_CLEAR(f->child);
    Py_CLEAR(f->key);
    Py_CLEAR(f->value);
    Py_CLEAR(f->value_copy);
    return 0;
}

/* The finished copy of the frame's container (new reference), or NULL with exception
   set. A tuple is the original when no part changed, and a copy made meanwhile
   through a recursive structure wins. */
static PyObject *
frame_finish(DeepCtx *c, Frame *f)
{
    PyObject *found;
    if (f->tp == &PyTuple_Type) {
        /* with a private memo, only copying a part can have memoised this tuple */
        if (c->table == NULL || c->table->used != f->mark) {
            int r = memo_lookup(c, f->x, &found);
            if (r != 0) {
                return r > 0 ? found : NULL;
            }
        }
        return Py_NewRef(f->y != NULL ? f->y : f->x);
    }
    if (f->items != NULL) {
        /* _reconstruct: y = cls(*args); memo[id(x)] = y */
        PyObject *y = PyObject_CallOneArg((PyObject *)f->tp, f->y);
        if (y != NULL && memo_set(c, f->x, y) < 0) {
            Py_CLEAR(y);
        }
        return y;
    }
    if (f->tp == &PyDict_Type && f->table != NULL && c->table == f->table) {
        memotable_untrack(f->table, f->mark);  /* complete; no foreign code can reach it */
    }
    return Py_NewRef(f->y);
}

/* Add the path note for the part a frame was copying when the copy failed. */
static COLD void
frame_note(DeepCtx *c, Frame *f)
{
    if (f->child == NULL) {
        return;
    }
    if (f->tp == &PyList_Type) {
        note_failure_at(c->st, "_Index", Py_SIZE(f->y), f->child);
    }
    else if (f->tp == &PyTuple_Type) {
        note_failure_at(c->st, "_Index", f->i, f->child);
    }
    else if (f->items != NULL) {
        note_failure_at(c->st, "_ReduceArgument", 0, f->child);
    }
    else if (f->value_copy == NULL) {
        note_failure(c->st, "_Key", f->key, f->child);
    }
    else {
        note_failure(c->st, "_KeyItself", f->key, f->child);
    }
}

/* deepcopy of an exact set or frozenset (set_walkable) when it needs no walk: what
   set.__reduce__ gives, (type(x), (list(x),), None), through _reconstruct. With a
   private memo and atoms only, the temporary list's copy is not even made: the table
   maps the list to itself, which stands for "a copy of it, made if the memo is ever
   shown" (memotable_to_dict), and set(list) equals set(copy of list). New reference,
   memoised and kept alive; NULL with exception set; or NULL without one and *items
   list(x) (new reference) for a walk (frame_begin). */
static PyObject *
deepcopy_set_leaf(DeepCtx *c, PyObject *x, PyObject **items)
{
    PyObject *list, *y = NULL;
    *items = NULL;
    list = PySequence_List(x);
    if (list == NULL) {
        return NULL;
    }
    if (c->table == NULL || !sequence_is_leaf(list)) {
        *items = list;
        return NULL;
    }
    /* what calling the exact type does (no empty frozenset singleton in 3.10+) */
    y = PySet_CheckExact(x) ? PySet_New(list) : PyFrozenSet_New(list);
    if (y != NULL
        && (memotable_set(c->table, list, list) < 0 || memotable_keep(c->table, list) < 0
            || memotable_set(c->table, x, y) < 0 || memotable_keep(c->table, x) < 0)) {
        Py_CLEAR(y);
    }
    Py_DECREF(list);
    return y;
}

static int memo_complete(DeepCtx *c, PyObject *x, PyObject *y);
static int memo_find(DeepCtx *c, PyObject *x, PyObject **found);
static PyObject *deepcopy_leaf(DeepCtx *c, PyObject *x, PyTypeObject *tp);

/* copy, after copying a part may have run Python code that changed a mirrored memo: the
   memo read back (copy released and NULL on failure). */
static inline PyObject *
memo_synced(DeepCtx *c, PyObject *copy)
{
    if (copy != NULL && MEMO_SYNC(c) < 0) {
        Py_DECREF(copy);
        return NULL;
    }
    return copy;
}

/* copy_part for a set or frozenset part (fresh: it cannot be in the memo): its copy, or
   NULL with *push set and *items list(x) (new reference) when it is walked, else NULL
   with exception set. */
static PyObject *
copy_set_part(DeepCtx *c, PyObject *part, int fresh, int *push, PyObject **items)
{
    PyObject *copy = NULL;
    int r;
    if (!fresh) {
        r = memo_find(c, part, &copy);
        if (r != 0) {
            return copy;  /* found, or NULL with exception set */
        }
    }
    if (c->keep != NULL) {
        r = keep_part(c, part);
        if (r != 0) {
            return r > 0 ? Py_NewRef(part) : NULL;
        }
    }
    r = set_walkable(c->st, Py_TYPE(part));
    if (r <= 0) {
        /* registered copiers or reductors: the general path */
        return r < 0 ? NULL : deepcopy_fresh(c, part);
    }
    copy = deepcopy_set_leaf(c, part, items);
    if (copy == NULL && *items != NULL) {
        *push = 1;
    }
    return copy;
}

/* The references to a part of the frame's container that the walk itself accounts
   for: the container's, and for a dict item, the clone's entry (the original value
   until its copy replaces it) and the frame's own hold on the current key and value.
   Each is a distinct reference, so a part whose count is no higher has no other. */
static inline Py_ssize_t
part_known_references(const Frame *f, PyObject *part)
{
    if (f->tp != &PyDict_Type) {
        return 1;
    }
    return 1 + (f->cloned != 0) + (part == f->key) + (part == f->value);
}

/* The copy of one part for the frame on top, or NULL: with *push set when the part is
   a container to walk (no exception; *items then list(part) for a set, new reference,
   else NULL), else with an exception set. */
static PyObject *
copy_part(DeepCtx *c, Frame *f, PyObject *part, int *push, PyObject **items)
{
    PyTypeObject *tp = Py_TYPE(part);
    PyObject *copy = NULL;
    int fresh = 0, r;
    *push = 0;
    *items = NULL;
    if (ATOM_SKIPS_MEMO(c) && tp != &PyDict_Type && tp != &PyList_Type
        && tp != &PyTuple_Type && is_deep_atomic(tp)) {
        return Py_NewRef(part);
    }
    if (c->table != NULL) {
        /* only the references this walk knows of hold it: it cannot be in a private
           memo (whatever is memoised is also held by the memo or a frame) */
        fresh = Py_REFCNT(part) == part_known_references(f, part);
    }
    f->child = Py_NewRef(part);
    if (tp == &PySet_Type || tp == &PyFrozenSet_Type) {
        return memo_synced(c, copy_set_part(c, part, fresh, push, items));
    }
    if (tp != &PyList_Type && tp != &PyDict_Type && tp != &PyTuple_Type) {
        return memo_synced(c, fresh ? deepcopy_unmemoised(c, part) : deepcopy_object(c, part));
    }
    if (!fresh) {
        r = memo_find(c, part, &copy);
        if (r != 0) {
            return copy;  /* found, or NULL with exception set */
        }
    }
    if (c->keep != NULL && f->items == NULL) {  /* a set's list of items: not offered */
        r = keep_part(c, part);
        if (r != 0) {
            return r > 0 ? Py_NewRef(part) : NULL;
        }
        if (MEMO_SYNC(c) < 0) {  /* a predicate is Python code */
            return NULL;
        }
    }
    if (c->table != NULL) {
        if (tp == &PyTuple_Type) {
            if (sequence_is_leaf(part)) {
                return Py_NewRef(part);  /* every item its own copy: the tuple too */
            }
        }
        else {
            copy = deepcopy_leaf(c, part, tp);
            if (copy != NULL || PyErr_Occurred()) {
                return copy;
            }
        }
    }
    *push = 1;
    return NULL;
}

/* deepcopy of a list, dict, tuple or walkable set (items: list(x), stolen; else NULL)
   not in the memo, with everything nested in it (new reference), or NULL with
   exception set and path notes added. The copy is memoised as deepcopy does. */
static PyObject *
deepcopy_container(DeepCtx *c, PyObject *x, PyObject *items)
{
    FrameStack stack;
    Frame *f;
    PyObject *part = x, *copy, *original, *part_items = items;
    int push = 1, r;
    stack.frames = stack.inline_frames;
    stack.depth = 0;
    stack.cap = FRAMES_INLINE;
    stack.outer = c->walks;
    c->walks = &stack;
    /* One call site each for pushing, beginning and taking a copy: the compiler then
       folds them into this loop (no call, no register saving per container). */
    for (;;) {
        if (push) {
            /* x first, then each part to walk; the parent's f->child stays set: it
               names the part if the part's copy fails */
            f = frames_push(&stack);
            if (f == NULL) {
                Py_XDECREF(part_items);
                goto error_in_top;
            }
            if (frame_begin(c, f, part, part_items) < 0) {
                goto error_in_top;
            }
            push = 0;
        }
        f = &stack.frames[stack.depth - 1];
        r = frame_next(c, f, &part);
        if (r < 0) {
            goto error;
        }
        if (r > 0) {
            copy = copy_part(c, f, part, &push, &part_items);
            if (push) {
                continue;
            }
            if (copy == NULL) {
                goto error;
            }
        }
        else {
            /* the container on top is done */
            copy = frame_finish(c, f);
            original = Py_NewRef(f->x);
            frame_release(c, f);
            stack.depth--;
            if (copy == NULL || memo_complete(c, original, copy) < 0) {
                Py_DECREF(original);
                Py_XDECREF(copy);
                goto error;
            }
            Py_DECREF(original);
            if (stack.depth == 0) {
                break;
            }
            f = &stack.frames[stack.depth - 1];
        }
        if (frame_take(f, copy) < 0) {
            goto error;
        }
    }
    c->walks = stack.outer;
    if (stack.frames != stack.inline_frames) {
        PyMem_Free(stack.frames);
    }
    return copy;
error_in_top:
    /* the frame on top failed to begin: its part's failure belongs to the parent */
    if (f != NULL) {
        frame_release(c, f);
        stack.depth--;
    }
error:
    Py_CLEAR(c->clone);  /* made for a frame that failed to begin */
    while (stack.depth > 0) {
        f = &stack.frames[--stack.depth];
        frame_note(c, f);
        frame_release(c, f);
    }
    c->walks = stack.outer;
    if (stack.frames != stack.inline_frames) {
        PyMem_Free(stack.frames);
    }
    return NULL;
}

/* _deepcopy_method: type(x)(x.__func__, deepcopy(x.__self__)). */
static PyObject *
deepcopy_method(DeepCtx *c, PyObject *x)
{
    PyObject *func = Py_NewRef(PyMethod_GET_FUNCTION(x));
    PyObject *self = Py_NewRef(PyMethod_GET_SELF(x));
    PyObject *self_copy, *y = NULL;
    self_copy = deepcopy_object(c, self);
    if (self_copy == NULL) {
        note_failure(c->st, "_Attribute", c->st->s_self, self);
    }
    else {
        y = PyObject_CallFunctionObjArgs((PyObject *)Py_TYPE(x), func, self_copy, NULL);
        Py_DECREF(self_copy);
    }
    Py_DECREF(func);
    Py_DECREF(self);
    return y;
}

/* ======================================================================== */
/* Deep copy: everything else                                               */
/* ======================================================================== */

/* A copier registered in copy._deepcopy_dispatch: the stdlib's own ones run as the
   twin's, anything else as registered, always with the memo as a dict. */
static PyObject *
deepcopy_registered(DeepCtx *c, PyObject *x, PyObject *copier)
{
    PyObject *own, *memo;
    HookedObject hooked;
    own = PyDict_GetItemWithError(c->st->own_copiers, copier);
    if (own == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (own == NULL) {
        own = copier;
    }
    if (own == c->st->own_atomic) {
        return Py_NewRef(x);
    }
    Py_INCREF(own);
    memo = memo_show(c, x, &hooked);
    if (memo == NULL) {
        Py_DECREF(own);
        return NULL;
    }
    Py_INCREF(memo);
    {
        PyObject *y = PyObject_CallFunctionObjArgs(own, x, memo, NULL);
        Py_DECREF(memo);
        Py_DECREF(own);
        c->unmemoised = x;
        return memo_taken_back(c, &hooked, y);
    }
}

/* Where to find C __deepcopy__ methods that return their object untouched. */
static const struct { const char *module, *type; } identity_cfunc_homes[3] = {
    {"decimal", "Decimal"}, {"re", "Pattern"}, {"re", "Match"},
};

/* Remember the C function behind home[i].__deepcopy__ if its module is loaded. */
static void
learn_identity_cfunc(copy_state *st, int i)
{
    PyObject *module, *cls, *descr;
    module = PyDict_GetItemString(PyImport_GetModuleDict(), identity_cfunc_homes[i].module);
    if (module == NULL) {
        return;
    }
    cls = getattr_interned(module, identity_cfunc_homes[i].type);
    if (cls != NULL && PyType_Check(cls)) {
        descr = PyDict_GetItemWithError(((PyTypeObject *)cls)->tp_dict, st->s_deepcopy);
        if (descr != NULL && Py_IS_TYPE(descr, &PyMethodDescr_Type)) {
            st->identity_cfuncs[i] = ((PyMethodDescrObject *)descr)->d_method->ml_meth;
        }
    }
    Py_XDECREF(cls);
    PyErr_Clear();
}

/* Is copier a C __deepcopy__ bound to x that returns x and ignores the memo
   (Decimal's, re.Pattern's, re.Match's)? */
static int
is_identity_cfunc(copy_state *st, PyObject *x, PyObject *copier)
{
    PyCFunction meth;
    if (!PyCFunction_Check(copier) || PyCFunction_GET_SELF(copier) != x) {
        return 0;
    }
    meth = PyCFunction_GET_FUNCTION(copier);
    for (int i = 0; i < 3; i++) {
        if (st->identity_cfuncs[i] == NULL) {
            learn_identity_cfunc(st, i);
        }
        if (meth == st->identity_cfuncs[i]) {
            return 1;
        }
    }
    return 0;
}

/* Is copier a __deepcopy__ known to return its object untouched without looking at
   the memo (so that not calling it is unobservable)? Enum members', Decimal's, ... */
static int
is_identity_hook(copy_state *st, PyObject *x, PyObject *copier)
{
    PyObject *func;
    if (!PyMethod_Check(copier)) {
        return is_identity_cfunc(st, x, copier);
    }
    if (PyMethod_GET_SELF(copier) != x) {
        return 0;
    }
    func = PyMethod_GET_FUNCTION(copier);
    if (st->enum_deepcopy == NULL) {
        PyObject *enum_module = PyDict_GetItemString(PyImport_GetModuleDict(), "enum");
        PyObject *enum_class, *hook;
        if (enum_module == NULL) {
            return 0;
        }
        enum_class = getattr_interned(enum_module, "Enum");
        if (enum_class == NULL || !PyType_Check(enum_class)) {
            Py_XDECREF(enum_class);
            PyErr_Clear();
            return 0;
        }
        hook = PyDict_GetItemWithError(((PyTypeObject *)enum_class)->tp_dict, st->s_deepcopy);
        Py_DECREF(enum_class);
        if (hook == NULL || !PyFunction_Check(hook)) {
            PyErr_Clear();
            return 0;
        }
        st->enum_deepcopy = Py_NewRef(hook);
    }
    return func == st->enum_deepcopy;
}

/* Remember that instances of tp are their own deep copy when tp is immutable, has no
   instance dict and its __deepcopy__ (from the type) is the identity C method hook
   that was just seen. Never fails. */
static void
plan_learn_identity(copy_state *st, PyTypeObject *tp, PyObject *hook)
{
    PyObject *descr;
    TypePlan *plan;
    if (!(tp->tp_flags & Py_TPFLAGS_IMMUTABLETYPE) || tp->tp_dictoffset != 0
#if PY_VERSION_HEX >= 0x030B0000
        || (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
#endif
        || tp->tp_getattro != PyObject_GenericGetAttr) {
        return;
    }
    descr = _PyType_Lookup(tp, st->s_deepcopy);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMethodDescr_Type)
        || ((PyMethodDescrObject *)descr)->d_method->ml_meth != PyCFunction_GET_FUNCTION(hook)
        || !type_tag_valid(tp)) {
        return;
    }
    plan = plan_slot(st, tp);
    memset(plan, 0, sizeof(*plan));
    plan->type = tp;
    plan->tag = tp->tp_version_tag;
    plan->kind = PLAN_IDENTITY;
}

/* Copy x of a PLAN_CREDUCE type (deep with c, shallow with NULL): its own C reducer
   called directly, the value through reconstruct. 1 with *y the copy (NULL with an
   exception set on failure), or 0 when copyreg.dispatch_table has a reductor for the
   type, which the general path must use. */
static int
copy_by_creduce(DeepCtx *c, copy_state *st, TypePlan *plan, PyObject *x, PyObject **y)
{
    PyObject *reducer = plan->reducer, *rv;
    int with_protocol = plan->with_protocol;
    *y = NULL;
    if (plan_reductor(st, plan) != NULL) {
        return 0;
    }
    if (PyErr_Occurred() || (c != NULL && memo_settle(c) < 0)) {  /* foreign code next */
        return 1;
    }
    rv = reduce_by_plan(st, reducer, with_protocol, x);
    if (rv == NULL) {
        return 1;
    }
    *y = PyUnicode_Check(rv) ? Py_NewRef(x) : reconstruct(c, st, x, rv);
    Py_DECREF(rv);
    return 1;
}

/* deepcopy's path for types outside its dispatch: registrations, classes,
   __deepcopy__, then reduce. New reference or NULL with exception set. */
static PyObject *
deepcopy_other(DeepCtx *c, PyObject *x)
{
    copy_state *st = c->st;
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *copier, *rv, *y;
    TypePlan *plan;
    int known = 0;
    copier = registry_lookup(st, st->stdlib_deep_dispatch, &st->deep_registry, 1, tp);
    if (copier != NULL) {
        return deepcopy_registered(c, x, copier);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (PyType_Check(x)) {
        return Py_NewRef(x);
    }
    plan = plan_find(st, tp, &known);
    if (plan != NULL && plan->kind == PLAN_IDENTITY) {
        return Py_NewRef(x);
    }
    if (plan != NULL && plan->kind == PLAN_CREDUCE) {
        if (copy_by_creduce(c, st, plan, x, &y)) {
            return y;
        }
        plan = NULL;  /* registered in copyreg.dispatch_table: the general path */
    }
    if (plan != NULL && plan->kind == PLAN_GETSTATE) {
        PyObject *reductor = plan_reductor(st, plan);
        if (reductor == NULL && !PyErr_Occurred()) {
            if (c->table != NULL && c->mirror == NULL) {
                y = deepcopy_uuid(c, x);
                if (y != NULL || PyErr_Occurred()) {
                    return y;
                }
            }
            if (memo_settle(c) < 0) {  /* __getstate__ is foreign code */
                return NULL;
            }
            y = deepcopy_by_getstate(c, x);
            if (y != NULL || PyErr_Occurred()) {
                return y;
            }
        }
        else if (reductor == NULL) {
            return NULL;
        }
        plan = NULL;  /* registered in copyreg.dispatch_table: the general path */
    }
    if (plan != NULL && plan->kind == PLAN_REDUCE && c->table != NULL) {
        PyObject *reductor = plan_reductor(st, plan);
        int still = plan->type == tp && plan->tag == tp->tp_version_tag;
        if (reductor == NULL && !PyErr_Occurred() && still) {
            y = deepcopy_by_plan(c, plan, x);
            if (y != NULL || PyErr_Occurred()) {
                return y;
            }
        }
        else if (reductor == NULL) {
            return NULL;
        }
    }
    if (memo_settle(c) < 0) {  /* hooks and reductors run from here on */
        return NULL;
    }
    if (lookup_not_none(x, st->s_deepcopy, &copier) < 0) {
        return NULL;
    }
    if (copier != NULL) {
        PyObject *memo;
        HookedObject hooked;
        if (is_identity_hook(st, x, copier)) {
            if (!known && PyCFunction_Check(copier)) {
                plan_learn_identity(st, tp, copier);
            }
            Py_DECREF(copier);
            return Py_NewRef(x);
        }
        memo = memo_show(c, x, &hooked);
        if (memo == NULL) {
            Py_DECREF(copier);
            return NULL;
        }
        Py_INCREF(memo);
        y = PyObject_CallOneArg(copier, memo);
        Py_DECREF(memo);
        Py_DECREF(copier);
        c->unmemoised = x;
        return memo_taken_back(c, &hooked, y);
    }
    rv = reduce_object(st, x, 1);
    if (rv == NULL) {
        return NULL;
    }
    if (PyUnicode_Check(rv)) {
        Py_DECREF(rv);
        return Py_NewRef(x);
    }
    if (!known && c->table != NULL) {
        plan_learn(st, x, rv);
    }
    y = reconstruct(c, st, x, rv);
    Py_DECREF(rv);
    return y;
}

/* With a private memo, the deep copy of a list or dict of atoms only (new reference),
   NULL with exception set, or NULL without one when x has other parts. Atoms copy to
   themselves and no Python code can run, so one slice or dict.copy does it: same
   items, same order. The original is memoised and kept alive at once. */
static PyObject *
deepcopy_leaf(DeepCtx *c, PyObject *x, PyTypeObject *tp)
{
    PyObject *y = tp == &PyList_Type ? list_copy_of_atoms(x) : dict_clone(c, x);
    if (y == NULL) {
        return NULL;
    }
    if (memotable_add_new(c->table, x, y) < 0 || memotable_keep(c->table, x) < 0) {
        Py_DECREF(y);
        return NULL;
    }
    memotable_untrack(c->table, c->table->used - 1);
    return y;
}

/* After the copier: memo[id(x)] = y and keep x alive, as deepcopy does for every y
   that is not x. A private memo already maps x to y unless x is a tuple or method
   (lists and dicts are memoised first; reconstruct, plans and sets right after
   construction). 0, or -1 with exception set. */
static int
memo_complete(DeepCtx *c, PyObject *x, PyObject *y)
{
    PyTypeObject *tp = Py_TYPE(x);
    if (y == x) {
        return 0;
    }
    /* (a table given up on the way only drops keep-only to dict mode, where x's entry is
       already in the dict: memo_keep_alive reads the dict back first) */
    if (c->table != NULL && tp != &PyTuple_Type && tp != &PyMethod_Type) {
        /* with a mirrored table, a hook's copy is memoised here, as deepcopy does */
        if (c->unmemoised != x) {
            return memo_keep_alive(c, x);
        }
        c->unmemoised = NULL;
    }
    if (memo_remember(c, x, y) < 0) {
        return -1;
    }
    if (tp == &PyTuple_Type && c->table != NULL
        && memoentry_key(&c->table->entries[c->table->used - 1]) == x) {
        memotable_untrack(c->table, c->table->used - 1);
    }
    return 0;
}

#if PY_VERSION_HEX < 0x030C0000
/* Before 3.12 the interpreter bounds nesting only by sys.getrecursionlimit(), so with a
   raised limit deep objects (instance chains, __deepcopy__ hooks calling deepcopy)
   would overflow the C stack. The thread's nesting (Python frames and recursive C
   calls) is bounded here too. Measured with the default 8 MB stack: instance chains
   count 2 per instance and crash near 6,100 instances (12,200); hook chains count 3 per
   instance on 3.10 and crash near 4,000 (12,000), 2 on 3.11 and crash near 4,200
   (8,400). 4,000 is under half the lowest, leaving room for callers' C frames, and
   above the default limit of 1,000, which then raises first, as in the stdlib. */
#define C_NESTING_MAX 4000
#endif

/* 1 with RecursionError set if the thread nests too deep for the C stack (see
   C_NESTING_MAX; never on 3.12+, where the interpreter bounds C recursion), else 0. */
static inline int
c_nesting_exceeded(void)
{
#if PY_VERSION_HEX < 0x030C0000
    PyThreadState *tstate = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030B0000
    int depth = tstate->recursion_limit - tstate->recursion_remaining;
#else
    int depth = tstate->recursion_depth;
#endif
    if (depth > C_NESTING_MAX) {
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded while deep-copying an object");
        return 1;
    }
#endif
    return 0;
}

/* deepcopy(x, memo) for an object known not to be in the memo: new reference, or NULL
   with exception set. The dispatcher proper: by exact type, then memoise. */
static PyObject *
deepcopy_fresh(DeepCtx *c, PyObject *x)
{
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *y;
    if (c->keep != NULL) {
        int kept = keep_offer(c, x);
        if (kept != 0) {
            return kept > 0 ? Py_NewRef(x) : NULL;  /* shared, and not memoised */
        }
    }
    if (tp == &PyList_Type || tp == &PyDict_Type || tp == &PyTuple_Type) {
        if (c->table != NULL && tp == &PyTuple_Type && sequence_is_leaf(x)) {
            return Py_NewRef(x);  /* every item its own copy: the tuple too */
        }
        if (c->table != NULL && tp != &PyTuple_Type) {
            y = deepcopy_leaf(c, x, tp);
            if (y != NULL || PyErr_Occurred()) {
                return y;
            }
        }
        /* one C level per walk (however deep the containers in it nest): walks
           nest in C only through other objects, e.g. an instance's state */
        if (c_nesting_exceeded() || Py_EnterRecursiveCall(" while deep-copying an object")) {
            Py_CLEAR(c->clone);
            return NULL;
        }
        y = deepcopy_container(c, x, NULL);  /* memoises, and walks without recursion */
        Py_LeaveRecursiveCall();
        return y;
    }
    if (tp == &PySet_Type || tp == &PyFrozenSet_Type) {
        PyObject *items;
        int r = set_walkable(c->st, tp);
        if (r < 0) {
            return NULL;
        }
        if (r > 0) {
            y = deepcopy_set_leaf(c, x, &items);  /* memoises */
            if (y != NULL || items == NULL) {
                return y;
            }
            if (c_nesting_exceeded() || Py_EnterRecursiveCall(" while deep-copying an object")) {
                Py_DECREF(items);
                return NULL;
            }
            y = deepcopy_container(c, x, items);  /* memoises */
            Py_LeaveRecursiveCall();
            return y;
        }
    }
    if (c_nesting_exceeded() || Py_EnterRecursiveCall(" while deep-copying an object")) {
        return NULL;
    }
    if (tp == &PyMethod_Type) {
        y = deepcopy_method(c, x);
    }
    else {
        y = deepcopy_other(c, x);
    }
    Py_LeaveRecursiveCall();
    if (y != NULL && memo_complete(c, x, y) < 0) {
        Py_CLEAR(y);
    }
    return y;
}

/* memo.get(id(x)) for a non-atom (with a private memo) or anything (dict mode):
   1 with *found a new reference, 0 if absent, -1 with exception set. */
static int
memo_find(DeepCtx *c, PyObject *x, PyObject **found)
{
    PyObject *y;
    int r;
    if (MEMO_SYNC(c) < 0) {
        return -1;
    }
    if (c->table == NULL) {
        return memo_lookup(c, x, found);
    }
    r = table_find(c, x, &y);
    if (r <= 0) {
        return r;
    }
    if (r == 2) {
        /* a set's temporary list, reached again: its copy is due now */
        y = PyList_GetSlice(x, 0, PyList_GET_SIZE(x));
        if (y == NULL || memotable_set(c->table, x, y) < 0) {
            Py_XDECREF(y);
            return -1;
        }
        *found = y;
        return 1;
    }
    *found = Py_NewRef(y);
    return 1;
}

/* deepcopy(x, memo) for one object: new reference, or NULL with exception set. The
   memo first (a private memo never holds an atom: atoms are their own copy). */
static PyObject *
deepcopy_object(DeepCtx *c, PyObject *x)
{
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *y;
    int r;
    if (MEMO_SYNC(c) < 0) {
        return NULL;
    }
    if (ATOM_SKIPS_MEMO(c) && tp != &PyDict_Type && tp != &PyList_Type
        && is_deep_atomic(tp)) {
        return Py_NewRef(x);
    }
    r = atomic_type_added(c->st, tp);
    if (r != 0) {
        return r > 0 ? Py_NewRef(x) : NULL;
    }
    r = memo_find(c, x, &y);
    if (r != 0) {
        return r > 0 ? y : NULL;
    }
    if (c->table == NULL && is_deep_atomic(tp)) {
        return Py_NewRef(x);
    }
    return deepcopy_fresh(c, x);
}

/* ======================================================================== */
/* Public functions                                                         */
/* ======================================================================== */

/* Parse (x, memo=None, _nil=<not given>, *, keep=None) / (x) from a vectorcall into
   out[] and *keep (NULL when not given; keep NULL: no such keyword); 0 or -1 with
   TypeError set. */
static int
parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           Py_ssize_t maxargs, PyObject **out, PyObject **keep)
{
    static const char *const names[3] = {"x", "memo", "_nil"};
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t j = 0; j < maxargs; j++) {
        out[j] = NULL;
    }
    if (nargs > maxargs) {
        if (maxargs == 1) {
            PyErr_Format(PyExc_TypeError, "%s() takes 1 positional argument but %zd were given",
                         fname, nargs);
        }
        else {
            PyErr_Format(PyExc_TypeError,
                         "%s() takes from 1 to %zd positional arguments but %zd were given",
                         fname, maxargs, nargs);
        }
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t which = -1;
        if (keep != NULL && PyUnicode_CompareWithASCIIString(name, "keep") == 0) {
            *keep = args[nargs + k];  /* a repeated keyword never gets here */
            continue;
        }
        for (Py_ssize_t j = 0; j < maxargs; j++) {
            if (PyUnicode_CompareWithASCIIString(name, names[j]) == 0) {
                which = j;
            }
        }
        if (which < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, name);
            return -1;
        }
        if (out[which] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                         fname, names[which]);
            return -1;
        }
        out[which] = args[nargs + k];
    }
    if (out[0] == NULL) {
        PyErr_Format(PyExc_TypeError,
                     "%s() missing 1 required positional argument: 'x'", fname);
        return -1;
    }
    return 0;
}

/* deepcopy(x, memo[, _nil][, keep=keep]) with a memo that is not an exact dict: the
   pure twin (nil, keep NULL: not passed on). */
static PyObject *
deepcopy_in_python(copy_state *st, PyObject *x, PyObject *memo, PyObject *nil,
                   PyObject *keep)
{
    PyObject *func = getattr_interned(st->pycopy, "deepcopy");
    PyObject *args, *kwargs = NULL, *y = NULL;
    if (func == NULL) {
        return NULL;
    }
    args = nil != NULL ? PyTuple_Pack(3, x, memo, nil) : PyTuple_Pack(2, x, memo);
    if (args != NULL && keep != NULL) {
        kwargs = PyDict_New();
        if (kwargs == NULL || PyDict_SetItemString(kwargs, "keep", keep) < 0) {
            Py_CLEAR(args);
        }
    }
    if (args != NULL) {
        y = PyObject_Call(func, args, kwargs);
    }
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_DECREF(func);
    return y;
}

/* The caller's memo looked up as `memo.get(id(x), _nil)` with a caller-given _nil:
   1 with *found a new reference, 0 when absent or the value is _nil, -1 on error. */
static int
memo_lookup_nil(DeepCtx *c, PyObject *x, PyObject *nil, PyObject **found)
{
    int r = memo_lookup(c, x, found);
    if (r > 0 && *found == nil) {
        Py_CLEAR(*found);
        return 0;
    }
    return r;
}

#if DEEPCOPY_MAX_ARGS > 2
#  define DEEPCOPY_SIGNATURE "deepcopy($module, /, x, memo=None, _nil=[], *, keep=None)\n--\n\n"
#else
#  define DEEPCOPY_SIGNATURE "deepcopy($module, /, x, memo=None, *, keep=None)\n--\n\n"
#endif
/* deepcopy(x, memo, _nil) with a dict memo (before 3.15): the stdlib's _nil makes a
   memo value that is this object count as absent. New reference, or NULL with
   exception set. */
static PyObject *
deepcopy_with_nil(DeepCtx *c, PyObject *x, PyObject *nil)
{
    PyObject *y;
    int r = atomic_type_added(c->st, Py_TYPE(x));  /* 3.14: asked before the memo */
    if (r != 0) {
        return r > 0 ? Py_NewRef(x) : NULL;
    }
    r = memo_lookup_nil(c, x, nil, &y);
    if (r != 0) {
        return r > 0 ? y : NULL;
    }
    return is_deep_atomic(Py_TYPE(x)) ? Py_NewRef(x) : deepcopy_fresh(c, x);
}

PyDoc_STRVAR(deepcopy_doc,
DEEPCOPY_SIGNATURE
"Return a deep copy of x, exactly as copy.deepcopy does.\n\n"
"memo is the dictionary of objects already copied (id(original) -> copy, plus the\n"
"keep-alive list at memo[id(memo)]). Raises copy.Error for objects that cannot be\n"
"copied and whatever the objects' own hooks raise.\n\n"
"keep (copykit's own) is what the copy shares instead of copying: a type or tuple\n"
"of types (as isinstance matches them) or a predicate keep(obj) -> bool; atoms and\n"
"classes are never offered. Any other keep raises TypeError before copying.");

/* With a caller's dict memo: share the table of a call in progress on this thread
   that mirrors the same dict (a hook's nested call), after reading back what the hook
   did. 0 (c untouched when there is none) or -1 with exception set. */
static int
memo_share_mirror(DeepCtx *c, PyObject *memo)
{
    MemoMirror *m = c->st->mirrors != NULL ? mirror_of(c->st, memo) : NULL;
    if (m == NULL || m->dead || m->tstate != PyThreadState_Get()) {
        return 0;
    }
    c->memo = memo;
    c->memo_key = Py_NewRef(m->dict_key);
    c->table = m->table;
    c->mirror = m;
    if (MEMO_SYNC(c) < 0) {
        Py_CLEAR(c->memo_key);
        return -1;
    }
    return 0;
}

/* With a caller's dict memo (c in dict mode on it) that is empty and mirrored by no
   call in progress: mirror it with table (not initialised yet). Otherwise c stays in
   dict mode (another thread's mirror, a dict whose entries the table cannot vouch
   for). 0 or -1 with exception set. */
static int
memo_mirror_caller(DeepCtx *c, PyObject *memo, MemoTable *table)
{
    if ((c->st->mirrors != NULL && mirror_of(c->st, memo) != NULL)
        || PyDict_GET_SIZE(memo) != 0 || !dictview_ok
        || ((PyDictObject *)memo)->ma_values != NULL) {
        return 0;
    }
    memotable_init(table);
    c->table = table;
    return mirror_begin(c, 1);
}

/* deepcopy(x, memo, _nil) for parsed arguments (nil NULL: not given), with keep the
   policy to follow or NULL. New reference, or NULL with exception set. */
static inline PyObject *
deepcopy_call(copy_state *st, PyObject *x, PyObject *memo, PyObject *nil, KeepCheck *keep)
{
    PyObject *y;
    MemoTable table;
    DeepCtx c = {st, NULL, NULL, NULL, 0, NULL, 0, NULL, NULL, 0, 0, keep, NULL, NULL, NULL, NULL};
#if ATOMS_BYPASS_MEMO
    /* 3.14+: atomic types before the memo, whatever the memo is (types a program added
       are found where the memo would be read next: deepcopy_object, deepcopy_with_nil) */
    if (is_deep_atomic(Py_TYPE(x))) {
        return Py_NewRef(x);
    }
#endif
    if (memo == Py_None) {
        if (is_deep_atomic(Py_TYPE(x))) {
            return Py_NewRef(x);
        }
        memotable_init(&table);
        c.table = &table;  /* a keep policy is registered if the memo is materialised */
    }
    else if (PyDict_CheckExact(memo)) {
        if (memo_share_mirror(&c, memo) < 0) {
            return NULL;
        }
        if (c.mirror != NULL && keep == NULL && is_deep_atomic(Py_TYPE(x))) {
            /* a hook copying an atom with the memo it was given: a mirrored memo holds no
               atom (an entry for one ends the mirror), so x is its own copy */
            c.mirror->stale = 1;  /* the hook's code goes on */
            Py_DECREF(c.memo_key);
            return Py_NewRef(x);
        }
        if (c.memo_key == NULL && ctx_use_dict(&c, memo, 0) < 0) {
            return NULL;
        }
        if (keep != NULL && keep->register_memo && keep_register(&c) < 0) {
            Py_DECREF(c.memo_key);
            return NULL;
        }
        if (c.mirror == NULL && memo_mirror_caller(&c, memo, &table) < 0) {
            keep_unregister(&c);
            Py_DECREF(c.memo_key);
            return NULL;
        }
    }
    else {
        return deepcopy_in_python(st, x, memo, nil, NULL);  /* nil NULL: not passed on */
    }
    if (nil != NULL && (c.table == NULL || c.mirror != NULL)) {
        y = deepcopy_with_nil(&c, x, nil);
    }
    else {
        y = deepcopy_object(&c, x);
    }
    if (mirror_end(&c) < 0) {
        Py_CLEAR(y);
    }
    keep_unregister(&c);
    if (c.table != NULL) {
        memotable_clear(c.table);
    }
    Py_XDECREF(c.clone);  /* normally taken by its frame; a failed begin leaves it */
    Py_XDECREF(c.memo_key);
    if (c.owns_memo) {
        Py_DECREF(c.memo);
    }
    return y;
}

/* deepcopy(x, memo, _nil) under a keep policy: the caller's keep (not None; validated
   here, registered for the memo while it runs) when registered is NULL, else the
   policy registered for memo by a deepcopy(..., keep=) in progress (borrowed). */
static NO_INLINE PyObject *
deepcopy_keeping(copy_state *st, PyObject *x, PyObject *memo, PyObject *nil, PyObject *keep,
                 PyObject *registered)
{
    PyObject *policy = NULL, *y = NULL;
    KeepCheck check;
    int r = 0;
    if (registered == NULL && memo != Py_None && !PyDict_CheckExact(memo)) {
        return deepcopy_in_python(st, x, memo, nil, keep);
    }
    memset(&check, 0, sizeof(check));
    if (registered == NULL) {
        r = keep_init_types(st, &check, keep);  /* the usual keep, without Python */
    }
    if (r == 0) {
        policy = registered != NULL ? Py_NewRef(registered)
                                    : PyObject_CallOneArg(st->keep_policy, keep);
        r = policy == NULL ? -1 : keep_init(st, &check, policy) == 0 ? 1 : -1;
    }
    if (r > 0) {  /* else the TypeError for a keep of the wrong kind, or memory */
        check.register_memo = registered == NULL;
        y = deepcopy_call(st, x, memo, nil, &check);
    }
    keep_release(&check);
    Py_XDECREF(policy);
    return y;
}

static PyObject *
copykit_deepcopy(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    copy_state *st = get_state(module);
    PyObject *x, *memo, *nil, *keep = NULL, *registered;
    PyObject *parsed[DEEPCOPY_MAX_ARGS];
    if (nargs == 1 && kwnames == NULL) {
        return deepcopy_call(st, args[0], Py_None, NULL, NULL);
    }
    if (parse_args("deepcopy", args, nargs, kwnames, DEEPCOPY_MAX_ARGS, parsed, &keep) < 0) {
        return NULL;
    }
    x = parsed[0];
    memo = parsed[1] != NULL ? parsed[1] : Py_None;
    nil = DEEPCOPY_MAX_ARGS > 2 ? parsed[DEEPCOPY_MAX_ARGS - 1] : NULL;
    if (keep != NULL && keep != Py_None) {
        return deepcopy_keeping(st, x, memo, nil, keep, NULL);
    }
    if (memo != Py_None && PyDict_GET_SIZE(st->keep_policies) != 0 && PyDict_CheckExact(memo)) {
        /* inside a deepcopy(..., keep=) with this memo (from a hook): its policy holds */
        PyObject *key = PyLong_FromVoidPtr(memo);
        if (key == NULL) {
            return NULL;
        }
        registered = PyDict_GetItemWithError(st->keep_policies, key);
        Py_DECREF(key);
        if (registered != NULL) {
            return deepcopy_keeping(st, x, memo, nil, NULL, registered);
        }
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    return deepcopy_call(st, x, memo, nil, NULL);
}

PyDoc_STRVAR(copy_doc,
"copy($module, /, x)\n--\n\n"
"Return a shallow copy of x, exactly as copy.copy does.\n\n"
"Raises copy.Error for objects that offer no way to be copied, and whatever the\n"
"object's own __copy__ or __reduce_ex__ raises.");

#if ATOMS_BYPASS_MEMO
/* 3.14+: copy(x) of a type found in copy._copy_atomic_types (x itself) or
   _copy_builtin_containers (cls.copy(x)) though it is not a built-in one there: added
   by a program, or found by its metaclass's __eq__. 1 with *y the copy (NULL with
   exception set on error, the stdlib's when hashing fails), or 0: neither. Looked up
   only when either may be. */
static int
copy_by_added_type(copy_state *st, PyObject *x, PyObject **y)
{
    PyObject *tp = (PyObject *)Py_TYPE(x);
    int r;
    *y = NULL;
    if (PySet_GET_SIZE(st->copy_atomic_types) + PySet_GET_SIZE(st->copy_containers)
            == st->copy_sets_size
        && !type_hashes_in_python(Py_TYPE(x))) {
        return 0;
    }
    r = PySet_Contains(st->copy_atomic_types, tp);
    if (r != 0) {
        *y = r > 0 ? Py_NewRef(x) : NULL;
        return 1;
    }
    r = PySet_Contains(st->copy_containers, tp);
    if (r != 0) {
        *y = r > 0 ? PyObject_CallMethodOneArg(tp, st->s_copy_method, x) : NULL;
        return 1;
    }
    return 0;
}
#endif

/* copy(x) past the built-in types: registrations, classes, __copy__, reduce. */
static PyObject *
copy_other(copy_state *st, PyObject *x)
{
    PyTypeObject *tp = Py_TYPE(x);
    PyObject *copier, *rv, *y;
    TypePlan *plan;
    int truth, known = 0;
#if ATOMS_BYPASS_MEMO
    if (copy_by_added_type(st, x, &y)) {
        return y;
    }
    copier = NULL;
#else
    copier = registry_lookup(st, st->stdlib_copy_dispatch, &st->copy_registry, 0, tp);
#endif
    if (copier != NULL) {
        Py_INCREF(copier);
        truth = PyObject_IsTrue(copier);
        y = truth > 0 ? PyObject_CallOneArg(copier, x) : NULL;
        Py_DECREF(copier);
        if (truth != 0) {
            return y;
        }
    }
    else if (PyErr_Occurred()) {
        return NULL;
    }
    if (PyType_Check(x)) {
        return Py_NewRef(x);
    }
    plan = plan_find(st, tp, &known);
    if (plan != NULL && plan->kind == PLAN_CREDUCE && plan->shallow_ok) {
        if (copy_by_creduce(NULL, st, plan, x, &y)) {
            return y;
        }
        plan = NULL;  /* registered in copyreg.dispatch_table: the general path */
    }
    if (plan != NULL && plan->kind == PLAN_REDUCE && plan->shallow_ok
        && (plan->nslots == 0 || tp->tp_setattro == PyObject_GenericSetAttr)) {
        PyObject *reductor = plan_reductor(st, plan);
        int still = plan->type == tp && plan->tag == tp->tp_version_tag;
        if (reductor == NULL && !PyErr_Occurred() && still) {
            y = copy_by_plan(st, plan, x);
            if (y != NULL || PyErr_Occurred()) {
                return y;
            }
        }
        else if (reductor == NULL) {
            return NULL;
        }
    }
    if (lookup_not_none((PyObject *)tp, st->s_copy, &copier) < 0) {
        return NULL;
    }
    if (copier != NULL) {
        y = PyObject_CallOneArg(copier, x);
        Py_DECREF(copier);
        return y;
    }
    rv = reduce_object(st, x, 0);
    if (rv == NULL) {
        return NULL;
    }
    if (PyUnicode_Check(rv)) {
        Py_DECREF(rv);
        return Py_NewRef(x);
    }
    if (!known) {
        plan_learn(st, x, rv);
    }
    y = reconstruct(NULL, st, x, rv);
    Py_DECREF(rv);
    return y;
}

static PyObject *
copykit_copy(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *x;
    PyTypeObject *tp;
    if (nargs == 1 && kwnames == NULL) {
        x = args[0];
    }
    else if (parse_args("copy", args, nargs, kwnames, 1, &x, NULL) < 0) {
        return NULL;
    }
    tp = Py_TYPE(x);
    /* the two containers first: their copy is the work, the tests are its overhead */
    if (tp == &PyDict_Type) {
        return PyDict_Copy(x);
    }
    if (tp == &PyList_Type) {
        return PyList_GetSlice(x, 0, PyList_GET_SIZE(x));
    }
    if (is_shallow_immutable(tp)) {
        return Py_NewRef(x);
    }
    if (tp == &PySet_Type) {
        return PySet_New(x);
    }
    if (tp == &PyByteArray_Type) {
        return PyByteArray_FromStringAndSize(PyByteArray_AS_STRING(x),
                                             PyByteArray_GET_SIZE(x));
    }
    return copy_other(get_state(module), x);
}

#include "_template.h"  /* copykit.template(x): compiled deep copies of a snapshot */

static PyMethodDef copykit_methods[] = {
    {"copy", (PyCFunction)(void (*)(void))copykit_copy, METH_FASTCALL | METH_KEYWORDS,
     copy_doc},
    {"deepcopy", (PyCFunction)(void (*)(void))copykit_deepcopy,
     METH_FASTCALL | METH_KEYWORDS, deepcopy_doc},
    {"template", (PyCFunction)(void (*)(void))copykit_template,
     METH_FASTCALL | METH_KEYWORDS, template_doc},
    {NULL, NULL, 0, NULL},
};

/* ======================================================================== */
/* Module init                                                              */
/* ======================================================================== */

/* st->field = getattr(module, name) as a new reference; 0 or -1. */
static int
take_attr(PyObject **field, PyObject *module, const char *name)
{
    *field = PyObject_GetAttrString(module, name);
    return *field == NULL ? -1 : 0;
}

/* Does a copy module registry hold only types that deepcopy (deep) or copy handle
   before consulting it? 1 or 0 (then it is looked up). */
static int
registry_builtins_only(PyObject *registry, int deep)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(registry, &pos, &key, &value)) {
        PyTypeObject *tp = (PyTypeObject *)key;
        int handled = PyType_Check(key)
                      && (deep ? is_deep_atomic(tp) || tp == &PyList_Type || tp == &PyDict_Type
                                     || tp == &PyTuple_Type || tp == &PyMethod_Type
                                     || IS_FROZENDICT_TYPE(tp)
                               : is_shallow_immutable(tp) || tp == &PyList_Type
                                     || tp == &PyDict_Type || tp == &PySet_Type
                                     || tp == &PyByteArray_Type);
        if (!handled) {
            return 0;
        }
    }
    return 1;
}

/* copy()'s registries: the dict copy._copy_dispatch before 3.14; from 3.14 the sets
   copy._copy_atomic_types and _copy_builtin_containers, and deepcopy's
   copy._atomic_types, with their sizes while they hold only built-in types (what
   is_shallow_immutable and is_deep_atomic answer; a type added later is found in
   them). 0 or -1 with exception set. */
static int
take_copy_registries(copy_state *st, PyObject *copy_module)
{
#if ATOMS_BYPASS_MEMO
    if (take_attr(&st->copy_atomic_types, copy_module, "_copy_atomic_types") < 0
        || take_attr(&st->copy_containers, copy_module, "_copy_builtin_containers") < 0
        || take_attr(&st->deep_atomic_types, copy_module, "_atomic_types") < 0) {
        return -1;
    }
    if (!PyAnySet_Check(st->copy_atomic_types) || !PyAnySet_Check(st->copy_containers)
        || !PyAnySet_Check(st->deep_atomic_types)) {
        PyErr_SetString(PyExc_ImportError, "copykit._ccopy: unexpected copy module layout");
        return -1;
    }
    st->copy_sets_size = PySet_GET_SIZE(st->copy_atomic_types)
                         + PySet_GET_SIZE(st->copy_containers);
    st->deep_atomic_size = PySet_GET_SIZE(st->deep_atomic_types);
    return 0;
#else
    return take_attr(&st->stdlib_copy_dispatch, copy_module, "_copy_dispatch");
#endif
}

#if WATCH_DICTS
/* A dict is watched and unwatched for every dict copy begun as a clone, so the bit
   that PyDict_Watch sets (cpython/dictobject.h: bits 0-7 of _ma_watcher_tag are the
   watchers') is set directly, once a probe dict showed that watching sets exactly that
   bit and unwatching clears it; otherwise the calls are made. 0, or -1 with exception
   set. */
static int
learn_clone_watch_bit(copy_state *st)
{
    uint64_t bit = (uint64_t)1 << st->clone_watcher, before, watched, after;
    PyObject *probe = PyDict_New();
    int rc = -1;
    st->clone_watch_bit = 0;
    if (probe == NULL) {
        return -1;
    }
    before = ((PyDictObject *)probe)->_ma_watcher_tag;
    if (PyDict_Watch(st->clone_watcher, probe) == 0) {
        watched = ((PyDictObject *)probe)->_ma_watcher_tag;
        if (PyDict_Unwatch(st->clone_watcher, probe) == 0) {
            after = ((PyDictObject *)probe)->_ma_watcher_tag;
            if ((before & bit) == 0 && watched == (before | bit) && after == before) {
                st->clone_watch_bit = bit;
            }
            rc = 0;
        }
    }
    Py_DECREF(probe);
    return rc;
}
#endif

/* 3.14+: watch the registries for changes (registry_version), and have a watcher
   ready for dicts being cloned. Without a free watcher id (8 per interpreter), the
   registries are looked up every time and no dict copy is begun as a clone. 0, or
   -1 with exception set. */
static int
watch_registries(copy_state *st)
{
    st->registry_watcher = st->clone_watcher = -1;
#if WATCH_DICTS
    st->registry_watcher = PyDict_AddWatcher(registry_changed);
    if (st->registry_watcher < 0) {
        PyErr_Clear();
        return 0;
    }
    if (PyDict_Watch(st->registry_watcher, st->stdlib_deep_dispatch) < 0
        || PyDict_Watch(st->registry_watcher, st->dispatch_table) < 0) {
        return -1;
    }
    st->clone_watcher = PyDict_AddWatcher(clone_source_changed);
    if (st->clone_watcher < 0) {
        PyErr_Clear();
        return 0;
    }
    return learn_clone_watch_bit(st);
#else
    return 0;
#endif
}

/* The getter behind `__dict__` on an ordinary class, read from a throwaway class. */
static int
learn_dict_getter(copy_state *st)
{
    PyObject *cls, *descr;
    cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){}", "_copykit_probe");
    if (cls == NULL) {
        return -1;
    }
    descr = _PyType_Lookup((PyTypeObject *)cls, st->s_dict);
    if (descr != NULL && Py_IS_TYPE(descr, &PyGetSetDescr_Type)) {
        st->dict_getter = ((PyGetSetDescrObject *)descr)->d_getset->get;
    }
    Py_DECREF(cls);
    return 0;
}

/* Intern the attribute names used on hot paths; 0 or -1. */
static int
intern_names(copy_state *st)
{
    struct { PyObject **field; const char *text; } names[] = {
        {&st->s_deepcopy, "__deepcopy__"}, {&st->s_copy, "__copy__"},
        {&st->s_reduce_ex, "__reduce_ex__"}, {&st->s_reduce, "__reduce__"},
        {&st->s_getstate, "__getstate__"}, {&st->s_setstate, "__setstate__"},
        {&st->s_dict, "__dict__"}, {&st->s_update, "update"}, {&st->s_append, "append"},
        {&st->s_items, "items"}, {&st->s_new, "__new__"}, {&st->s_slotnames, "__slotnames__"},
        {&st->s_getnewargs, "__getnewargs__"}, {&st->s_getnewargs_ex, "__getnewargs_ex__"},
        {&st->s_self, "__self__"}, {&st->s_class, "__class__"},
        {&st->s_types, "types"}, {&st->s_predicate, "predicate"},
        {&st->s_per_type, "per_type"}, {&st->s_copy_method, "copy"},
        {&st->s_uuid, "uuid"}, {&st->s_UUID, "UUID"}, {&st->s_SafeUUID, "SafeUUID"},
        {&st->s_int, "int"}, {&st->s_is_safe, "is_safe"}, {&st->s_file, "__file__"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].field = PyUnicode_InternFromString(names[i].text);
        if (*names[i].field == NULL) {
            return -1;
        }
    }
    return 0;
}

static int
copykit_exec(PyObject *module)
{
    copy_state *st = get_state(module);
    PyObject *copy_module = NULL, *copyreg = NULL;
    int rc = -1;
    if (intern_names(st) < 0) {
        goto done;
    }
    st->empty_tuple = PyTuple_New(0);
    st->four = PyLong_FromLong(4);
    if (st->empty_tuple == NULL || st->four == NULL) {
        goto done;
    }
    copy_module = PyImport_ImportModule("copy");
    copyreg = PyImport_ImportModule("copyreg");
    st->pycopy = PyImport_ImportModule("copykit._pycopy");
    if (copy_module == NULL || copyreg == NULL || st->pycopy == NULL
        || take_attr(&st->Error, copy_module, "Error") < 0
        || take_copy_registries(st, copy_module) < 0
        || take_attr(&st->stdlib_deep_dispatch, copy_module, "_deepcopy_dispatch") < 0
        || take_attr(&st->dispatch_table, copyreg, "dispatch_table") < 0
        || take_attr(&st->copyreg_newobj, copyreg, "__newobj__") < 0
        || take_attr(&st->own_copiers, st->pycopy, "_STDLIB_TO_OWN_COPIERS") < 0
        || take_attr(&st->own_atomic, st->pycopy, "_deepcopy_atomic") < 0
        || take_attr(&st->keep_policies, st->pycopy, "_KEEP_POLICIES") < 0
        || take_attr(&st->keep_policy, st->pycopy, "_keep_policy") < 0
        || take_attr(&st->abc_meta, st->pycopy, "ABCMeta") < 0) {
        goto done;
    }
    if (!PyDict_CheckExact(st->dispatch_table) || !PyDict_CheckExact(st->own_copiers)
        || (st->stdlib_copy_dispatch != NULL && !PyDict_CheckExact(st->stdlib_copy_dispatch))
        || !PyDict_CheckExact(st->stdlib_deep_dispatch)
        || !PyDict_CheckExact(st->keep_policies)) {
        PyErr_SetString(PyExc_ImportError, "copykit._ccopy: unexpected copy module layout");
        goto done;
    }
    if (watch_registries(st) < 0) {
        goto done;
    }
    st->deep_registry.seen = 0;  /* learnt at the first look-up */
    st->copy_registry.seen = 0;
    st->object_reduce_ex = _PyType_Lookup(&PyBaseObject_Type, st->s_reduce_ex);
    st->object_reduce = _PyType_Lookup(&PyBaseObject_Type, st->s_reduce);
    st->object_getstate = _PyType_Lookup(&PyBaseObject_Type, st->s_getstate);
    st->object_class = _PyType_Lookup(&PyBaseObject_Type, st->s_class);
    if (dictview_verify() < 0 || learn_dict_getter(st) < 0
        || PyModule_AddObjectRef(module, "_DICT_LAYOUT_VERIFIED",
                                 dictview_ok ? Py_True : Py_False) < 0) {
        goto done;
    }
    if (PyModule_AddObjectRef(module, "Error", st->Error) < 0
        || PyModule_AddObjectRef(module, "error", st->Error) < 0
        || template_exec(module) < 0) {
        goto done;
    }
    {
        PyObject *replace = PyObject_GetAttrString(st->pycopy, "replace");
        if (replace == NULL || PyModule_AddObject(module, "replace", replace) < 0) {
            Py_XDECREF(replace);
            goto done;
        }
    }
    rc = 0;
done:
    Py_XDECREF(copy_module);
    Py_XDECREF(copyreg);
    return rc;
}

#define STATE_REFS(st, X)                                                            \
    X(st->Error) X(st->dispatch_table) X(st->copyreg_newobj) X(st->stdlib_copy_dispatch) \
    X(st->copy_atomic_types) X(st->copy_containers) X(st->deep_atomic_types)           \
    X(st->stdlib_deep_dispatch) X(st->pycopy) X(st->own_copiers) X(st->own_atomic)    \
    X(st->helpers) X(st->enum_deepcopy) X(st->empty_tuple) X(st->four)                \
    X(st->s_deepcopy) X(st->s_copy) X(st->s_reduce_ex) X(st->s_reduce)                \
    X(st->s_getstate) X(st->s_setstate) X(st->s_dict) X(st->s_update) X(st->s_append) \
    X(st->s_items) X(st->s_new) X(st->s_slotnames) X(st->s_getnewargs)                \
    X(st->s_getnewargs_ex) X(st->s_self) X(st->s_class) X(st->keep_policies)          \
    X(st->keep_policy) X(st->abc_meta) X(st->s_types) X(st->s_predicate)             \
    X(st->s_per_type) X(st->s_copy_method) X(st->s_uuid) X(st->s_UUID)                \
    X(st->s_SafeUUID) X(st->s_int) X(st->s_is_safe) X(st->s_file) X(st->uuid_type)    \
    X(st->uuid_safe_type)

static int
copykit_traverse(PyObject *module, visitproc visit, void *arg)
{
    copy_state *st = get_state(module);
#define VISIT(field) Py_VISIT(field);
    STATE_REFS(st, VISIT)
#undef VISIT
    return 0;
}

static int
copykit_clear(PyObject *module)
{
    copy_state *st = get_state(module);
#define CLEAR(field) Py_CLEAR(field);
    STATE_REFS(st, CLEAR)
#undef CLEAR
    memset(st->plans, 0, sizeof(st->plans));
    return 0;
}

static void
copykit_free(void *module)
{
#if WATCH_DICTS
    copy_state *st = get_state((PyObject *)module);
    PyObject *exc = PyErr_GetRaisedException();  /* freeing may happen mid-error */
    if (st->registry_watcher >= 0 && PyDict_ClearWatcher(st->registry_watcher) < 0) {
        PyErr_WriteUnraisable((PyObject *)module);
    }
    if (st->clone_watcher >= 0 && PyDict_ClearWatcher(st->clone_watcher) < 0) {
        PyErr_WriteUnraisable((PyObject *)module);
    }
    st->registry_watcher = st->clone_watcher = -1;
    PyErr_SetRaisedException(exc);
#endif
    copykit_clear((PyObject *)module);
}

static PyModuleDef_Slot copykit_slots[] = {
    {Py_mod_exec, copykit_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef copykit_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "copykit._ccopy",
    .m_doc = "The C implementation of copykit: copy and deepcopy, exactly as the stdlib's.",
    .m_size = sizeof(copy_state),
    .m_methods = copykit_methods,
    .m_slots = copykit_slots,
    .m_traverse = copykit_traverse,
    .m_clear = copykit_clear,
    .m_free = copykit_free,
};

PyMODINIT_FUNC
PyInit__ccopy(void)
{
    return PyModuleDef_Init(&copykit_module);
}
