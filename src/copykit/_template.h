/* _template.h: copykit.template(x), included by _ccopy.c just before its method table
 * (it uses that file's state, plans, registries and deepcopy entry points).
 *
 * template(x, keep=keep) deep-copies x once into a private snapshot; every call of the
 * template returns exactly what deepcopy(snapshot, keep=keep) returns. The snapshot is
 * never handed out and never changed, so a plan made from it once stays true as long
 * as nothing deepcopy consults has changed since: the registries (versions), the
 * classes of the instances in it (version tags) and, from 3.14, copy._atomic_types.
 *
 * The plan. When the snapshot is made of exact lists, dicts, tuples, sets of atoms and
 * plain instances (the per-type plan PLAN_REDUCE: no hooks, no reduce methods), a call
 * runs no Python code at all, and its result is fixed by the snapshot: dicts are cloned
 * and their compound values replaced, lists and tuples built in place, tuples whose
 * parts are all their own copies returned as they are, instances made with
 * object.__new__ and given their state as deepcopy_by_plan gives it. The plan is a flat
 * array of nodes in pre-order, one per object that is copied (atoms, constant tuples and
 * what keep= keeps need none). An object reached again (shared, or a cycle) is a node
 * referring to the copy made first, which the call keeps as deepcopy's memo would.
 * keep= of classes is decided once per class; a predicate or an ABC, hooks, reduce
 * methods, and a plan that would outweigh the snapshot make every call deepcopy(snapshot)
 * instead: exact by construction. So is any call made when the plan no longer holds, and
 * any call whose plan fails (MemoryError, RecursionError): deepcopy then fails, or not,
 * as it would, with its path notes. docs/c-design.md, "Templates", has the details.
 */

#define TPL_MAX_DEPTH 200  /* deeper snapshots are copied by deepcopy (its walk is iterative) */

#ifndef Py_T_PYSSIZET
#  define Py_T_PYSSIZET T_PYSSIZET
#endif

enum {
    TPL_LIST_ATOMS,  /* a list whose items are their own copies: a slice */
    TPL_LIST,        /* a slice, then the items that are copied replaced by their copies */
    TPL_DICT_ATOMS,  /* a dict whose keys and values are their own copies: a clone */
    TPL_DICT,        /* a clone, then the values that are copied replaced */
    TPL_TUPLE,       /* a new tuple of the items, those copied replaced */
    TPL_SET,         /* set(items) of the set's list of atoms, as deepcopy builds it */
    TPL_FROZENSET,   /* frozenset(items), likewise */
    TPL_INSTANCE,    /* object.__new__(cls), its dict updated, slots set, parts replaced */
    TPL_REF,         /* an object the plan copied before (shared, or a cycle): that copy */
};

/* One object the plan copies; its copied parts follow it (pre-order). */
typedef struct {
    int kind;
    int type_index;       /* TPL_INSTANCE: its entry in the template's types */
    int slot;             /* where a call keeps this node's copy for TPL_REF nodes (-1:
                             nowhere, it is reached once); TPL_REF: the slot it reads */
    int children;         /* nodes of parts directly below (their own parts follow them);
                             a plan has fewer than INT_MAX nodes */
    Py_ssize_t where;     /* in the parent: list/tuple index, dict entry (-1: look the key
                             up), slot number, or -1: an entry of an instance's dict */
    PyObject *source;     /* borrowed from the snapshot; a set's: its list of items */
    PyObject *key;        /* in a dict (or an instance's dict): the key */
    PyObject *state;      /* TPL_INSTANCE: its dict state (borrowed, owned), or NULL */
} TplNode;

/* The class of objects the plan keeps (keep=), with the version tag its answer relied on. */
typedef struct {
    PyTypeObject *type;  /* strong */
    unsigned int tag;
} TplKept;

/* A class of instances in the plan, with the per-type plan it was compiled under. */
typedef struct {
    PyTypeObject *type;  /* strong */
    TypePlan plan;
} TplType;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    copy_state *st;        /* the module's (its type holds the module) */
    PyObject *snapshot;    /* deepcopy(x, keep=keep), private and never changed */
    PyObject *keep;        /* keep= as given (strong), or NULL */
    PyObject *owned;       /* a list of what the plan borrows beyond the snapshot, or NULL */
    TplNode *nodes;        /* the plan, or NULL: deepcopy(snapshot) on every call */
    Py_ssize_t nnodes;
    TplType *types;
    Py_ssize_t ntypes;
    TplKept *kept;         /* keep=: the classes of what the plan keeps, beyond the
                              exact builtin containers, whose answers it relied on */
    Py_ssize_t nkept;
    int nslots;            /* copies a call remembers for TPL_REF (shared objects) */
    int finalizers;        /* a class in the plan has a finalizer (__del__) */
    int constant;          /* the snapshot is its own deep copy */
    int uses_registries;   /* the plan assumed the registries' versions below */
    int nesting;           /* recursion levels deepcopy(snapshot) enters, at most */
    uint64_t deep_version, table_version;
} TemplateObject;

/* ------------------------------------------------------------------------ */
/* Compiling                                                                */
/* ------------------------------------------------------------------------ */

#define TPL_CONSTANT 0     /* its own deep copy: no node */
#define TPL_NODE 1         /* a node emitted */
#define TPL_UNSUPPORTED 2  /* the whole template falls back to deepcopy */

typedef struct {
    copy_state *st;
    TemplateObject *t;
    TplNode *nodes;
    Py_ssize_t n, cap;
    Py_ssize_t types_cap;
    MemoTable seen;        /* the objects copied so far: their nodes (TPL_STATE: a state) */
    PyObject *keep_types;  /* keep=: its tuple of classes, all of metaclass type; or NULL */
    Py_ssize_t snapshot_bytes;  /* what the objects the plan copies take (estimated) */
    Py_ssize_t plan_bytes;      /* what the plan holds beyond its nodes and the snapshot */
    int too_big;           /* the plan reached INT_MAX nodes: no plan (not an error) */
} TplCompiler;

#define TPL_STATE (-1)     /* seen as an instance's dict state, which deepcopy copies apart */

static int tpl_compile(TplCompiler *cc, PyObject *obj, int depth);

