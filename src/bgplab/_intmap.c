/* An insertion-ordered hash map from int to object, with the keys stored
 * inline as 64-bit integers (no int object per key).
 *
 * The layout follows the compact dict idea: an entries array in insertion
 * order ({key, value}, value NULL once deleted) and an index of int32 slots
 * into it, probed like CPython's dict (perturbed, so poor low bits do not
 * cluster).  A full table's nets are `addr << 8 | len`: 16 bytes an entry
 * plus about 8 of index, where a dict slot is 42 and the key's int 32 more.
 *
 * Keys 0 .. 2**63-1 are inline; any other int (IPv6 nets carry a flag above
 * bit 64) goes to an ordinary dict kept beside the arrays.  Iteration gives
 * the inline keys in insertion order, then the dict's keys in theirs.
 * bgplab.rib.intmap picks this or a plain dict (BGPLAB_PURE=1); the dict is
 * the tested reference.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define EMPTY (-1)
#define DUMMY (-2)
#define MIN_LOG2 3
#define PERTURB_SHIFT 5

typedef struct {
    uint64_t key;
    PyObject *value; /* NULL: deleted */
} Entry;

typedef struct {
    PyObject_HEAD
    Py_ssize_t used;      /* live inline entries */
    Py_ssize_t filled;    /* entries written, deleted ones included */
    Py_ssize_t capacity;  /* entries allocated */
    int log2size;         /* index slots: 1 << log2size (0: no index yet) */
    int32_t *index;
    Entry *entries;
    PyObject *big;        /* dict of the other keys, or NULL */
    uint64_t version;     /* changes on every insert of a new key and delete */
} IntMap;

typedef struct {
    PyObject_HEAD
    IntMap *map;
    Py_ssize_t pos;       /* next entry; past `filled`: position in big */
    Py_ssize_t bigpos;
    uint64_t version;
    Py_ssize_t left;      /* length hint */
    int kind;             /* 0 keys, 1 values, 2 items */
} IntMapIter;

typedef struct {
    PyObject_HEAD
    IntMap *map;
    int kind;
} IntMapView;

static PyTypeObject IntMap_Type;
static PyTypeObject IntMapIter_Type;
static PyTypeObject IntMapView_Type;

/* ---- keys ------------------------------------------------------------ */

/* 1: inline key in *out; 0: not inline (use the dict); -1: error set.
 * For a lookup (`store` 0) a key that is not an int is "not inline" too, so
 * that it misses as in a dict; a store raises TypeError. */
