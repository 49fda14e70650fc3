/*
 * Texture-matrix kernels and the cubic B-spline resampling of radsig's PyRadiomics mode
 * (optional C accelerator).
 *
 * Why C: each matrix is one pass over the ROI voxels and their neighbours. The NumPy version
 * (radsig/features/pyradiomics/_matrices.py, always available and the reference for these
 * kernels' tests) needs a gather, a comparison and a bincount per direction, plus an iterative
 * union-find for the size zones; here a single loop does it, without temporaries, and with the
 * GIL released so that two derived images of a case are counted at the same time.
 *
 * Inputs are contiguous buffers (NumPy arrays; the Python wrapper checks dtypes):
 *   box   int32[size]  grey level of each voxel of the zero-padded ROI box (C order), 0 outside
 *                      the ROI; the padding is at least the largest offset, so v + step of an
 *                      ROI voxel v is always inside the box.
 *   idx   int64[n]     flat box position of each ROI voxel, ascending (ROI numbering).
 *   steps int64[nd]    flat step of each direction (PyRadiomics' order).
 * Outputs are zero-initialised float64 (or int64) buffers of the documented layout, filled by
 * adding counts in ROI order, so that sums match NumPy's bincount bit for bit.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_buffer box, idx, steps, out;
    Py_ssize_t size, n, nd;
    const int32_t *b;
    const int64_t *ix, *st;
} Args;

static void release(Args *a) {
    if (a->box.obj) PyBuffer_Release(&a->box);
    if (a->idx.obj) PyBuffer_Release(&a->idx);
    if (a->steps.obj) PyBuffer_Release(&a->steps);
    if (a->out.obj) PyBuffer_Release(&a->out);
}

/* Checks buffer sizes, that every idx and idx +/- step lies inside the box, and that every ROI
 * level is 1..max_level (no upper bound when max_level is 0). */
static int check(Args *a, Py_ssize_t out_items, Py_ssize_t out_itemsize, Py_ssize_t max_level) {
    if (a->box.len % 4 || a->idx.len % 8 || a->steps.len % 8) {
        PyErr_SetString(PyExc_ValueError, "box must be int32, idx and steps int64");
        return -1;
    }
    a->size = a->box.len / 4;
    a->n = a->idx.len / 8;
    a->nd = a->steps.len / 8;
    a->b = (const int32_t *)a->box.buf;
    a->ix = (const int64_t *)a->idx.buf;
    a->st = (const int64_t *)a->steps.buf;
    if (a->out.obj && a->out.len != out_items * out_itemsize) {
        PyErr_SetString(PyExc_ValueError, "output buffer has the wrong size");
        return -1;
    }
    int64_t maxstep = 0;
    for (Py_ssize_t d = 0; d < a->nd; d++) {
        int64_t s = a->st[d] < 0 ? -a->st[d] : a->st[d];
        if (s > maxstep) maxstep = s;
    }
    for (Py_ssize_t k = 0; k < a->n; k++) {
        int64_t v = a->ix[k];
        if (v - maxstep < 0 || v + maxstep >= a->size || a->b[v] <= 0) {
            PyErr_SetString(PyExc_ValueError,
                            "ROI voxel outside the padded box or with grey level < 1");
            return -1;
        }
        if (max_level > 0 && a->b[v] > max_level) {
            PyErr_SetString(PyExc_ValueError, "grey level above ng");
            return -1;
        }
    }
    return 0;
}

/* glcm(box, idx, steps, ng, out): out[(i-1), (j-1), a] += 1 for i at v, j at v + steps[a]
 * (both in the ROI); out is float64 (ng, ng, nd). */
static PyObject *k_glcm(PyObject *self, PyObject *args) {
    Args a = {0};
    Py_ssize_t ng;
    if (!PyArg_ParseTuple(args, "y*y*y*nw*", &a.box, &a.idx, &a.steps, &ng, &a.out)) {
        release(&a);
        return NULL;
    }
    if (check(&a, ng * ng * (a.steps.len / 8), 8, ng) < 0) {
        release(&a);
        return NULL;
    }
    double *out = (double *)a.out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t d = 0; d < a.nd; d++) {
        int64_t s = a.st[d];
        for (Py_ssize_t k = 0; k < a.n; k++) {
            int64_t v = a.ix[k];
            int32_t gi = a.b[v], gj = a.b[v + s];
            if (gj > 0) out[((Py_ssize_t)(gi - 1) * ng + (gj - 1)) * a.nd + d] += 1.0;
        }
    }
    Py_END_ALLOW_THREADS
    release(&a);
    Py_RETURN_NONE;
}