/* Append a node (zeroed but for kind and source); its index, or -1 with MemoryError. */
static Py_ssize_t
tpl_emit(TplCompiler *cc, int kind, PyObject *source)
{
    if (cc->n == INT_MAX - 1) {
        cc->too_big = 1;  /* tpl_make_plan then drops the plan and this exception */
        PyErr_NoMemory();
        return -1;
    }
    if (cc->n == cc->cap) {
        Py_ssize_t cap = cc->cap < 16 ? 16 : cc->cap * 2;
        TplNode *nodes = PyMem_Realloc(cc->nodes, (size_t)cap * sizeof(TplNode));
        if (nodes == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        cc->nodes = nodes;
        cc->cap = cap;
    }
    memset(&cc->nodes[cc->n], 0, sizeof(TplNode));
    cc->nodes[cc->n].kind = kind;
    cc->nodes[cc->n].slot = -1;
    cc->nodes[cc->n].source = source;
    return cc->n++;
}

/* Note obj as copied by node at (or TPL_STATE); 0, or -1 with exception set. */
static int
tpl_see(TplCompiler *cc, PyObject *obj, Py_ssize_t at)
{
    PyObject *index = PyLong_FromSsize_t(at);
    int rc;
    if (index == NULL) {
        return -1;
    }
    rc = memotable_set(&cc->seen, obj, index);
    Py_DECREF(index);
    return rc;
}

#define TPL_UNSEEN (-2)

/* The node that copies obj, TPL_STATE, or TPL_UNSEEN; never fails. */
static Py_ssize_t
tpl_seen(TplCompiler *cc, PyObject *obj)
{
    PyObject *index = memotable_get(&cc->seen, obj);
    return index == NULL ? TPL_UNSEEN : PyLong_AsSsize_t(index);
}

/* obj again, first copied by node first: a TPL_REF node to that copy, as deepcopy's memo
   answers. TPL_NODE, TPL_UNSUPPORTED (obj is an instance's dict state, which deepcopy
   copies apart from the instance's own dict), or -1 with exception set. */
static int
tpl_compile_ref(TplCompiler *cc, PyObject *obj, Py_ssize_t first)
{
    Py_ssize_t at;
    if (first == TPL_STATE) {
        return TPL_UNSUPPORTED;
    }
    if (cc->nodes[first].slot < 0) {
        if (cc->t->nslots == INT_MAX) {
            return TPL_UNSUPPORTED;
        }
        cc->nodes[first].slot = cc->t->nslots++;
    }
    at = tpl_emit(cc, TPL_REF, obj);
    if (at < 0) {
        return -1;
    }
    cc->nodes[at].slot = cc->nodes[first].slot;
    return TPL_NODE;
}

/* Keep obj (borrowed) alive with the template; 0 or -1 with exception set. */
static int
tpl_own(TplCompiler *cc, PyObject *obj)
{
    if (cc->t->owned == NULL) {
        cc->t->owned = PyList_New(0);
        if (cc->t->owned == NULL) {
            return -1;
        }
    }
    return PyList_Append(cc->t->owned, obj);
}

/* Do deepcopy's registries say nothing about tp (no copier, no reductor) and does
   looking it up run no code? 1 yes, 0 no (never an exception). */
static int
tpl_unregistered(copy_state *st, PyTypeObject *tp)
{
    PyObject *found;
    if (type_hashes_in_python(tp)) {
        return 0;
    }
    found = PyDict_GetItemWithError(st->stdlib_deep_dispatch, (PyObject *)tp);
    if (found == NULL && !PyErr_Occurred()) {
        found = PyDict_GetItemWithError(st->dispatch_table, (PyObject *)tp);
    }
    PyErr_Clear();
    return found == NULL;
}

/* Is key its own deep copy, inserted without running code (a plain atom, or a tuple
   of such)? */
static int
tpl_key_is_plain(PyObject *key, int depth)
{
    if (is_plain_key(Py_TYPE(key))) {
        return 1;
    }
    if (!PyTuple_CheckExact(key) || depth > TPL_MAX_DEPTH) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(key); i++) {
        if (!tpl_key_is_plain(PyTuple_GET_ITEM(key, i), depth + 1)) {
            return 0;
        }
    }
    return 1;
}

/* sys.getsizeof's answer for obj of an exact builtin container type tp, from tp's own C
   __sizeof__ called directly (no attribute lookup, no code of a program's); -1 if it
   cannot say. Never leaves an exception set. */
static Py_ssize_t
tpl_builtin_sizeof(PyTypeObject *tp, PyObject *obj)
{
    for (PyMethodDef *def = tp->tp_methods; def != NULL && def->ml_name != NULL; def++) {
        if ((def->ml_flags & METH_NOARGS) && strcmp(def->ml_name, "__sizeof__") == 0) {
            PyObject *size = def->ml_meth(obj, NULL);
            Py_ssize_t bytes = size != NULL ? PyLong_AsSsize_t(size) : -1;
            Py_XDECREF(size);
            PyErr_Clear();
            return bytes;
        }
    }
    return -1;
}

/* Count obj, which the plan copies, in the snapshot's size: what sys.getsizeof says of
   an exact builtin container, an instance's basic size otherwise (its dict is counted
   apart), with the collector's header. An estimate for the plan's budget
   (tpl_make_plan); never fails. */
static void
tpl_count_bytes(TplCompiler *cc, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    Py_ssize_t bytes = tp->tp_basicsize, own = -1;
    if (tp == &PyTuple_Type) {  /* object.__sizeof__: the items follow the header */
        own = tp->tp_basicsize + PyTuple_GET_SIZE(obj) * tp->tp_itemsize;
    }
    else if (tp == &PyList_Type || tp == &PyDict_Type || tp == &PySet_Type
             || tp == &PyFrozenSet_Type) {
        own = tpl_builtin_sizeof(tp, obj);
    }
    if (own >= 0) {
        bytes = own;
    }
    cc->snapshot_bytes += bytes + (PyObject_IS_GC(obj) ? 2 * (Py_ssize_t)sizeof(void *) : 0);
}

/* Compile the parts items[0..n) of a list or tuple as children of node at (their
   `where` their index). TPL_CONSTANT when none is copied, TPL_NODE, or as tpl_compile. */
static int
tpl_compile_items(TplCompiler *cc, Py_ssize_t at, PyObject *const *items, Py_ssize_t n,
                  int depth)
{
    int any = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t child = cc->n;
        int r = tpl_compile(cc, items[i], depth + 1);
        if (r == TPL_NODE) {
            cc->nodes[child].where = i;
            cc->nodes[at].children++;
            any = 1;
        }
        else if (r != TPL_CONSTANT) {
            return r;
        }
    }
    return any ? TPL_NODE : TPL_CONSTANT;
}