static int
key_of(PyObject *key, uint64_t *out, int store)
{
    if (!PyLong_Check(key)) {
        if (store) {
            PyErr_Format(PyExc_TypeError, "IntMap keys must be int, not %.100s",
                         Py_TYPE(key)->tp_name);
            return -1;
        }
        return 0;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(key, &overflow);
    if (v == -1 && !overflow && PyErr_Occurred())
        return -1;
    if (overflow || v < 0)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static inline size_t
hash_of(uint64_t key)
{
    /* Fibonacci mixing: a net's low byte is its length, its high bits the
     * address, so the raw value would crowd a few slots */
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h ^ (h >> 29));
}

/* ---- the index --------------------------------------------------------- */

/* The index slot holding `key`, or -1. */
static Py_ssize_t
find_slot(IntMap *m, uint64_t key)
{
    if (m->log2size == 0)
        return -1;
    size_t mask = ((size_t)1 << m->log2size) - 1;
    size_t h = hash_of(key);
    size_t perturb = h;
    size_t i = h & mask;
    for (;;) {
        int32_t ix = m->index[i];
        if (ix == EMPTY)
            return -1;
        if (ix >= 0 && m->entries[ix].key == key)
            return (Py_ssize_t)i;
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
}

/* An index slot for a key known to be absent (an empty one: rebuilt
 * indices have no dummies, and inserts after deletes may reuse none of
 * them, which keeps this simple; `filled` bounds them). */
static size_t
free_slot(IntMap *m, uint64_t key)
{
    size_t mask = ((size_t)1 << m->log2size) - 1;
    size_t h = hash_of(key);
    size_t perturb = h;
    size_t i = h & mask;
    while (m->index[i] != EMPTY) {
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
    return i;
}

/* Room for `need` entries written since the last rebuild: a new index when
 * the current one would pass 2/3 full (counting deleted entries, whose
 * slots stay DUMMY), the entries compacted to the live ones. */
static int
rebuild(IntMap *m, Py_ssize_t need)
{
    int log2 = MIN_LOG2;
    while ((((Py_ssize_t)1 << log2) * 2) / 3 < need)
        log2++;
    if (log2 > 31) {
        PyErr_SetString(PyExc_MemoryError, "IntMap too large");
        return -1;
    }
    size_t size = (size_t)1 << log2;
    int32_t *index = PyMem_Malloc(size * sizeof(int32_t));
    if (index == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(index, 0xff, size * sizeof(int32_t)); /* EMPTY is -1 */
    /* compact the live entries to the front, in order */
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < m->filled; i++) {
        if (m->entries[i].value != NULL)
            m->entries[j++] = m->entries[i];
    }
    PyMem_Free(m->index);
    m->index = index;
    m->log2size = log2;
    m->filled = j;
    for (Py_ssize_t i = 0; i < j; i++)
        index[free_slot(m, m->entries[i].key)] = (int32_t)i;
    /* a shrunk map gives memory back; a growing one keeps its capacity */
    if (m->capacity > 2 * need + 16) {
        Py_ssize_t cap = need + need / 4 + 8;
        Entry *e = PyMem_Realloc(m->entries, (size_t)cap * sizeof(Entry));
        if (e != NULL) {
            m->entries = e;
            m->capacity = cap;
        }
    }
    return 0;
}

/* Make room for one more entry at `filled`. */
static int
reserve_one(IntMap *m)
{
    Py_ssize_t usable = m->log2size ? (((Py_ssize_t)1 << m->log2size) * 2) / 3 : 0;
    if (m->filled + 1 > usable) {
        /* deleted entries are reclaimed; room for half as many again as
         * are live, so rebuilds are at least used/2 inserts apart */
        Py_ssize_t need = m->used + 1;
        need += need / 2;
        if (rebuild(m, need < 8 ? 8 : need) < 0)
            return -1;
    }
    if (m->filled + 1 > m->capacity) {
        /* grown in steps of a quarter (realloc of a large block moves pages,
         * not bytes), never past what the index can take */
        Py_ssize_t usable2 = (((Py_ssize_t)1 << m->log2size) * 2) / 3;
        Py_ssize_t cap = m->capacity + m->capacity / 4 + 8;
        if (cap > usable2)
            cap = usable2;
        if (cap < m->filled + 1)
            cap = m->filled + 1;
        Entry *e = PyMem_Realloc(m->entries, (size_t)cap * sizeof(Entry));
        if (e == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        m->entries = e;
        m->capacity = cap;
    }
    return 0;
}

/* ---- core operations --------------------------------------------------- */

static void
key_error(PyObject *key)
{
    PyObject *t = PyTuple_Pack(1, key);
    if (t != NULL) {
        PyErr_SetObject(PyExc_KeyError, t);
        Py_DECREF(t);
    }
}

/* Borrowed value of `key`, or NULL (error set only if `*err`). */
static PyObject *
lookup(IntMap *m, PyObject *key, int *err)
{
    uint64_t k;
    *err = 0;
    int r = key_of(key, &k, 0);
    if (r < 0) {
        *err = 1;
        return NULL;
    }
    if (r == 1) {
        Py_ssize_t s = find_slot(m, k);
        return s < 0 ? NULL : m->entries[m->index[s]].value;
    }
    if (m->big == NULL)
        return NULL;
    PyObject *v = PyDict_GetItemWithError(m->big, key);
    if (v == NULL && PyErr_Occurred())
        *err = 1;
    return v;
}

static int
store(IntMap *m, PyObject *key, PyObject *value)
{
    uint64_t k;
    int r = key_of(key, &k, 1);
    if (r < 0)
        return -1;
    if (r == 0) {
        if (m->big == NULL) {
            m->big = PyDict_New();
            if (m->big == NULL)
                return -1;
        }
        Py_ssize_t before = PyDict_GET_SIZE(m->big);
        if (PyDict_SetItem(m->big, key, value) < 0)
            return -1;
        if (PyDict_GET_SIZE(m->big) != before)
            m->version++;
        return 0;
    }
    Py_ssize_t s = find_slot(m, k);
    if (s >= 0) {
        Entry *e = &m->entries[m->index[s]];
        PyObject *old = e->value;
        Py_INCREF(value);
        e->value = value;
        Py_DECREF(old); /* last: its finaliser may use the map */
        return 0;
    }
    if (reserve_one(m) < 0)
        return -1;
    Py_ssize_t i = m->filled++;
    m->entries[i].key = k;
    Py_INCREF(value);
    m->entries[i].value = value;
    m->index[free_slot(m, k)] = (int32_t)i;
    m->used++;
    m->version++;
    return 0;
}

/* Remove `key`; 1 removed (*out: the value, a new reference, if out is
 * given), 0 absent, -1 error. */
static int
take(IntMap *m, PyObject *key, PyObject **out)
{
    uint64_t k;
    int r = key_of(key, &k, 0);
    if (r < 0)
        return -1;
    if (r == 0) {
        if (m->big == NULL)
            return 0;
        PyObject *v = PyDict_GetItemWithError(m->big, key);
        if (v == NULL)
            return PyErr_Occurred() ? -1 : 0;
        Py_INCREF(v);
        if (PyDict_DelItem(m->big, key) < 0) {
            Py_DECREF(v);
            return -1;
        }
        m->version++;
        if (out)
            *out = v;
        else
            Py_DECREF(v);
        return 1;
    }
    Py_ssize_t s = find_slot(m, k);
    if (s < 0)
        return 0;
    Entry *e = &m->entries[m->index[s]];
    PyObject *v = e->value;
    e->value = NULL;
    m->index[s] = DUMMY;
    m->used--;
    m->version++;
    if (m->used == 0 && m->filled > 0) {
        m->filled = 0; /* nothing live: start the entries over */
        if (m->log2size > MIN_LOG2 + 4) {
            /* an emptied big map gives its arrays back */
            PyMem_Free(m->index);
            PyMem_Free(m->entries);
            m->index = NULL;
            m->entries = NULL;
            m->log2size = 0;
            m->capacity = 0;
        } else {
            memset(m->index, 0xff, ((size_t)1 << m->log2size) * sizeof(int32_t));
        }
    }
    if (out)
        *out = v;
    else
        Py_DECREF(v);
    return 1;
}

static void
clear_all(IntMap *m)
{
    /* detach first: a value's finaliser may use the map */
    Entry *entries = m->entries;
    Py_ssize_t filled = m->filled;
    PyObject *big = m->big;
    PyMem_Free(m->index);
    m->index = NULL;
    m->entries = NULL;
    m->log2size = 0;
    m->capacity = m->filled = m->used = 0;
    m->big = NULL;
    m->version++;
    for (Py_ssize_t i = 0; i < filled; i++)
        Py_XDECREF(entries[i].value);
    PyMem_Free(entries);
    Py_XDECREF(big);
}

static Py_ssize_t
map_len(IntMap *m)
{
    return m->used + (m->big ? PyDict_GET_SIZE(m->big) : 0);
}

/* ---- type slots -------------------------------------------------------- */

static PyObject *
IntMap_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    IntMap *m = (IntMap *)type->tp_alloc(type, 0);
    if (m == NULL)
        return NULL;
    m->used = m->filled = m->capacity = 0;
    m->log2size = 0;
    m->index = NULL;
    m->entries = NULL;
    m->big = NULL;
    m->version = 0;
    return (PyObject *)m;
}

static int update_from(IntMap *m, PyObject *arg);

static int
IntMap_init(IntMap *m, PyObject *args, PyObject *kwds)
{
    PyObject *arg = NULL;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "IntMap() takes no keyword arguments");
        return -1;
    }
    if (!PyArg_UnpackTuple(args, "IntMap", 0, 1, &arg))
        return -1;
    if (arg != NULL)
        return update_from(m, arg);
    return 0;
}

static int
IntMap_traverse(IntMap *m, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < m->filled; i++)
        Py_VISIT(m->entries[i].value);
    Py_VISIT(m->big);
    return 0;
}

