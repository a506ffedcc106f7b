#define _GNU_SOURCE
/* One pass over a block of Les Houches events: event texts → flat float64 buffers.
 *
 * darkscan.readers.lhe calls parse_events(block) on text holding whole <event> elements. It returns
 * (n_events, info, particles, counts, has_weights): `info` 6 float64 columns, one value per event
 * (NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP), `particles` 13 float64 columns, one value per particle
 * line (IDUP ISTUP MOTHUP1,2 ICOLUP1,2 PUP1-5 VTIMUP SPINUP), `counts` one int64 per event (all
 * bytearrays, so numpy views of them are writable),
 * `has_weights` whether a <wgt> or <weights> tag occurs. It returns None when anything is irregular
 * (a token that is not a plain decimal number, an event whose particle lines do not match NUP, as
 * many </event> as <event> tags missing): the caller then runs the pure-Python reader,
 * which gives the same values for valid files and names the exact problem for broken ones.
 *
 * What counts as an event's text matches the Python reader: after `<event` + whitespace or `>`
 * and up to the first `<`; a line whose first non-blank byte is `#` is a comment; every byte <= 0x20
 * separates tokens. Numbers are parsed with Clinger's exact fast path (mantissa < 2^53, |power of
 * ten| <= 22: one correctly rounded IEEE operation) and strtod otherwise (glibc's strtod is
 * correctly rounded too), so every value equals Python's float() and Arrow's fast_float of the token.
 *
 * The GIL is released while parsing, so a thread decompressing the next block runs alongside.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INFO_FIELDS 6
#define PARTICLE_FIELDS 13

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

typedef struct {
    double *data;
    size_t size, capacity;
} Buffer;

static int buffer_reserve(Buffer *b, size_t extra) {
    if (b->size + extra <= b->capacity) return 1;
    size_t capacity = b->capacity ? b->capacity : 4096;
    while (capacity < b->size + extra) capacity *= 2;
    double *data = realloc(b->data, capacity * sizeof(double));
    if (!data) return 0;
    b->data = data;
    b->capacity = capacity;
    return 1;
}

static inline int is_space(unsigned char c) { return c <= 32; }

/* Parse the token [p, end) as a decimal number: [+-]digits[.digits][(e|E)[+-]digits]. Returns 0 for
 * anything else (inf, nan, hex, Fortran D exponents, stray characters). */
static int parse_number(const char *p, const char *end, double *out) {
    const char *start = p;
    int negative = 0;
    if (p < end && (*p == '+' || *p == '-')) negative = (*p++ == '-');
    uint64_t mantissa = 0;
    int digits = 0, fraction_digits = 0, any = 0, overflow = 0;
    for (; p < end && (unsigned)(*p - '0') < 10; ++p, ++any) {
        if (digits < 19) {
            mantissa = mantissa * 10 + (uint64_t)(*p - '0');
            if (mantissa) ++digits;
        } else {
            overflow = 1;
        }
    }
    if (p < end && *p == '.') {
        for (++p; p < end && (unsigned)(*p - '0') < 10; ++p, ++any) {
            if (digits < 19) {
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                if (mantissa) ++digits;
                ++fraction_digits;
            } else {
                overflow = 1;
            }
        }
    }
    if (!any) return 0;
    long exponent = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        ++p;
        int exp_negative = 0;
        if (p < end && (*p == '+' || *p == '-')) exp_negative = (*p++ == '-');
        if (p >= end || (unsigned)(*p - '0') >= 10) return 0;
        for (; p < end && (unsigned)(*p - '0') < 10; ++p)
            if (exponent < 100000) exponent = exponent * 10 + (*p - '0');
        if (exp_negative) exponent = -exponent;
    }
    if (p != end) return 0;
    long power = exponent - fraction_digits;
    if (!overflow && mantissa <= (UINT64_C(1) << 53) && power >= -22 && power <= 22) {
        double value = (double)mantissa;
        value = power < 0 ? value / POW10[-power] : value * POW10[power];
        *out = negative ? -value : value;
        return 1;
    }
    /* rare: long mantissas or large exponents; strtod stops at the whitespace or '<' after the
     * token, or at the bytes object's terminating NUL */
    char *stop;
    *out = strtod(start, &stop);
    return stop == end;
}

/* Tokens of one event text [p, end) appended to the columns; returns the particle count, -1 when
 * the text is irregular, -2 when out of memory. */
static long parse_event(const char *p, const char *end, Buffer *info, Buffer *particles) {
    long n_tokens = 0, n_particles = -1, expected = INFO_FIELDS;
    int line_start = 1;
    for (int i = 0; i < INFO_FIELDS; ++i)
        if (!buffer_reserve(&info[i], 1)) return -2;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (is_space(c)) {
            if (c == '\n') line_start = 1;
            ++p;
            continue;
        }
        if (c == '#' && line_start) {
            const char *newline = memchr(p, '\n', (size_t)(end - p));
            p = newline ? newline : end;
            continue;
        }
        line_start = 0;
        const char *token = p;
        while (p < end && !is_space((unsigned char)*p)) ++p;
        if (n_tokens >= expected) return -1;
        double value;
        if (!parse_number(token, p, &value)) return -1;
        if (n_tokens < INFO_FIELDS) {
            info[n_tokens].data[info[n_tokens].size] = value;
            if (n_tokens == 0) {
                if (value < 0 || value != (double)(long)value || value > 1e7) return -1;
                n_particles = (long)value;
                expected = INFO_FIELDS + PARTICLE_FIELDS * n_particles;
                for (int i = 0; i < PARTICLE_FIELDS; ++i)
                    if (!buffer_reserve(&particles[i], (size_t)n_particles)) return -2;
            }
        } else {
            long k = n_tokens - INFO_FIELDS;
            Buffer *column = &particles[k % PARTICLE_FIELDS];
            column->data[column->size + k / PARTICLE_FIELDS] = value;
        }
        ++n_tokens;
    }
    if (n_tokens != expected) return -1;
    for (int i = 0; i < INFO_FIELDS; ++i) ++info[i].size;
    for (int i = 0; i < PARTICLE_FIELDS; ++i) particles[i].size += (size_t)n_particles;
    return n_particles;
}