/* glrlm(box, idx, steps, ng, nr, out): runs of equal grey level along each direction;
 * out[(g-1), (len-1), a] += 1 per run; out is float64 (ng, nr, nd).
 * Branch-free: in ROI order, v - step comes before v (PyRadiomics' steps are positive), so the
 * length of the run up to v is run[v - step] + 1 when v - step has v's level, else 1; a run is
 * counted at its last voxel (v + step has another level), by adding 0 or 1 at every voxel. */
static PyObject *k_glrlm(PyObject *self, PyObject *args) {
    Args a = {0};
    Py_ssize_t ng, nr;
    if (!PyArg_ParseTuple(args, "y*y*y*nnw*", &a.box, &a.idx, &a.steps, &ng, &nr, &a.out)) {
        release(&a);
        return NULL;
    }
    if (check(&a, ng * nr * (a.steps.len / 8), 8, ng) < 0) {
        release(&a);
        return NULL;
    }
    for (Py_ssize_t d = 0; d < a.nd; d++) {
        if (a.st[d] <= 0) {
            release(&a);
            PyErr_SetString(PyExc_ValueError, "glrlm: steps must be positive");
            return NULL;
        }
    }
    double *out = (double *)a.out.buf;
    int32_t *run = malloc(sizeof(int32_t) * (size_t)a.size);
    double *cnt = malloc(sizeof(double) * (size_t)(ng * nr + 1));
    if (!run || !cnt) {
        free(run);
        free(cnt);
        release(&a);
        return PyErr_NoMemory();
    }
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t d = 0; d < a.nd && !bad; d++) {
        int64_t s = a.st[d];
        memset(cnt, 0, sizeof(double) * (size_t)(ng * nr));
        for (Py_ssize_t k = 0; k < a.n; k++) {
            int64_t v = a.ix[k];
            int32_t g = a.b[v];
            int32_t len = (a.b[v - s] == g) * run[v - s] + 1;
            run[v] = len;
            if (len > nr) { bad = 1; break; }
            cnt[(Py_ssize_t)(g - 1) * nr + (len - 1)] += (double)(a.b[v + s] != g);
        }
        for (Py_ssize_t c = 0; c < ng * nr; c++) out[c * a.nd + d] = cnt[c];
    }
    Py_END_ALLOW_THREADS
    free(run);
    free(cnt);
    release(&a);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "run longer than nr");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* zones(box, idx, steps, level_out, size_out[, labels_out]) -> number of zones. Connected
 * components of equal grey level, neighbours v +/- steps; zone z has grey level level_out[z]
 * (int32) and size_out[z] voxels (int64); both outputs hold n items, zones are numbered in order
 * of their first voxel. labels_out (int64, one item per box voxel, optional): zone number + 1
 * written at every voxel of the zone (other voxels untouched): the IBSI zone families need it. */
static PyObject *k_zones(PyObject *self, PyObject *args) {
    Args a = {0};
    Py_buffer lev = {0}, lab = {0};
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*|w*", &a.box, &a.idx, &a.steps, &lev, &a.out, &lab)) {
        release(&a);
        if (lev.obj) PyBuffer_Release(&lev);
        if (lab.obj) PyBuffer_Release(&lab);
        return NULL;
    }
    if (check(&a, a.idx.len / 8, 8, 0) < 0 || lev.len != (a.idx.len / 8) * 4
        || (lab.obj && lab.len != a.box.len * 2)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "level_out or labels_out has the wrong size");
        release(&a);
        PyBuffer_Release(&lev);
        if (lab.obj) PyBuffer_Release(&lab);
        return NULL;
    }
    int64_t *labels = lab.obj ? (int64_t *)lab.buf : NULL;
    int32_t *level = (int32_t *)lev.buf;
    int64_t *zsize = (int64_t *)a.out.buf;
    /* a copy of the levels in which visited voxels are set to 0 (no separate "seen" array) */
    int32_t *work = malloc(sizeof(int32_t) * (size_t)a.size);
    int64_t *stack = malloc(sizeof(int64_t) * (size_t)(a.n > 0 ? a.n : 1));
    if (!work || !stack) {
        free(work);
        free(stack);
        release(&a);
        PyBuffer_Release(&lev);
        return PyErr_NoMemory();
    }
    Py_ssize_t nz = 0;
    Py_BEGIN_ALLOW_THREADS
    memcpy(work, a.b, sizeof(int32_t) * (size_t)a.size);
    for (Py_ssize_t k = 0; k < a.n; k++) {
        int64_t v0 = a.ix[k];
        int32_t g = work[v0];
        if (g == 0) continue; /* already in a zone */
        Py_ssize_t top = 0, count = 0;
        work[v0] = 0;
        stack[top++] = v0;
        while (top) {
            int64_t v = stack[--top];
            count++;
            if (labels) labels[v] = nz + 1;
            for (Py_ssize_t d = 0; d < a.nd; d++) {
                int64_t s = a.st[d];
                if (work[v + s] == g) { work[v + s] = 0; stack[top++] = v + s; }
                if (work[v - s] == g) { work[v - s] = 0; stack[top++] = v - s; }
            }
        }
        level[nz] = a.b[v0];
        zsize[nz] = count;
        nz++;
    }
    Py_END_ALLOW_THREADS
    free(work);
    free(stack);
    release(&a);
    PyBuffer_Release(&lev);
    if (lab.obj) PyBuffer_Release(&lab);
    return PyLong_FromSsize_t(nz);
}