static int
IntMap_clear(IntMap *m)
{
    clear_all(m);
    return 0;
}

/* (a Python subclass's dealloc untracks, visits and releases its type) */
static void
IntMap_dealloc(IntMap *m)
{
    PyObject_GC_UnTrack(m);
    clear_all(m);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

static Py_ssize_t
IntMap_length(IntMap *m)
{
    return map_len(m);
}

static PyObject *
IntMap_subscript(IntMap *m, PyObject *key)
{
    int err;
    PyObject *v = lookup(m, key, &err);
    if (v == NULL) {
        if (!err)
            key_error(key);
        return NULL;
    }
    Py_INCREF(v);
    return v;
}

static int
IntMap_ass_subscript(IntMap *m, PyObject *key, PyObject *value)
{
    if (value != NULL)
        return store(m, key, value);
    int r = take(m, key, NULL);
    if (r == 0)
        key_error(key);
    return r == 1 ? 0 : -1;
}

static int
IntMap_contains(IntMap *m, PyObject *key)
{
    int err;
    PyObject *v = lookup(m, key, &err);
    return err ? -1 : v != NULL;
}

/* ---- methods ----------------------------------------------------------- */

static PyObject *
IntMap_get(IntMap *m, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get expected 1 or 2 arguments");
        return NULL;
    }
    int err;
    PyObject *v = lookup(m, args[0], &err);
    if (err)
        return NULL;
    if (v == NULL)
        v = nargs == 2 ? args[1] : Py_None;
    Py_INCREF(v);
    return v;
}

