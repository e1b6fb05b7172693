/* _yardstick: a memo-less recursive clone of JSON-like data, the "speed of light" for
 * deepcopy on dict/list/tuple trees. Not part of copykit: the benchmark runner shows it as a
 * column (python -m copykit bench --yardstick) so copykit's C twin can be judged against the
 * cost of the allocations alone.
 *
 * Semantics: exact dict, list and tuple are rebuilt recursively; exact str, int, float, bool,
 * None and bytes are returned as they are; anything else raises TypeError. A tuple whose items
 * all come back unchanged is returned as it is (as copy.deepcopy does). There is no memo: shared
 * containers are copied once per reference and a cycle ends in RecursionError. Dict keys must be
 * atoms too, so no Python code ever runs during a clone (no __hash__, no __eq__).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *clone_value(PyObject *obj);

/* 1 if obj is an exact atom returned as-is, else 0. Never sets an exception. */
static int
is_atom(PyObject *obj)
{
    PyTypeObject *type = Py_TYPE(obj);
    return type == &PyUnicode_Type || type == &PyLong_Type || type == &PyFloat_Type
        || obj == Py_None || type == &PyBool_Type || type == &PyBytes_Type;
}

/* New reference to a copy of an exact list, or NULL with an exception set. */
static PyObject *
clone_list(PyObject *list)
{
    Py_ssize_t size = PyList_GET_SIZE(list);
    PyObject *result = PyList_New(size);
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *item = clone_value(PyList_GET_ITEM(list, i));
        if (item == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, i, item);
    }
    return result;
}

/* New reference to a copy of an exact dict, or NULL with an exception set. The copy starts as
 * PyDict_Copy (one table copy, no rehashing); only container values are then replaced. */
static PyObject *
clone_dict(PyObject *dict)
{
    PyObject *result = PyDict_Copy(dict);
    if (result == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (!is_atom(key)) {
            PyErr_Format(PyExc_TypeError, "yardstick: unsupported dict key type %.100s",
                         Py_TYPE(key)->tp_name);
            goto error;
        }
        if (is_atom(value)) {
            continue;
        }
        PyObject *copied = clone_value(value);
        if (copied == NULL) {
            goto error;
        }
        int status = PyDict_SetItem(result, key, copied);
        Py_DECREF(copied);
        if (status < 0) {
            goto error;
        }
    }
    return result;
error:
    Py_DECREF(result);
    return NULL;
}

/* New reference to a copy of an exact tuple (the tuple itself when no item changed), or NULL
 * with an exception set. */
static PyObject *
clone_tuple(PyObject *tuple)
{
    Py_ssize_t size = PyTuple_GET_SIZE(tuple);
    PyObject *result = PyTuple_New(size);
    if (result == NULL) {
        return NULL;
    }
    int changed = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *original = PyTuple_GET_ITEM(tuple, i);
        PyObject *item = clone_value(original);
        if (item == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        changed |= item != original;
        PyTuple_SET_ITEM(result, i, item);
    }
    if (!changed) {
        Py_DECREF(result);
        Py_INCREF(tuple);
        return tuple;
    }
    return result;
}

/* New reference to a clone of obj, or NULL with an exception set. */
static PyObject *
clone_value(PyObject *obj)
{
    if (is_atom(obj)) {
        Py_INCREF(obj);
        return obj;
    }
    PyTypeObject *type = Py_TYPE(obj);
    if (type != &PyDict_Type && type != &PyList_Type && type != &PyTuple_Type) {
        PyErr_Format(PyExc_TypeError, "yardstick clones JSON-like data only, not %.100s",
                     type->tp_name);
        return NULL;
    }
    if (Py_EnterRecursiveCall(" in yardstick clone")) {
        return NULL;
    }
    PyObject *result = type == &PyDict_Type ? clone_dict(obj)
                     : type == &PyList_Type ? clone_list(obj)
                                            : clone_tuple(obj);
    Py_LeaveRecursiveCall();
    return result;
}

static PyObject *
yardstick_clone(PyObject *module, PyObject *obj)
{
    (void)module;
    return clone_value(obj);
}

static PyMethodDef yardstick_methods[] = {
    {"clone", yardstick_clone, METH_O,
     "clone(obj)\n--\n\nMemo-less recursive copy of JSON-like dict/list/tuple data."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot yardstick_slots[] = {
    {0, NULL},
};

static struct PyModuleDef yardstick_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_yardstick",
    .m_doc = "Memo-less C clone of JSON-like data: a benchmark yardstick, not part of copykit.",
    .m_size = 0,
    .m_methods = yardstick_methods,
    .m_slots = yardstick_slots,
};

PyMODINIT_FUNC
PyInit__yardstick(void)
{
    return PyModuleDef_Init(&yardstick_module);
}