/* gldm(box, idx, steps, alpha, width, out): per ROI voxel, the number of neighbours v +/- step in
 * the ROI within alpha grey levels; out[(g-1), dep] += 1; out is float64 (ng, width). */
static PyObject *k_gldm(PyObject *self, PyObject *args) {
    Args a = {0};
    long long alpha;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*y*y*Lnw*", &a.box, &a.idx, &a.steps, &alpha, &width, &a.out)) {
        release(&a);
        return NULL;
    }
    if (width != 2 * (a.steps.len / 8) + 1 || (a.out.len / 8) % width) {
        PyErr_SetString(PyExc_ValueError, "bad width or output size");
        release(&a);
        return NULL;
    }
    if (check(&a, a.out.len / 8, 8, (a.out.len / 8) / width) < 0) {
        release(&a);
        return NULL;
    }
    double *out = (double *)a.out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < a.n; k++) {
        int64_t v = a.ix[k];
        int32_t g = a.b[v];
        Py_ssize_t dep = 0;
        for (Py_ssize_t d = 0; d < a.nd; d++) {
            int32_t h = a.b[v + a.st[d]];
            if (h > 0 && llabs((long long)h - g) <= alpha) dep++;
            h = a.b[v - a.st[d]];
            if (h > 0 && llabs((long long)h - g) <= alpha) dep++;
        }
        out[(Py_ssize_t)(g - 1) * width + dep] += 1.0;
    }
    Py_END_ALLOW_THREADS
    release(&a);
    Py_RETURN_NONE;
}

/* ngtdm(box, idx, steps, out): per ROI voxel with at least one neighbour v +/- step in the ROI,
 * out[(g-1), 0] += 1 and out[(g-1), 1] += |g - mean neighbour level|; out is float64 (ng, 3)
 * (column 2 is left to the caller). */
static PyObject *k_ngtdm(PyObject *self, PyObject *args) {
    Args a = {0};
    if (!PyArg_ParseTuple(args, "y*y*y*w*", &a.box, &a.idx, &a.steps, &a.out)) {
        release(&a);
        return NULL;
    }
    if ((a.out.len / 8) % 3) {
        PyErr_SetString(PyExc_ValueError, "output must be (ng, 3)");
        release(&a);
        return NULL;
    }
    if (check(&a, a.out.len / 8, 8, (a.out.len / 8) / 3) < 0) {
        release(&a);
        return NULL;
    }
    double *out = (double *)a.out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < a.n; k++) {
        int64_t v = a.ix[k];
        int32_t g = a.b[v];
        int64_t sum = 0, cnt = 0;
        for (Py_ssize_t d = 0; d < a.nd; d++) {
            int32_t h = a.b[v + a.st[d]];
            if (h > 0) { sum += h; cnt++; }
            h = a.b[v - a.st[d]];
            if (h > 0) { sum += h; cnt++; }
        }
        if (!cnt) continue;
        out[(Py_ssize_t)(g - 1) * 3] += 1.0;
        out[(Py_ssize_t)(g - 1) * 3 + 1] += fabs((double)g - (double)sum / (double)cnt);
    }
    Py_END_ALLOW_THREADS
    release(&a);
    Py_RETURN_NONE;
}