static PyObject *
IntMap_pop(IntMap *m, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "pop expected 1 or 2 arguments");
        return NULL;
    }
    PyObject *v = NULL;
    int r = take(m, args[0], &v);
    if (r < 0)
        return NULL;
    if (r == 1)
        return v;
    if (nargs == 2) {
        Py_INCREF(args[1]);
        return args[1];
    }
    key_error(args[0]);
    return NULL;
}

static PyObject *
IntMap_setdefault(IntMap *m, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "setdefault expected 1 or 2 arguments");
        return NULL;
    }
    int err;
    PyObject *v = lookup(m, args[0], &err);
    if (err)
        return NULL;
    if (v == NULL) {
        v = nargs == 2 ? args[1] : Py_None;
        if (store(m, args[0], v) < 0)
            return NULL;
    }
    Py_INCREF(v);
    return v;
}

static int
update_from(IntMap *m, PyObject *arg)
{
    if (PyDict_Check(arg)) {
        /* a copy of the items first: storing may run finalisers */
        PyObject *items = PyDict_Items(arg);
        if (items == NULL)
            return -1;
        Py_ssize_t n = PyList_GET_SIZE(items);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *kv = PyList_GET_ITEM(items, i);
            if (store(m, PyTuple_GET_ITEM(kv, 0), PyTuple_GET_ITEM(kv, 1)) < 0) {
                Py_DECREF(items);
                return -1;
            }
        }
        Py_DECREF(items);
        return 0;
    }
    PyObject *seq;
    if (PyObject_HasAttrString(arg, "keys")) {
        /* a mapping: its items */
        PyObject *items = PyObject_CallMethod(arg, "items", NULL);
        if (items == NULL)
            return -1;
        seq = PyObject_GetIter(items);
        Py_DECREF(items);
    } else {
        seq = PyObject_GetIter(arg);
    }
    if (seq == NULL)
        return -1;
    PyObject *item;
    while ((item = PyIter_Next(seq)) != NULL) {
        PyObject *fast = PySequence_Fast(item, "IntMap update: items must be pairs");
        Py_DECREF(item);
        if (fast == NULL)
            goto fail;
        if (PySequence_Fast_GET_SIZE(fast) != 2) {
            PyErr_SetString(PyExc_ValueError, "IntMap update: items must be pairs");
            Py_DECREF(fast);
            goto fail;
        }
        int r = store(m, PySequence_Fast_GET_ITEM(fast, 0), PySequence_Fast_GET_ITEM(fast, 1));
        Py_DECREF(fast);
        if (r < 0)
            goto fail;
    }
    Py_DECREF(seq);
    return PyErr_Occurred() ? -1 : 0;
fail:
    Py_DECREF(seq);
    return -1;
}