/* Compile the values of dict d as children of node at, each with its key and `where`
   its entry (entries: the dict's table is readable, else -1). TPL_CONSTANT when no
   value is copied, TPL_NODE, or as tpl_compile. */
static int
tpl_compile_values(TplCompiler *cc, Py_ssize_t at, PyObject *d, int entries, int depth)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int any = 0;
    while (PyDict_Next(d, &pos, &key, &value)) {
        Py_ssize_t child = cc->n;
        int r;
        if (!tpl_key_is_plain(key, 0)) {
            return TPL_UNSUPPORTED;
        }
        r = tpl_compile(cc, value, depth + 1);
        if (r == TPL_NODE) {
            cc->nodes[child].where = entries ? pos - 1 : -1;
            cc->nodes[child].key = key;
            cc->nodes[at].children++;
            any = 1;
        }
        else if (r != TPL_CONSTANT) {
            return r;
        }
    }
    return any ? TPL_NODE : TPL_CONSTANT;
}

/* A list or dict: always a node (the copy is a new object). TPL_NODE or as tpl_compile. */
static int
tpl_compile_container(TplCompiler *cc, PyObject *obj, int depth)
{
    int is_list = PyList_CheckExact(obj), r;
    DictView view;
    Py_ssize_t at = tpl_emit(cc, is_list ? TPL_LIST : TPL_DICT, obj);
    if (at < 0) {
        return -1;
    }
    tpl_count_bytes(cc, obj);
    if (is_list) {
        r = tpl_compile_items(cc, at, PySequence_Fast_ITEMS(obj), PyList_GET_SIZE(obj), depth);
    }
    else {
        r = tpl_compile_values(cc, at, obj, dictview_get(obj, &view), depth);
    }
    if (r == TPL_CONSTANT) {
        cc->nodes[at].kind = is_list ? TPL_LIST_ATOMS : TPL_DICT_ATOMS;
        return TPL_NODE;
    }
    return r;
}

/* A tuple: no node when every item is its own copy (deepcopy returns the tuple). */
static int
tpl_compile_tuple(TplCompiler *cc, PyObject *obj, int depth)
{
    Py_ssize_t at = tpl_seen(cc, obj);
    int r;
    if (at != TPL_UNSEEN) {
        return tpl_compile_ref(cc, obj, at);
    }
    at = tpl_emit(cc, TPL_TUPLE, obj);
    if (at < 0) {
        return -1;
    }
    r = tpl_compile_items(cc, at, PySequence_Fast_ITEMS(obj), PyTuple_GET_SIZE(obj), depth);
    if (r == TPL_CONSTANT) {
        cc->n = at;  /* nothing below it was emitted either */
        return TPL_CONSTANT;
    }
    if (r != TPL_NODE) {
        return r;
    }
    /* Only now: a tuple that is its own copy may recur. Reached inside itself, it is in
       a cycle, where deepcopy's tuple copy answers from the memo after its items. */
    if (tpl_seen(cc, obj) != TPL_UNSEEN) {
        return TPL_UNSUPPORTED;
    }
    tpl_count_bytes(cc, obj);
    return tpl_see(cc, obj, at) < 0 ? -1 : TPL_NODE;
}

/* An exact set or frozenset of atoms, copied as set.__reduce__ + _reconstruct do when
   the registries leave it alone: cls(list(x)). */
static int
tpl_compile_set(TplCompiler *cc, PyObject *obj)
{
    PyObject *items;
    int r = set_walkable(cc->st, Py_TYPE(obj));
    if (r <= 0) {
        PyErr_Clear();
        return TPL_UNSUPPORTED;
    }
    items = PySequence_List(obj);
    if (items == NULL) {
        return -1;
    }
    if (!sequence_is_leaf(items)) {
        Py_DECREF(items);
        return TPL_UNSUPPORTED;
    }
    r = tpl_own(cc, items);
    Py_DECREF(items);  /* the owned list holds it */
    if (r < 0 || tpl_emit(cc, PySet_CheckExact(obj) ? TPL_SET : TPL_FROZENSET, items) < 0) {
        return -1;
    }
    tpl_count_bytes(cc, obj);
    cc->plan_bytes += (Py_ssize_t)(sizeof(PyListObject) + 2 * sizeof(void *)
                                   + (size_t)PyList_GET_SIZE(items) * sizeof(PyObject *));
    cc->t->uses_registries = 1;
    return TPL_NODE;
}