/* bytearray, so that numpy views of it are writable */
static PyObject *bytes_of(const void *data, size_t nbytes) {
    return PyByteArray_FromStringAndSize((const char *)data, (Py_ssize_t)nbytes);
}

static PyObject *columns_of(Buffer *columns, int n) {
    PyObject *tuple = PyTuple_New(n);
    if (!tuple) return NULL;
    for (int i = 0; i < n; ++i) {
        PyObject *column = bytes_of(columns[i].data, columns[i].size * sizeof(double));
        if (!column) { Py_DECREF(tuple); return NULL; }
        PyTuple_SET_ITEM(tuple, i, column);
    }
    return tuple;
}

static PyObject *parse_events(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len == 0 || ((const char *)view.buf)[view.len - 1] != '>') {
        /* the block ends with </event>; a NUL or '>' after the last token keeps strtod inside it */
        PyBuffer_Release(&view);
        Py_RETURN_NONE;
    }
    const char *data = view.buf, *end = data + view.len;
    Buffer info[INFO_FIELDS] = {{0}}, particles[PARTICLE_FIELDS] = {{0}};
    int64_t *counts = NULL;
    size_t n_events = 0, counts_capacity = 0, n_close = 0;
    int has_weights = 0;
    int status = 0; /* 0 ok, -1 irregular, -2 out of memory */

    Py_BEGIN_ALLOW_THREADS
    /* every '<' once: event tags start an event text; </event> and weight tags are counted */
    const char *p = data;
    const char *tag;
    while ((tag = memchr(p, '<', (size_t)(end - p))) != NULL) {
        size_t rest = (size_t)(end - tag);
        if (rest >= 8 && memcmp(tag, "</event>", 8) == 0) {
            ++n_close;
            p = tag + 8;
            continue;
        }
        if (rest >= 5 && (memcmp(tag, "<wgt", 4) == 0 || (rest >= 9 && memcmp(tag, "<weights", 8) == 0))) {
            unsigned char c = (unsigned char)tag[tag[2] == 'g' ? 4 : 8];
            if (c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') has_weights = 1;
        }
        if (rest < 7 || memcmp(tag, "<event", 6) != 0) {
            p = tag + 1;
            continue;
        }
        unsigned char c = (unsigned char)tag[6];
        if (!(c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')) {
            p = tag + 6;
            continue;
        }
        const char *close = memchr(tag + 6, '>', (size_t)(end - tag - 6));
        if (!close) { status = -1; break; }
        const char *text = close + 1;
        const char *text_end = memchr(text, '<', (size_t)(end - text));
        if (!text_end) text_end = end;
        if (n_events == counts_capacity) {
            size_t capacity = counts_capacity ? 2 * counts_capacity : 1024;
            int64_t *grown = realloc(counts, capacity * sizeof(int64_t));
            if (!grown) { status = -2; break; }
            counts = grown;
            counts_capacity = capacity;
        }
        long n = parse_event(text, text_end, info, particles);
        if (n < 0) { status = (int)n; break; }
        counts[n_events++] = n;
        p = text_end;
    }
    if (status == 0 && n_close != n_events) status = -1;
    Py_END_ALLOW_THREADS

    PyObject *result = NULL;
    if (status == -2) {
        PyErr_NoMemory();
    } else if (status == -1) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        PyObject *info_bytes = columns_of(info, INFO_FIELDS);
        PyObject *particle_bytes = columns_of(particles, PARTICLE_FIELDS);
        PyObject *count_bytes = bytes_of(counts, n_events * sizeof(int64_t));
        if (info_bytes && particle_bytes && count_bytes)
            result = Py_BuildValue("(nOOOO)", (Py_ssize_t)n_events, info_bytes, particle_bytes, count_bytes,
                                   has_weights ? Py_True : Py_False);
        Py_XDECREF(info_bytes);
        Py_XDECREF(particle_bytes);
        Py_XDECREF(count_bytes);
    }
    for (int i = 0; i < INFO_FIELDS; ++i) free(info[i].data);
    for (int i = 0; i < PARTICLE_FIELDS; ++i) free(particles[i].data);
    free(counts);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"parse_events", parse_events, METH_O,
     "parse_events(block) -> (n_events, info, particles, counts, has_weights), or None when the "
     "block is irregular (the caller then uses the pure-Python reader)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_lhe_parse", "One-pass LHE event parser.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__lhe_parse(void) { return PyModule_Create(&module); }