static PyObject *
IntMap_update(IntMap *m, PyObject *args, PyObject *kwds)
{
    PyObject *arg = NULL;
    if (!PyArg_UnpackTuple(args, "update", 0, 1, &arg))
        return NULL;
    if (arg != NULL && update_from(m, arg) < 0)
        return NULL;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "IntMap keys must be int, not str");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
IntMap_clear_method(IntMap *m, PyObject *Py_UNUSED(ignored))
{
    clear_all(m);
    Py_RETURN_NONE;
}

static PyObject *
IntMap_copy(IntMap *m, PyObject *Py_UNUSED(ignored))
{
    IntMap *c = (IntMap *)PyObject_CallNoArgs((PyObject *)Py_TYPE(m));
    if (c == NULL)
        return NULL;
    if (m->filled) {
        c->entries = PyMem_Malloc((size_t)m->used * sizeof(Entry) + sizeof(Entry));
        if (c->entries == NULL) {
            Py_DECREF(c);
            return PyErr_NoMemory();
        }
        c->capacity = m->used + 1;
        if (rebuild(c, m->used + 1) < 0) {
            Py_DECREF(c);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < m->filled; i++) {
            Entry *e = &m->entries[i];
            if (e->value == NULL)
                continue;
            Py_ssize_t j = c->filled++;
            c->entries[j].key = e->key;
            Py_INCREF(e->value);
            c->entries[j].value = e->value;
            c->index[free_slot(c, e->key)] = (int32_t)j;
            c->used++;
        }
    }
    if (m->big != NULL && PyDict_GET_SIZE(m->big)) {
        c->big = PyDict_Copy(m->big);
        if (c->big == NULL) {
            Py_DECREF(c);
            return NULL;
        }
    }
    return (PyObject *)c;
}

static PyObject *make_view(IntMap *m, int kind);

static PyObject *
IntMap_keys(IntMap *m, PyObject *Py_UNUSED(ignored))
{
    return make_view(m, 0);
}

static PyObject *
IntMap_values(IntMap *m, PyObject *Py_UNUSED(ignored))
{
    return make_view(m, 1);
}

static PyObject *
IntMap_items(IntMap *m, PyObject *Py_UNUSED(ignored))
{
    return make_view(m, 2);
}

static PyObject *
IntMap_sizeof(IntMap *m, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t n = Py_TYPE(m)->tp_basicsize + m->capacity * (Py_ssize_t)sizeof(Entry);
    if (m->log2size)
        n += ((Py_ssize_t)1 << m->log2size) * (Py_ssize_t)sizeof(int32_t);
    return PyLong_FromSsize_t(n);
}

static PyObject *
IntMap_inline_count(IntMap *m, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(m->used);
}

static PyObject *
IntMap_repr(IntMap *m)
{
    int r = Py_ReprEnter((PyObject *)m);
    if (r != 0)
        return r > 0 ? PyUnicode_FromString("IntMap({...})") : NULL;
    PyObject *d = PyDict_New();
    PyObject *out = NULL;
    if (d == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < m->filled; i++) {
        Entry *e = &m->entries[i];
        if (e->value == NULL)
            continue;
        PyObject *k = PyLong_FromUnsignedLongLong(e->key);
        if (k == NULL || PyDict_SetItem(d, k, e->value) < 0) {
            Py_XDECREF(k);
            goto done;
        }
        Py_DECREF(k);
    }
    if (m->big != NULL && PyDict_Update(d, m->big) < 0)
        goto done;
    out = PyUnicode_FromFormat("IntMap(%R)", d);
done:
    Py_XDECREF(d);
    Py_ReprLeave((PyObject *)m);
    return out;
}