/* The index of tp in the template's types (added, with its plan, if new); -1 error. */
static Py_ssize_t
tpl_type_index(TplCompiler *cc, PyTypeObject *tp, const TypePlan *plan)
{
    TemplateObject *t = cc->t;
    for (Py_ssize_t i = 0; i < t->ntypes; i++) {
        if (t->types[i].type == tp) {
            return i;
        }
    }
    if (t->ntypes == cc->types_cap) {
        Py_ssize_t cap = cc->types_cap < 4 ? 4 : cc->types_cap * 2;
        TplType *types = PyMem_Realloc(t->types, (size_t)cap * sizeof(TplType));
        if (types == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        t->types = types;
        cc->types_cap = cap;
    }
    if (tp->tp_finalize != NULL || tp->tp_del != NULL) {
        t->finalizers = 1;
    }
    t->types[t->ntypes].type = (PyTypeObject *)Py_NewRef((PyObject *)tp);
    plan_snapshot(&t->types[t->ntypes].plan, plan);
    return t->ntypes++;
}

/* Learn the plan of obj's class again when another class took its cache entry since the
   snapshot was made (the entries are shared by all classes): from a real reduce value,
   as deepcopy does, for a class whose every attribute says "default" and an instance
   whose dict overrides nothing, so that only object.__reduce_ex__ runs. Never fails. */
static void
tpl_relearn_plan(copy_state *st, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject *dict, *rv;
    int overrides;
    if (!plan_type_is_plain(st, tp)) {
        return;
    }
    dict = instance_dict(obj, type_has_instance_dict(tp));
    overrides = dict == NULL && PyErr_Occurred() ? -1 : instance_dict_overrides(st, dict);
    Py_XDECREF(dict);
    rv = overrides == 0 ? reduce_object(st, obj, 1) : NULL;
    if (rv != NULL && !PyUnicode_Check(rv)) {
        plan_learn(st, obj, rv);
    }
    Py_XDECREF(rv);
    PyErr_Clear();
}

/* The usable PLAN_REDUCE plan of a plain instance's class, or NULL (never an error). */
static const TypePlan *
tpl_instance_plan(copy_state *st, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    int known;
    TypePlan *plan;
    if (!tpl_unregistered(st, tp)) {
        return NULL;
    }
    plan = plan_find(st, tp, &known);
    if (plan == NULL && !known) {
        tpl_relearn_plan(st, obj);
        plan = plan_find(st, tp, &known);
    }
    if (plan == NULL || plan->kind != PLAN_REDUCE
        || (plan->nslots > 0 && tp->tp_setattro != PyObject_GenericSetAttr)) {
        return NULL;
    }
    return plan;
}

/* The children of an instance node at: its dict's compound values (where -1), then
   its slots' (where: the slot number). TPL_NODE, or as tpl_compile. */
static int
tpl_compile_state(TplCompiler *cc, Py_ssize_t at, const TypePlan *plan, PyObject *obj,
                  PyObject *dict, int depth)
{
    int r;
    if (dict != NULL) {
        r = tpl_compile_values(cc, at, dict, 0, depth);
        if (r != TPL_CONSTANT && r != TPL_NODE) {
            return r;
        }
    }
    for (Py_ssize_t i = 0; i < plan->nslots; i++) {
        PyObject *value = *(PyObject **)((char *)obj + plan->offsets[i]);
        Py_ssize_t child = cc->n;
        if (value == NULL) {
            continue;
        }
        r = tpl_compile(cc, value, depth + 1);
        if (r == TPL_NODE) {
            cc->nodes[child].where = i;
            cc->nodes[at].children++;
        }
        else if (r != TPL_CONSTANT) {
            return r;
        }
    }
    return TPL_NODE;
}

/* A plain instance copied by its class's plan (deepcopy_by_plan, without the memo). */
static int
tpl_compile_instance(TplCompiler *cc, PyObject *obj, int depth)
{
    PyTypeObject *tp = Py_TYPE(obj);
    const TypePlan *plan = tpl_instance_plan(cc->st, obj);
    PyObject *dict;
    Py_ssize_t at, index;
    int r;
    if (plan == NULL || !PyType_IS_GC(tp)) {  /* a class statement's always is: see
                                                 tpl_build_dict for why it must be */
        return TPL_UNSUPPORTED;
    }
    dict = instance_dict(obj, plan->has_dict);
    if (dict == NULL && PyErr_Occurred()) {
        return -1;
    }
#if PY_VERSION_HEX >= 0x030B0000
    if (dict != NULL && PyDict_GET_SIZE(dict) == 0) {
        Py_CLEAR(dict);  /* state None: the copy gets no dict (see plan_state) */
    }
#endif
    r = instance_dict_overrides(cc->st, dict);
    if (r == 0 && dict != NULL && tpl_seen(cc, dict) != TPL_UNSEEN) {
        r = 1;  /* the dict is reached elsewhere too: deepcopy's state is a copy apart */
    }
    if (r != 0 || (dict != NULL && (tpl_own(cc, dict) < 0 || tpl_see(cc, dict, TPL_STATE) < 0))) {
        Py_XDECREF(dict);
        return r > 0 ? TPL_UNSUPPORTED : -1;
    }
    Py_XDECREF(dict);  /* the owned list holds it */
    index = tpl_type_index(cc, tp, plan);
    at = index < 0 ? -1 : tpl_emit(cc, TPL_INSTANCE, obj);
    if (at < 0) {
        return -1;
    }
    cc->nodes[at].type_index = (int)index;
    cc->nodes[at].state = dict;
    tpl_count_bytes(cc, obj);
    if (dict != NULL) {
        tpl_count_bytes(cc, dict);
    }
    cc->t->uses_registries = 1;
    return tpl_compile_state(cc, at, &cc->t->types[index].plan, obj, dict, depth);
}

/* Note tp as a class whose objects the plan keeps; 0, or -1 with exception set. */
static int
tpl_note_kept(TplCompiler *cc, PyTypeObject *tp)
{
    TemplateObject *t = cc->t;
    TplKept *kept;
    for (Py_ssize_t i = 0; i < t->nkept; i++) {
        if (t->kept[i].type == tp) {
            return 0;
        }
    }
    kept = PyMem_Realloc(t->kept, (size_t)(t->nkept + 1) * sizeof(TplKept));
    if (kept == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    t->kept = kept;
    kept[t->nkept].type = (PyTypeObject *)Py_NewRef((PyObject *)tp);
    kept[t->nkept].tag = tp->tp_version_tag;
    t->nkept++;
    return 0;
}

/* keep= of classes: does deepcopy keep obj (neither an atom nor a class)? 1 yes, 0 no,
   TPL_UNSUPPORTED when the answer is not fixed by obj's class (see keep_matches), -1
   with exception set. The answer lasts while obj's class keeps its version tag: the
   exact builtin containers cannot change; a class kept here is checked by every call
   (tpl_plan_holds), a class not kept is an instance's class, checked with its plan. */
static int
tpl_kept(TplCompiler *cc, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    int builtin = tp == &PyList_Type || tp == &PyDict_Type || tp == &PyTuple_Type
                  || tp == &PySet_Type || tp == &PyFrozenSet_Type;
    if (!keep_answer_per_type(cc->st, tp) || (!builtin && !type_tag_valid(tp))) {
        return TPL_UNSUPPORTED;
    }
    if (!keep_is_subtype(tp, cc->keep_types)) {
        return 0;
    }
    return builtin || tpl_note_kept(cc, tp) == 0 ? 1 : -1;
}

/* Compile the deep copy of obj: TPL_CONSTANT, TPL_NODE (its node and its parts' are
   emitted), TPL_UNSUPPORTED, or -1 with exception set. */
static int
tpl_compile(TplCompiler *cc, PyObject *obj, int depth)
{
    PyTypeObject *tp = Py_TYPE(obj);
    Py_ssize_t first;
    if (is_deep_atomic(tp)) {
        return TPL_CONSTANT;
    }
    if (depth > TPL_MAX_DEPTH) {
        return TPL_UNSUPPORTED;
    }
    if (cc->keep_types != NULL && !PyType_Check(obj)) {
        int kept = tpl_kept(cc, obj);  /* offered before the memo is read: kept objects are
                                          never memoised, so the order does not matter */
        if (kept != 0) {
            return kept == 1 ? TPL_CONSTANT : kept;
        }
    }
    if (tp == &PyTuple_Type) {
        return tpl_compile_tuple(cc, obj, depth);
    }
    if (PyType_Check(obj)) {  /* a class of another metaclass: deepcopy returns it */
        cc->t->uses_registries = 1;
        return tpl_unregistered(cc->st, tp) ? TPL_CONSTANT : TPL_UNSUPPORTED;
    }
    first = tpl_seen(cc, obj);
    if (first != TPL_UNSEEN) {
        return tpl_compile_ref(cc, obj, first);
    }
    if (tpl_see(cc, obj, cc->n) < 0) {  /* the node emitted next is obj's */
        return -1;
    }
    if (tp == &PyList_Type || tp == &PyDict_Type) {
        return tpl_compile_container(cc, obj, depth);
    }
    if (tp == &PySet_Type || tp == &PyFrozenSet_Type) {
        return tpl_compile_set(cc, obj);
    }
    return tpl_compile_instance(cc, obj, depth);
}

/* The recursion levels deepcopy enters copying the subtree at nodes[*i] (advanced past
   it), inside a container walk or not: one per walk begun and per instance. An upper
   bound (a leaf container begins no walk), which is what the check needs. */
static int
tpl_nesting(const TplNode *nodes, Py_ssize_t *i, int in_walk)
{
    const TplNode *node = &nodes[(*i)++];
    int below = 0, own;
    if (node->kind == TPL_INSTANCE) {
        own = 2;  /* the instance, and the walk of its state */
        in_walk = 1;
    }
    else {
        own = in_walk ? 0 : 1;
        in_walk = 1;
    }
    for (Py_ssize_t c = 0; c < node->children; c++) {
        int level = tpl_nesting(nodes, i, node->kind == TPL_INSTANCE ? 1 : in_walk);
        if (level > below) {
            below = level;
        }
    }
    return own + below;
}

/* What the plan would hold beyond the snapshot. A template keeps its plan only while
   this is at most what the snapshot's copied objects take (cc->snapshot_bytes), or
   TPL_SMALL_PLAN for a small snapshot (a class's plan alone is some 340 bytes), so that
   it holds at most about twice its snapshot: many references to one object, each a
   node, can outweigh the object (pyperformance's deepcopy_memo: 103 references to one
   list). */
#define TPL_SMALL_PLAN 4096
static Py_ssize_t
tpl_plan_bytes(TemplateObject *t, const TplCompiler *cc)
{
    return (Py_ssize_t)((size_t)cc->n * sizeof(TplNode) + (size_t)t->ntypes * sizeof(TplType)
                        + (size_t)t->nkept * sizeof(TplKept))
           + cc->plan_bytes;
}

/* Make t's plan from its snapshot, or leave it without one; 0, or -1 with exception. */
static int
tpl_make_plan(TemplateObject *t)
{
    TplCompiler cc = {t->st, t, NULL, 0, 0, 0, {0}, NULL, 0, 0, 0};
    KeepCheck keep;
    Py_ssize_t i = 0;
    int r;
    if (t->keep != NULL) {  /* a class or a tuple of classes of metaclass type */
        memset(&keep, 0, sizeof(keep));
        r = keep_init_types(t->st, &keep, t->keep);
        if (r == 1 && keep.plain_types) {
            cc.keep_types = Py_NewRef(keep.types);
        }
        keep_release(&keep);
        if (r < 0) {
            return -1;
        }
        if (cc.keep_types == NULL) {
            return 0;  /* a predicate, or an ABC: answers that may change between calls */
        }
    }
#if ATOMS_BYPASS_MEMO
    if (PySet_GET_SIZE(t->st->deep_atomic_types) != t->st->deep_atomic_size) {
        return 0;  /* a program added atomic types: every type is looked up there */
    }
#endif
    t->deep_version = registry_version(t->st, t->st->stdlib_deep_dispatch);
    t->table_version = registry_version(t->st, t->st->dispatch_table);
    memotable_init(&cc.seen);
    r = tpl_compile(&cc, t->snapshot, 0);
    memotable_clear(&cc.seen);
    Py_XDECREF(cc.keep_types);
    if (r < 0 && cc.too_big) {
        PyErr_Clear();
        r = TPL_UNSUPPORTED;
    }
    if (r < 0 || r == TPL_UNSUPPORTED
        || (t->uses_registries && (t->deep_version == 0 || t->table_version == 0))
        || tpl_plan_bytes(t, &cc) > Py_MAX(cc.snapshot_bytes, TPL_SMALL_PLAN)) {
        PyMem_Free(cc.nodes);
        Py_CLEAR(t->owned);
        return r < 0 ? -1 : 0;
    }
    t->constant = r == TPL_CONSTANT;
    if (cc.n > 0) {
        TplNode *nodes = PyMem_Realloc(cc.nodes, (size_t)cc.n * sizeof(TplNode));
        t->nodes = nodes != NULL ? nodes : cc.nodes;  /* shrinking may keep the block */
        t->nnodes = cc.n;
        t->nesting = tpl_nesting(t->nodes, &i, 0);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Calling                                                                  */
/* ------------------------------------------------------------------------ */

/* Does the plan still say what deepcopy(snapshot) does? 1 or 0. */
static inline int
tpl_plan_holds(TemplateObject *t)
{
    copy_state *st = t->st;
#if ATOMS_BYPASS_MEMO
    if (PySet_GET_SIZE(st->deep_atomic_types) != st->deep_atomic_size) {
        return 0;
    }
#endif
    for (Py_ssize_t i = 0; i < t->nkept; i++) {
        PyTypeObject *tp = t->kept[i].type;
        if (!type_tag_valid(tp) || tp->tp_version_tag != t->kept[i].tag) {
            return 0;
        }
    }
    if (!t->uses_registries) {
        return 1;
    }
    if (registry_version(st, st->stdlib_deep_dispatch) != t->deep_version
        || registry_version(st, st->dispatch_table) != t->table_version) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < t->ntypes; i++) {
        const TypePlan *plan = &t->types[i].plan;
        PyTypeObject *tp = t->types[i].type;
        if (!type_tag_valid(tp) || tp->tp_version_tag != plan->tag
            || !type_tag_valid(Py_TYPE(tp)) || Py_TYPE(tp)->tp_version_tag != plan->meta_tag
            || !plan_slotnames_unchanged(plan)) {
            return 0;
        }
    }
    return 1;
}

/* Enter the recursion levels deepcopy(snapshot) would (see tpl_nesting); 0, or -1 with
   RecursionError set and every level entered left again. */
static int
tpl_enter(int levels)
{
    for (int i = 0; i < levels; i++) {
        if (c_nesting_exceeded() || Py_EnterRecursiveCall(" while deep-copying an object")) {
            while (i-- > 0) {
                Py_LeaveRecursiveCall();
            }
            return -1;
        }
    }
    return 0;
}

static void
tpl_leave(int levels)
{
    for (int i = 0; i < levels; i++) {
        Py_LeaveRecursiveCall();
    }
}

/* One call's walk of the plan: the template and the copies kept for TPL_REF nodes
   (borrowed: each is held by the result under construction, or by the builder). */
typedef struct {
    TemplateObject *t;
    PyObject **copies;
} TplRun;

static PyObject *tpl_build(TplRun *run, const TplNode **pc);

/* Keep y, node's copy, for the TPL_REF nodes that follow; return y. */
static inline PyObject *
tpl_remember(TplRun *run, const TplNode *node, PyObject *y)
{
    if (node->slot >= 0 && y != NULL) {
        run->copies[node->slot] = y;
    }
    return y;
}

/* The copy of the next subtree (*pc advanced past it): the commonest leaves, a dict or
   list of atoms reached once, made here without a call; the rest by tpl_build. */
static inline PyObject *
tpl_build_part(TplRun *run, const TplNode **pc)
{
    const TplNode *node = *pc;
    if (node->slot < 0) {
        if (node->kind == TPL_DICT_ATOMS) {
            (*pc)++;
            return PyDict_Copy(node->source);
        }
        if (node->kind == TPL_LIST_ATOMS) {
            (*pc)++;
            return PyList_GetSlice(node->source, 0, PyList_GET_SIZE(node->source));
        }
    }
    return tpl_build(run, pc);
}

/* A new list or tuple of node's source's items, its children's copies in their places:
   new reference, or NULL with exception set. The copy is remembered before its parts
   are made, as deepcopy memoises a list before its items (a tuple is never reached
   inside itself, see tpl_compile_tuple). */
static PyObject *
tpl_build_sequence(TplRun *run, const TplNode *node, const TplNode **pc)
{
    PyObject *x = node->source, *y, *const *items, **copies;
    Py_ssize_t n = Py_SIZE(x), c = 0, next;
    if (node->kind == TPL_TUPLE) {
        y = PyTuple_New(n);
        items = ((PyTupleObject *)x)->ob_item;
        copies = y != NULL ? ((PyTupleObject *)y)->ob_item : NULL;
    }
    else {
        y = PyList_New(n);
        items = ((PyListObject *)x)->ob_item;
        copies = y != NULL ? ((PyListObject *)y)->ob_item : NULL;
    }
    if (tpl_remember(run, node, y) == NULL) {
        return NULL;
    }
    next = node->children > 0 ? (*pc)->where : n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i != next) {
            copies[i] = Py_NewRef(items[i]);
            continue;
        }
        copies[i] = tpl_build_part(run, pc);
        if (copies[i] == NULL) {
            Py_DECREF(y);  /* the items not set yet are NULL, which it skips */
            return NULL;
        }
        next = ++c < node->children ? (*pc)->where : n;
    }
    return y;
}

/* d[key] = the copy of the next subtree, d an instance's dict (its entries are not
   the snapshot's, so the key is looked up); 0 or -1 with exception set. */
static inline int
tpl_set_value(TplRun *run, PyObject *d, const TplNode **pc)
{
    PyObject *key = (*pc)->key, *copy = tpl_build(run, pc);
    int rc;
    if (copy == NULL) {
        return -1;
    }
    rc = PyDict_SetItem(d, key, copy);
    Py_DECREF(copy);
    return rc;
}

/* A clone of node's source dict with its children's copies in place: new reference,
   or NULL with exception set. The clone's entries are located once: no code but this
   walk can see or change the clone meanwhile (its parts are new objects, and a copy
   reached again is only referred to). */
static PyObject *
tpl_build_dict(TplRun *run, const TplNode *node, const TplNode **pc)
{
    PyObject *y = tpl_remember(run, node, PyDict_Copy(node->source));
    DictView view = {NULL, 0, 0, 0};
    int viewed;
    if (y == NULL) {
        return NULL;
    }
    viewed = dictview_get(y, &view);
    for (Py_ssize_t c = 0; c < node->children; c++) {
        Py_ssize_t where = (*pc)->where;
        PyObject *key = (*pc)->key, *copy = tpl_build_part(run, pc);
        if (copy == NULL || dict_replace_viewed(y, &view, &viewed, where, key, copy, 0) < 0) {
            Py_DECREF(y);
            return NULL;
        }
    }
    /* as inserting the copies would have: each is a container or an instance of a class
       the collector tracks (tpl_compile_instance), which dict insertion tracks a dict for */
    if (!PyObject_GC_IsTracked(y)) {
        PyObject_GC_Track(y);
    }
    return y;
}

/* Give the fresh instance y its state as deepcopy_by_plan does: its dict updated from
   the state, its slots set; the parts copied replaced. 0 or -1 with exception set. */
static int
tpl_fill_instance(TplRun *run, const TplNode *node, PyObject *y, const TplNode **pc)
{
    const TypePlan *plan = &run->t->types[node->type_index].plan;
    PyObject *x = node->source, *dict = NULL;
    int rc = -1;
    if (node->state != NULL) {
        dict = PyObject_GenericGetDict(y, NULL);
        if (dict == NULL || PyDict_Update(dict, node->state) < 0) {
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < plan->nslots; i++) {
        PyObject *value = *(PyObject **)((char *)x + plan->offsets[i]);
        if (value != NULL) {
            Py_XSETREF(*(PyObject **)((char *)y + plan->offsets[i]), Py_NewRef(value));
        }
    }
    for (Py_ssize_t c = 0; c < node->children; c++) {
        Py_ssize_t where = (*pc)->where;
        if (where < 0) {
            if (tpl_set_value(run, dict, pc) < 0) {
                goto done;
            }
            continue;
        }
        PyObject *copy = tpl_build(run, pc);
        if (copy == NULL) {
            goto done;
        }
        Py_XSETREF(*(PyObject **)((char *)y + plan->offsets[where]), copy);
    }
    rc = 0;
done:
    Py_XDECREF(dict);
    return rc;
}

/* The copy of the subtree at *pc (advanced past it): new reference, or NULL with
   exception set. */
static PyObject *
tpl_build(TplRun *run, const TplNode **pc)
{
    const TplNode *node = (*pc)++;
    PyTypeObject *tp;
    PyObject *y;
    switch (node->kind) {
    case TPL_LIST_ATOMS:
        return tpl_remember(run, node, PyList_GetSlice(node->source, 0,
                                                       PyList_GET_SIZE(node->source)));
    case TPL_DICT_ATOMS:
        return tpl_remember(run, node, PyDict_Copy(node->source));
    case TPL_LIST:
    case TPL_TUPLE:
        return tpl_build_sequence(run, node, pc);
    case TPL_DICT:
        return tpl_build_dict(run, node, pc);
    case TPL_SET:
        return tpl_remember(run, node, PySet_New(node->source));
    case TPL_FROZENSET:
        return tpl_remember(run, node, PyFrozenSet_New(node->source));
    case TPL_REF:
        return Py_NewRef(run->copies[node->slot]);
    default:  /* TPL_INSTANCE */
        tp = run->t->types[node->type_index].type;
        y = tpl_remember(run, node, tp->tp_new(tp, run->t->st->empty_tuple, NULL));
        if (y != NULL && tpl_fill_instance(run, node, y, pc) < 0) {
            Py_CLEAR(y);
        }
        return y;
    }
}

/* deepcopy(snapshot, keep=keep): new reference, or NULL with exception set. */
static PyObject *
tpl_deepcopy(TemplateObject *t)
{
    if (t->keep != NULL) {
        return deepcopy_keeping(t->st, t->snapshot, Py_None, NULL, t->keep, NULL);
    }
    return deepcopy_call(t->st, t->snapshot, Py_None, NULL, NULL);
}

#define TPL_STACK_COPIES 32

/* Walk the plan once, inside the recursion levels deepcopy(snapshot) would enter: new
   reference, or NULL with exception set (RecursionError included). Collections are held
   off meanwhile before 3.12 (from 3.12 the collector runs only between bytecodes
   anyway): no Python code runs and nothing is garbage until the copy is done, so a
   collection would only traverse the copy under construction. Not while a class in
   the plan has a finalizer, which a failed walk could run. */
static PyObject *
tpl_run(TemplateObject *t)
{
    PyObject *stack_copies[TPL_STACK_COPIES], *y;
    TplRun run = {t, stack_copies};
    const TplNode *pc = t->nodes;
    int collecting;
    if (tpl_enter(t->nesting) < 0) {
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    collecting = t->finalizers ? 0 : PyGC_Disable();
#else
    collecting = 0;
#endif
    if (t->nslots > TPL_STACK_COPIES) {
        run.copies = PyMem_Malloc((size_t)t->nslots * sizeof(PyObject *));
        if (run.copies == NULL) {
            y = PyErr_NoMemory();
            goto done;
        }
    }
    y = tpl_build(&run, &pc);
    if (run.copies != stack_copies) {
        PyMem_Free(run.copies);
    }
done:
    if (collecting) {
        PyGC_Enable();
    }
    tpl_leave(t->nesting);
    return y;
}

/* One copy: by the plan while it holds, else (or if it fails) by deepcopy. New
   reference, or NULL with exception set. */
static PyObject *
tpl_copy(TemplateObject *t)
{
    PyObject *y;
    if (t->snapshot == NULL) {  /* cleared by the collector, called by a finalizer */
        PyErr_SetString(PyExc_ReferenceError, "the template was cleared");
        return NULL;
    }
    if ((t->nodes == NULL && !t->constant) || !tpl_plan_holds(t)) {
        return tpl_deepcopy(t);
    }
    if (t->constant) {
        return Py_NewRef(t->snapshot);
    }
    y = tpl_run(t);
    if (y == NULL) {  /* deepcopy then raises as it would, with its path notes, or not */
        PyErr_Clear();
        return tpl_deepcopy(t);
    }
    return y;
}

/* ------------------------------------------------------------------------ */
/* The Template type                                                        */
/* ------------------------------------------------------------------------ */

static PyObject *
template_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 0 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        (void)args;
        PyErr_Format(PyExc_TypeError, "Template() takes no arguments (%zd given)",
                     nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0));
        return NULL;
    }
    return tpl_copy((TemplateObject *)self);
}

