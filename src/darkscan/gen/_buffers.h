/* The flat-array arguments of darkscan's C extensions (_antikt.c, _detector.c): one-dimensional,
   contiguous buffers of one numpy dtype, read through the buffer protocol (no numpy C API, hence no
   numpy ABI to build against). */
#ifndef DARKSCAN_BUFFERS_H
#define DARKSCAN_BUFFERS_H

#include <Python.h>
#include <string.h>

/* numpy's int64 is 'l' on LP64 Linux/macOS and 'q' on Windows: accept the native one numpy gives */
#define INT64_FORMAT (sizeof(long) == 8 ? "l" : "q")

/* format: "d" float64, "i" int32 or INT64_FORMAT; 0 with a TypeError naming the argument otherwise */
static int get_buffer(PyObject *obj, Py_buffer *view, const char *format, int writable, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0) return 0;
    Py_ssize_t itemsize = format[0] == 'i' ? 4 : 8;
    if (view->itemsize != itemsize || view->ndim != 1 || strcmp(view->format, format) != 0) {
        PyErr_Format(PyExc_TypeError, "%s: a contiguous one-dimensional %s buffer is needed", name,
                     format[0] == 'd' ? "float64" : format[0] == 'i' ? "int32" : "int64");
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

#endif