/* ---------------------------------------------------------------- cubic B-spline resampling */
#define POLE_TOL 1e-10

/* ITK's cubic B-spline coefficients (BSplineDecompositionImageFilter, mirror boundaries) along
 * one axis of the float64 array c: n samples per line, consecutive samples `step` apart, lines
 * starting at the `nlines` offsets line0 + a * outer + b (a < na, b < nb). The operations and
 * their order are those of _preprocess._spline_coefficients_1d (which works on all lines at
 * once), so the results are the same bit for bit. */
static void spline_axis(double *c, Py_ssize_t n, Py_ssize_t step, Py_ssize_t na, Py_ssize_t outer,
                        Py_ssize_t nb, double *tot) {
    /* lines a * outer + b (b < nb, consecutive), sample k at + k * step: the inner loops run
     * over b, so each pass reads contiguous memory (as NumPy's whole-plane operations do) */
    if (n == 1) return;
    const double z = sqrt(3.0) - 2.0;
    const double gain = 1.0 * (1.0 - z) * (1.0 - 1.0 / z);
    const Py_ssize_t horizon = (Py_ssize_t)ceil(log(POLE_TOL) / log(fabs(z)));
    for (Py_ssize_t a = 0; a < na; a++) {
        double *l = c + a * outer;
#define C(k) l[(k) * step + b]
#define FOR_B for (Py_ssize_t b = 0; b < nb; b++)
        for (Py_ssize_t k = 0; k < n; k++) FOR_B C(k) *= gain;
        double zn = z;
        if (horizon < n) {
            FOR_B tot[b] = C(0);
            for (Py_ssize_t k = 1; k < horizon; k++) {
                FOR_B tot[b] += zn * C(k);
                zn *= z;
            }
        } else {
            double iz = 1.0 / z, z2n = pow(z, (double)(n - 1));
            FOR_B tot[b] = C(0) + z2n * C(n - 1);
            z2n *= z2n * iz;
            for (Py_ssize_t k = 1; k < n - 1; k++) {
                double f = zn + z2n;
                FOR_B tot[b] += f * C(k);
                zn *= z;
                z2n *= iz;
            }
            double den = 1.0 - zn * zn;
            FOR_B tot[b] = tot[b] / den;
        }
        FOR_B C(0) = tot[b];
        for (Py_ssize_t k = 1; k < n; k++) FOR_B C(k) += z * C(k - 1);
        double q = z / (z * z - 1.0);
        FOR_B C(n - 1) = q * (z * C(n - 2) + C(n - 1));
        for (Py_ssize_t k = n - 2; k >= 0; k--) FOR_B C(k) = z * (C(k + 1) - C(k));
#undef C
#undef FOR_B
    }
}

/* 4-tap sampling along one axis: out[.., i, ..] = sum_t in[.., first[i] + t, ..] * w[i, t], summed
 * in tap order. in: (na, n_in, nb), out: (na, n_out, nb). */
static void sample_axis(const double *in, double *out, Py_ssize_t na, Py_ssize_t n_in,
                        Py_ssize_t n_out, Py_ssize_t nb, const int64_t *first, const double *w) {
    for (Py_ssize_t a = 0; a < na; a++) {
        for (Py_ssize_t i = 0; i < n_out; i++) {
            const double *p = in + (a * n_in + first[i]) * nb;
            const double *wi = w + 4 * i;
            double *o = out + (a * n_out + i) * nb;
            for (Py_ssize_t b = 0; b < nb; b++) {
                double acc = p[b] * wi[0];
                acc += p[nb + b] * wi[1];
                acc += p[2 * nb + b] * wi[2];
                acc += p[3 * nb + b] * wi[3];
                o[b] = acc;
            }
        }
    }
}

/* bspline(c, nz, ny, nx, first_x, w_x, first_y, w_y, first_z, w_z, out): cubic B-spline samples
 * of the float64 volume c (overwritten by its coefficients) at the separable positions given by
 * the first support index and the 4 weights per output coordinate (int64 / float64 (m, 4));
 * out: float64 (mz, my, mx). Supports must lie inside the volume (checked). */