PyDoc_STRVAR(template_many_doc,
"many($self, n, /)\n--\n\n"
"Return a list of n deep copies of the snapshot, made one after another.\n\n"
"Raises TypeError if n is not an integer and ValueError if it is negative.");

static PyObject *
template_many(PyObject *self, PyObject *arg)
{
    PyObject *number = PyNumber_Index(arg), *list;
    Py_ssize_t n;
    if (number == NULL) {
        return NULL;
    }
    n = PyLong_AsSsize_t(number);
    if (n < 0 && !PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError, "n must be >= 0, not %R", number);
    }
    Py_DECREF(number);
    if (n < 0) {
        return NULL;
    }
    list = PyList_New(n);
    for (Py_ssize_t i = 0; list != NULL && i < n; i++) {
        PyObject *copy = tpl_copy((TemplateObject *)self);
        if (copy == NULL) {
            Py_CLEAR(list);  /* the items not made yet are NULL, which it skips */
            break;
        }
        PyList_SET_ITEM(list, i, copy);
    }
    return list;
}

PyDoc_STRVAR(template_by_plan_doc,
"_by_plan($self, /)\n--\n\n"
"The copy the compiled plan makes, with no fallback to deepcopy (for tests).\n\n"
"Raises LookupError when there is no plan or it no longer holds, and what the plan\n"
"raises when it fails.");