static PyMethodDef IntMap_methods[] = {
    {"get", (PyCFunction)(void (*)(void))IntMap_get, METH_FASTCALL,
     "get(key, default=None): the value of key, else default"},
    {"pop", (PyCFunction)(void (*)(void))IntMap_pop, METH_FASTCALL,
     "pop(key[, default]): remove key and return its value"},
    {"setdefault", (PyCFunction)(void (*)(void))IntMap_setdefault, METH_FASTCALL,
     "setdefault(key, default=None)"},
    {"update", (PyCFunction)(void (*)(void))IntMap_update, METH_VARARGS | METH_KEYWORDS,
     "update(mapping or iterable of pairs)"},
    {"clear", (PyCFunction)IntMap_clear_method, METH_NOARGS, "remove every key"},
    {"copy", (PyCFunction)IntMap_copy, METH_NOARGS, "a shallow copy"},
    {"keys", (PyCFunction)IntMap_keys, METH_NOARGS, "a view of the keys"},
    {"values", (PyCFunction)IntMap_values, METH_NOARGS, "a view of the values"},
    {"items", (PyCFunction)IntMap_items, METH_NOARGS, "a view of the (key, value) pairs"},
    {"__sizeof__", (PyCFunction)IntMap_sizeof, METH_NOARGS, "bytes held, values excluded"},
    {"inline_count", (PyCFunction)IntMap_inline_count, METH_NOARGS,
     "how many keys are stored inline (the rest are in the dict)"},
    {NULL, NULL, 0, NULL},
};

static PyMappingMethods IntMap_as_mapping = {
    (lenfunc)IntMap_length,
    (binaryfunc)IntMap_subscript,
    (objobjargproc)IntMap_ass_subscript,
};

static PySequenceMethods IntMap_as_sequence = {
    .sq_contains = (objobjproc)IntMap_contains,
};

/* ---- iteration --------------------------------------------------------- */

static PyObject *
make_iter(IntMap *m, int kind)
{
    IntMapIter *it = PyObject_GC_New(IntMapIter, &IntMapIter_Type);
    if (it == NULL)
        return NULL;
    Py_INCREF(m);
    it->map = m;
    it->pos = 0;
    it->bigpos = 0;
    it->version = m->version;
    it->left = map_len(m);
    it->kind = kind;
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static PyObject *
IntMap_iter(IntMap *m)
{
    return make_iter(m, 0);
}

static PyObject *
pair(PyObject *k, PyObject *v)
{
    PyObject *t = PyTuple_New(2);
    if (t == NULL) {
        Py_DECREF(k);
        return NULL;
    }
    Py_INCREF(v);
    PyTuple_SET_ITEM(t, 0, k);
    PyTuple_SET_ITEM(t, 1, v);
    return t;
}

static PyObject *
IntMapIter_next(IntMapIter *it)
{
    IntMap *m = it->map;
    if (m == NULL)
        return NULL;
    if (it->version != m->version) {
        PyErr_SetString(PyExc_RuntimeError, "IntMap changed size during iteration");
        it->left = -1;
        return NULL;
    }
    while (it->pos < m->filled) {
        Entry *e = &m->entries[it->pos++];
        if (e->value == NULL)
            continue;
        it->left--;
        if (it->kind == 1) {
            Py_INCREF(e->value);
            return e->value;
        }
        PyObject *k = PyLong_FromUnsignedLongLong(e->key);
        if (k == NULL || it->kind == 0)
            return k;
        return pair(k, e->value);
    }
    if (m->big != NULL) {
        PyObject *k, *v;
        if (PyDict_Next(m->big, &it->bigpos, &k, &v)) {
            it->left--;
            if (it->kind == 1) {
                Py_INCREF(v);
                return v;
            }
            Py_INCREF(k);
            if (it->kind == 0)
                return k;
            return pair(k, v);
        }
    }
    it->map = NULL;
    Py_DECREF(m);
    return NULL;
}

static PyObject *
IntMapIter_length_hint(IntMapIter *it, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(it->map != NULL && it->left > 0 ? it->left : 0);
}

static int
IntMapIter_traverse(IntMapIter *it, visitproc visit, void *arg)
{
    Py_VISIT(it->map);
    return 0;
}

static void
IntMapIter_dealloc(IntMapIter *it)
{
    PyObject_GC_UnTrack(it);
    Py_XDECREF(it->map);
    PyObject_GC_Del(it);
}

static PyMethodDef IntMapIter_methods[] = {
    {"__length_hint__", (PyCFunction)IntMapIter_length_hint, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject IntMapIter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bgplab._intmap.IntMapIterator",
    .tp_basicsize = sizeof(IntMapIter),
    .tp_dealloc = (destructor)IntMapIter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)IntMapIter_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)IntMapIter_next,
    .tp_methods = IntMapIter_methods,
};

/* ---- views (live, like a dict's) ---------------------------------------- */