static PyObject *k_bspline(PyObject *self, PyObject *args) {
    Py_buffer cb = {0}, fx = {0}, wx = {0}, fy = {0}, wy = {0}, fz = {0}, wz = {0}, ob = {0};
    Py_ssize_t nz, ny, nx;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "w*nnny*y*y*y*y*y*w*", &cb, &nz, &ny, &nx, &fx, &wx, &fy, &wy,
                          &fz, &wz, &ob))
        goto done;
    Py_ssize_t mx = fx.len / 8, my = fy.len / 8, mz = fz.len / 8;
    if (cb.len != nz * ny * nx * 8 || wx.len != mx * 32 || wy.len != my * 32 || wz.len != mz * 32
        || ob.len != mz * my * mx * 8 || nz < 1 || ny < 1 || nx < 1) {
        PyErr_SetString(PyExc_ValueError, "bspline: buffer sizes do not match");
        goto done;
    }
    const int64_t *f[3] = {fx.buf, fy.buf, fz.buf};
    const Py_ssize_t m[3] = {mx, my, mz}, nin[3] = {nx, ny, nz};
    for (int a = 0; a < 3; a++)
        for (Py_ssize_t i = 0; i < m[a]; i++)
            if (f[a][i] < 0 || f[a][i] + 3 > nin[a] - 1) {
                PyErr_SetString(PyExc_ValueError, "bspline: a support leaves the volume");
                goto done;
            }
    double *c = cb.buf, *t1 = malloc(sizeof(double) * (size_t)(nz * ny * mx + 1));
    double *t2 = malloc(sizeof(double) * (size_t)(nz * my * mx + 1));
    if (!t1 || !t2) {
        free(t1);
        free(t2);
        PyErr_NoMemory();
        goto done;
    }
    double *tot = malloc(sizeof(double) * (size_t)(ny * nx + 1));
    if (!tot) {
        free(t1);
        free(t2);
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    spline_axis(c, nx, 1, nz * ny, nx, 1, tot);       /* x: one contiguous line at a time */
    spline_axis(c, ny, nx, nz, ny * nx, nx, tot);     /* y: per plane, all columns at once */
    spline_axis(c, nz, ny * nx, 1, 0, ny * nx, tot);  /* z: all (y, x) lines at once */
    /* x: (nz*ny, nx, 1) -> (nz*ny, mx, 1) */
    sample_axis(c, t1, nz * ny, nx, mx, 1, fx.buf, wx.buf);
    /* y: (nz, ny, mx) -> (nz, my, mx) */
    sample_axis(t1, t2, nz, ny, my, mx, fy.buf, wy.buf);
    /* z: (1, nz, my*mx) -> (1, mz, my*mx) */
    sample_axis(t2, ob.buf, 1, nz, mz, my * mx, fz.buf, wz.buf);
    Py_END_ALLOW_THREADS
    free(t1);
    free(t2);
    free(tot);
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    if (cb.obj) PyBuffer_Release(&cb);
    if (fx.obj) PyBuffer_Release(&fx);
    if (wx.obj) PyBuffer_Release(&wx);
    if (fy.obj) PyBuffer_Release(&fy);
    if (wy.obj) PyBuffer_Release(&wy);
    if (fz.obj) PyBuffer_Release(&fz);
    if (wz.obj) PyBuffer_Release(&wz);
    if (ob.obj) PyBuffer_Release(&ob);
    return ret;
}

static PyMethodDef methods[] = {
    {"glcm", k_glcm, METH_VARARGS, "glcm(box, idx, steps, ng, out): co-occurrence counts."},
    {"glrlm", k_glrlm, METH_VARARGS, "glrlm(box, idx, steps, ng, nr, out): run-length counts."},
    {"zones", k_zones, METH_VARARGS,
     "zones(box, idx, steps, level_out, size_out[, labels_out]) -> n_zones: equal-level "
     "connected zones."},
    {"gldm", k_gldm, METH_VARARGS, "gldm(box, idx, steps, alpha, width, out): dependence counts."},
    {"ngtdm", k_ngtdm, METH_VARARGS, "ngtdm(box, idx, steps, out): neighbourhood differences."},
    {"bspline", k_bspline, METH_VARARGS,
     "bspline(c, nz, ny, nx, first_x, w_x, first_y, w_y, first_z, w_z, out): cubic B-spline "
     "resampling of a float64 volume (overwritten by its coefficients)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ckernels",
    "Optional C kernels of PyRadiomics mode: texture matrices (_matrices.py), B-spline "
    "resampling (_preprocess.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__ckernels(void) { return PyModule_Create(&module); }