static PyObject *
template_by_plan(PyObject *self, PyObject *unused)
{
    TemplateObject *t = (TemplateObject *)self;
    (void)unused;
    if (t->snapshot == NULL || t->nodes == NULL || !tpl_plan_holds(t)) {
        PyErr_SetString(PyExc_LookupError, "the template has no plan that holds");
        return NULL;
    }
    return tpl_run(t);
}

/* A template is an immutable factory: its copies are itself. */
static PyObject *
template_copy(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *
template_reduce(PyObject *self, PyObject *unused)
{
    (void)unused;
    PyErr_Format(PyExc_TypeError, "cannot pickle '%s' object", Py_TYPE(self)->tp_name);
    return NULL;
}

static PyObject *
template_repr(PyObject *self)
{
    TemplateObject *t = (TemplateObject *)self;
    const char *how = t->constant ? "its own copy"
                      : t->nodes != NULL ? "compiled" : "deepcopy on each call";
    return PyUnicode_FromFormat("<copykit.Template of %s, %s%s>",
                                Py_TYPE(t->snapshot)->tp_name, how,
                                t->keep != NULL ? ", with keep" : "");
}

static int
template_traverse(PyObject *self, visitproc visit, void *arg)
{
    TemplateObject *t = (TemplateObject *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(t->snapshot);
    Py_VISIT(t->keep);
    Py_VISIT(t->owned);
    for (Py_ssize_t i = 0; i < t->ntypes; i++) {
        Py_VISIT(t->types[i].type);
    }
    for (Py_ssize_t i = 0; i < t->nkept; i++) {
        Py_VISIT(t->kept[i].type);
    }
    return 0;
}

/* Drop the plan first: it borrows from what is cleared after it. */
static int
template_clear(PyObject *self)
{
    TemplateObject *t = (TemplateObject *)self;
    PyMem_Free(t->nodes);
    t->nodes = NULL;
    t->nnodes = 0;
    for (Py_ssize_t i = 0; i < t->ntypes; i++) {
        Py_CLEAR(t->types[i].type);
    }
    PyMem_Free(t->types);
    t->types = NULL;
    t->ntypes = 0;
    for (Py_ssize_t i = 0; i < t->nkept; i++) {
        Py_CLEAR(t->kept[i].type);
    }
    PyMem_Free(t->kept);
    t->kept = NULL;
    t->nkept = 0;
    t->constant = 0;
    Py_CLEAR(t->snapshot);
    Py_CLEAR(t->keep);
    Py_CLEAR(t->owned);
    return 0;
}

static void
template_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    template_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef template_methods[] = {
    {"many", template_many, METH_O, template_many_doc},
    {"_by_plan", template_by_plan, METH_NOARGS, template_by_plan_doc},
    {"__copy__", template_copy, METH_NOARGS, NULL},
    {"__deepcopy__", template_copy, METH_O, NULL},
    {"__reduce__", template_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef template_members[] = {
    {"__vectorcalloffset__", Py_T_PYSSIZET, offsetof(TemplateObject, vectorcall), Py_READONLY,
     NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(template_type_doc,
"A factory of deep copies of one snapshot, made by copykit.template(x).\n\n"
"Calling it returns what copy.deepcopy(x) returned when it was made; many(n) returns\n"
"a list of n such copies.");

static PyType_Slot template_slots[] = {
    {Py_tp_doc, (void *)template_type_doc},
    {Py_tp_dealloc, (void *)template_dealloc},
    {Py_tp_traverse, (void *)template_traverse},
    {Py_tp_clear, (void *)template_clear},
    {Py_tp_repr, (void *)template_repr},
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_methods, (void *)template_methods},
    {Py_tp_members, (void *)template_members},
    {0, NULL},
};

static PyType_Spec template_spec = {
    .name = "copykit.Template",
    .basicsize = sizeof(TemplateObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = template_slots,
};

/* Add the Template type to the module (exec time); 0 or -1 with exception set. */
static int
template_exec(PyObject *module)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &template_spec, NULL);
    int rc;
    if (type == NULL) {
        return -1;
    }
    rc = PyModule_AddObjectRef(module, "Template", type);
    Py_DECREF(type);
    return rc;
}

/* The module's Template type (borrowed), or NULL with exception set. */
static PyTypeObject *
template_type(PyObject *module)
{
    PyObject *name = PyUnicode_InternFromString("Template"), *type;
    if (name == NULL) {
        return NULL;
    }
    type = PyDict_GetItemWithError(PyModule_GetDict(module), name);
    Py_DECREF(name);
    if (type == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (type == NULL || !PyType_Check(type)
        || ((PyTypeObject *)type)->tp_dealloc != template_dealloc) {
        PyErr_SetString(PyExc_SystemError, "copykit._ccopy.Template is missing");
        return NULL;
    }
    return (PyTypeObject *)type;
}

PyDoc_STRVAR(template_doc,
"template($module, /, x, *, keep=None)\n--\n\n"
"Return a Template: calling it returns a deep copy of x as x was now.\n\n"
"x is deep-copied once (deepcopy(x, keep=keep)) into a private snapshot; each call\n"
"returns exactly what deepcopy(snapshot, keep=keep) returns, hooks and all, so later\n"
"changes to x do not show. Raises what deepcopy(x, keep=keep) raises.");

static PyObject *
copykit_template(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    copy_state *st = get_state(module);
    PyTypeObject *type = template_type(module);
    PyObject *x, *keep = NULL;
    TemplateObject *t;
    if (type == NULL || parse_args("template", args, nargs, kwnames, 1, &x, &keep) < 0) {
        return NULL;
    }
    if (keep == Py_None) {
        keep = NULL;
    }
    t = PyObject_GC_New(TemplateObject, type);
    if (t == NULL) {
        return NULL;
    }
    t->vectorcall = template_vectorcall;
    t->st = st;
    t->keep = Py_XNewRef(keep);
    t->owned = NULL;
    t->nodes = NULL;
    t->types = NULL;
    t->nnodes = t->ntypes = 0;
    t->nslots = t->finalizers = 0;
    t->kept = NULL;
    t->nkept = 0;
    t->constant = t->uses_registries = t->nesting = 0;
    t->snapshot = keep != NULL ? deepcopy_keeping(st, x, Py_None, NULL, keep, NULL)
                               : deepcopy_call(st, x, Py_None, NULL, NULL);
    PyObject_GC_Track(t);
    if (t->snapshot == NULL || tpl_make_plan(t) < 0) {
        Py_DECREF(t);
        return NULL;
    }
    return (PyObject *)t;
}