static PyObject *
make_view(IntMap *m, int kind)
{
    IntMapView *v = PyObject_GC_New(IntMapView, &IntMapView_Type);
    if (v == NULL)
        return NULL;
    Py_INCREF(m);
    v->map = m;
    v->kind = kind;
    PyObject_GC_Track(v);
    return (PyObject *)v;
}

static PyObject *
IntMapView_iter(IntMapView *v)
{
    return make_iter(v->map, v->kind);
}

static Py_ssize_t
IntMapView_len(IntMapView *v)
{
    return map_len(v->map);
}

static int
IntMapView_contains(IntMapView *v, PyObject *x)
{
    int err;
    if (v->kind == 0)
        return IntMap_contains(v->map, x);
    if (v->kind == 2) {
        if (!PyTuple_Check(x) || PyTuple_GET_SIZE(x) != 2)
            return 0;
        PyObject *got = lookup(v->map, PyTuple_GET_ITEM(x, 0), &err);
        if (got == NULL)
            return err ? -1 : 0;
        Py_INCREF(got);
        int r = PyObject_RichCompareBool(got, PyTuple_GET_ITEM(x, 1), Py_EQ);
        Py_DECREF(got);
        return r;
    }
    /* values: a walk, as in a dict */
    PyObject *it = make_iter(v->map, 1);
    if (it == NULL)
        return -1;
    PyObject *item;
    int r = 0;
    while (r == 0 && (item = PyIter_Next(it)) != NULL) {
        r = PyObject_RichCompareBool(item, x, Py_EQ);
        Py_DECREF(item);
    }
    Py_DECREF(it);
    return r == 0 && PyErr_Occurred() ? -1 : r;
}

static int
IntMapView_traverse(IntMapView *v, visitproc visit, void *arg)
{
    Py_VISIT(v->map);
    return 0;
}

static void
IntMapView_dealloc(IntMapView *v)
{
    PyObject_GC_UnTrack(v);
    Py_XDECREF(v->map);
    PyObject_GC_Del(v);
}

static PySequenceMethods IntMapView_as_sequence = {
    .sq_length = (lenfunc)IntMapView_len,
    .sq_contains = (objobjproc)IntMapView_contains,
};

static PyTypeObject IntMapView_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bgplab._intmap.IntMapView",
    .tp_basicsize = sizeof(IntMapView),
    .tp_dealloc = (destructor)IntMapView_dealloc,
    .tp_as_sequence = &IntMapView_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)IntMapView_traverse,
    .tp_iter = (getiterfunc)IntMapView_iter,
};

/* ---- the type and module ----------------------------------------------- */

static PyTypeObject IntMap_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bgplab._intmap.IntMap",
    .tp_doc = "An insertion-ordered map int -> object, small ints stored inline.",
    .tp_basicsize = sizeof(IntMap),
    .tp_dealloc = (destructor)IntMap_dealloc,
    .tp_repr = (reprfunc)IntMap_repr,
    .tp_as_sequence = &IntMap_as_sequence,
    .tp_as_mapping = &IntMap_as_mapping,
    .tp_hash = PyObject_HashNotImplemented,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE
                | Py_TPFLAGS_MAPPING,
    .tp_traverse = (traverseproc)IntMap_traverse,
    .tp_clear = (inquiry)IntMap_clear,
    .tp_iter = (getiterfunc)IntMap_iter,
    .tp_methods = IntMap_methods,
    .tp_init = (initproc)IntMap_init,
    .tp_new = IntMap_new,
    .tp_free = PyObject_GC_Del,
};

static struct PyModuleDef intmap_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bgplab._intmap",
    .m_doc = "A compiled int-keyed map (see bgplab.rib.intmap).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__intmap(void)
{
    if (PyType_Ready(&IntMap_Type) < 0 || PyType_Ready(&IntMapIter_Type) < 0
        || PyType_Ready(&IntMapView_Type) < 0)
        return NULL;
    PyObject *mod = PyModule_Create(&intmap_module);
    if (mod == NULL)
        return NULL;
    Py_INCREF(&IntMap_Type);
    if (PyModule_AddObject(mod, "IntMap", (PyObject *)&IntMap_Type) < 0) {
        Py_DECREF(&IntMap_Type);
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
