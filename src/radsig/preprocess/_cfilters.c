/*
 * Optional C kernels of radsig's image filters (radsig/preprocess/filters.py):
 *   laplacian: the Laplacian of Gaussian by Deriche's recursive filters, computed as ITK's
 *              LaplacianRecursiveGaussianImageFilter computes it;
 *   swt:       one level of the stationary wavelet transform along one axis, as PyWavelets'
 *              swt computes it (periodic extension; same terms summed in the same order).
 *
 * LoG.
 *
 * Why C: PyRadiomics' LoG images come from SimpleITK's LaplacianRecursiveGaussianImageFilter,
 * and radsig must reproduce them exactly. SimpleITK holds the GIL while it filters, and it filters
 * one line at a time, so each pass is bound by the latency of the recursion. Here the same
 * arithmetic, in the same order, runs on blocks of lines side by side (the compiler vectorises
 * across lines; each line's result is unchanged) with the GIL released, so a case's LoG images
 * are computed in parallel with its other derived images. The tests compare the result with
 * SimpleITK's bit for bit.
 *
 * ITK's pipeline, reproduced: for each image axis d (x, y, z), a second-derivative recursive
 * Gaussian along d (read from the input, computed in double, stored as float), then zero-order
 * recursive Gaussians along the two other axes in increasing order (float in, double inside,
 * float out), added to a float accumulator as acc + out * (1 / spacing_d^2) in double.
 * Coefficients follow ITK's RecursiveGaussianImageFilter::SetUp (Deriche 4th order, with the
 * boundary coefficients that extend the edge values), with scale normalisation sigma^2 for the
 * second derivative.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double n0, n1, n2, n3, d1, d2, d3, d4, m1, m2, m3, m4;
    double bn1, bn2, bn3, bn4, bm1, bm2, bm3, bm4;
} Coef;

static void n_coefficients(double sigmad, double A1, double B1, double W1, double L1, double A2,
                           double B2, double W2, double L2, double *N0, double *N1, double *N2,
                           double *N3, double *SN, double *DN, double *EN) {
    double Sin1 = sin(W1 / sigmad), Sin2 = sin(W2 / sigmad);
    double Cos1 = cos(W1 / sigmad), Cos2 = cos(W2 / sigmad);
    double Exp1 = exp(L1 / sigmad), Exp2 = exp(L2 / sigmad);
    *N0 = A1 + A2;
    *N1 = Exp2 * (B2 * Sin2 - (A2 + 2 * A1) * Cos2);
    *N1 += Exp1 * (B1 * Sin1 - (A1 + 2 * A2) * Cos1);
    *N2 = (A1 + A2) * Cos2 * Cos1;
    *N2 -= B1 * Cos2 * Sin1 + B2 * Cos1 * Sin2;
    *N2 *= 2 * Exp1 * Exp2;
    *N2 += A2 * Exp1 * Exp1 + A1 * Exp2 * Exp2;
    *N3 = Exp2 * Exp1 * Exp1 * (B2 * Sin2 - A2 * Cos2);
    *N3 += Exp1 * Exp2 * Exp2 * (B1 * Sin1 - A1 * Cos1);
    *SN = *N0 + *N1 + *N2 + *N3;
    *DN = *N1 + 2 * *N2 + 3 * *N3;
    *EN = *N1 + 4 * *N2 + 9 * *N3;
}

static void d_coefficients(double sigmad, double W1, double L1, double W2, double L2, Coef *c,
                           double *SD, double *DD, double *ED) {
    double Cos1 = cos(W1 / sigmad), Cos2 = cos(W2 / sigmad);
    double Exp1 = exp(L1 / sigmad), Exp2 = exp(L2 / sigmad);
    c->d4 = Exp1 * Exp1 * Exp2 * Exp2;
    c->d3 = -2 * Cos1 * Exp1 * Exp2 * Exp2;
    c->d3 += -2 * Cos2 * Exp2 * Exp1 * Exp1;
    c->d2 = 4 * Cos2 * Cos1 * Exp1 * Exp2;
    c->d2 += Exp1 * Exp1 + Exp2 * Exp2;
    c->d1 = -2 * (Exp2 * Cos2 + Exp1 * Cos1);
    *SD = 1.0 + c->d1 + c->d2 + c->d3 + c->d4;
    *DD = c->d1 + 2 * c->d2 + 3 * c->d3 + 4 * c->d4;
    *ED = c->d1 + 4 * c->d2 + 9 * c->d3 + 16 * c->d4;
}

/* order 0: Gaussian; order 2: second derivative, scaled by sigma^2 (normalised across scale). */
static void set_up(Coef *c, double sigma, double spacing, int order) {
    const double W1 = 0.6681, L1 = -1.3932, W2 = 2.0787, L2 = -1.3732;
    const double A1[3] = {1.3530, -0.6724, -1.3563}, B1[3] = {1.8151, -3.4327, 5.2318};
    const double A2[3] = {-0.3531, 0.6724, 0.3446}, B2[3] = {0.0902, 0.6100, -2.2355};
    double sigmad = sigma / spacing, SD, DD, ED, SN, DN, EN;
    d_coefficients(sigmad, W1, L1, W2, L2, c, &SD, &DD, &ED);
    if (order == 0) {
        n_coefficients(sigmad, A1[0], B1[0], W1, L1, A2[0], B2[0], W2, L2, &c->n0, &c->n1,
                       &c->n2, &c->n3, &SN, &DN, &EN);
        double alpha0 = 2 * SN / SD - c->n0;
        c->n0 *= 1.0 / alpha0;
        c->n1 *= 1.0 / alpha0;
        c->n2 *= 1.0 / alpha0;
        c->n3 *= 1.0 / alpha0;
    } else {
        double across = sigma * sigma;
        double N0_0, N1_0, N2_0, N3_0, N0_2, N1_2, N2_2, N3_2, SN0, DN0, EN0, SN2, DN2, EN2;
        n_coefficients(sigmad, A1[0], B1[0], W1, L1, A2[0], B2[0], W2, L2, &N0_0, &N1_0, &N2_0,
                       &N3_0, &SN0, &DN0, &EN0);
        n_coefficients(sigmad, A1[2], B1[2], W1, L1, A2[2], B2[2], W2, L2, &N0_2, &N1_2, &N2_2,
                       &N3_2, &SN2, &DN2, &EN2);
        double beta = -(2 * SN2 - SD * N0_2) / (2 * SN0 - SD * N0_0);
        c->n0 = N0_2 + beta * N0_0;
        c->n1 = N1_2 + beta * N1_0;
        c->n2 = N2_2 + beta * N2_0;
        c->n3 = N3_2 + beta * N3_0;
        SN = SN2 + beta * SN0;
        DN = DN2 + beta * DN0;
        EN = EN2 + beta * EN0;
        double alpha2 = EN * SD * SD - ED * SN * SD - 2 * DN * DD * SD + 2 * DD * DD * SN;
        alpha2 /= SD * SD * SD;
        c->n0 *= across / alpha2;
        c->n1 *= across / alpha2;
        c->n2 *= across / alpha2;
        c->n3 *= across / alpha2;
    }
    /* both orders are symmetric kernels */
    c->m1 = c->n1 - c->d1 * c->n0;
    c->m2 = c->n2 - c->d2 * c->n0;
    c->m3 = c->n3 - c->d3 * c->n0;
    c->m4 = -c->d4 * c->n0;
    double SNb = c->n0 + c->n1 + c->n2 + c->n3;
    double SM = c->m1 + c->m2 + c->m3 + c->m4;
    double SDb = 1.0 + c->d1 + c->d2 + c->d3 + c->d4;
    c->bn1 = c->d1 * SNb / SDb;
    c->bn2 = c->d2 * SNb / SDb;
    c->bn3 = c->d3 * SNb / SDb;
    c->bn4 = c->d4 * SNb / SDb;
    c->bm1 = c->d1 * SM / SDb;
    c->bm2 = c->d2 * SM / SDb;
    c->bm3 = c->d3 * SM / SDb;
    c->bm4 = c->d4 * SM / SDb;
}

/* The causal and anti-causal recursions on nb lines of length L at once: element i of line b is
 * x[i * nb + b]. Result (causal + anti-causal) in s1. Per line, the operations and their order
 * are those of ITK's RecursiveSeparableImageFilter::FilterDataArray. */
static void filter_lines(const Coef *c, const double *x, double *s1, double *s2, Py_ssize_t L,
                         Py_ssize_t nb) {
#define X(i) x[(i) * nb + b]
#define S1(i) s1[(i) * nb + b]
#define S2(i) s2[(i) * nb + b]
    for (Py_ssize_t b = 0; b < nb; b++) {
        double v = X(0);
        S1(0) = v * c->n0 + v * c->n1 + v * c->n2 + v * c->n3;
        S1(1) = X(1) * c->n0 + v * c->n1 + v * c->n2 + v * c->n3;
        S1(2) = X(2) * c->n0 + X(1) * c->n1 + v * c->n2 + v * c->n3;
        S1(3) = X(3) * c->n0 + X(2) * c->n1 + X(1) * c->n2 + v * c->n3;
        S1(0) -= v * c->bn1 + v * c->bn2 + v * c->bn3 + v * c->bn4;
        S1(1) -= S1(0) * c->d1 + v * c->bn2 + v * c->bn3 + v * c->bn4;
        S1(2) -= S1(1) * c->d1 + S1(0) * c->d2 + v * c->bn3 + v * c->bn4;
        S1(3) -= S1(2) * c->d1 + S1(1) * c->d2 + S1(0) * c->d3 + v * c->bn4;
        double w = X(L - 1);
        S2(L - 1) = w * c->m1 + w * c->m2 + w * c->m3 + w * c->m4;
        S2(L - 2) = X(L - 1) * c->m1 + w * c->m2 + w * c->m3 + w * c->m4;
        S2(L - 3) = X(L - 2) * c->m1 + X(L - 1) * c->m2 + w * c->m3 + w * c->m4;
        S2(L - 4) = X(L - 3) * c->m1 + X(L - 2) * c->m2 + X(L - 1) * c->m3 + w * c->m4;
        S2(L - 1) -= w * c->bm1 + w * c->bm2 + w * c->bm3 + w * c->bm4;
        S2(L - 2) -= S2(L - 1) * c->d1 + w * c->bm2 + w * c->bm3 + w * c->bm4;
        S2(L - 3) -= S2(L - 2) * c->d1 + S2(L - 1) * c->d2 + w * c->bm3 + w * c->bm4;
        S2(L - 4) -= S2(L - 3) * c->d1 + S2(L - 2) * c->d2 + S2(L - 1) * c->d3 + w * c->bm4;
    }
    for (Py_ssize_t i = 4; i < L; i++) {
        for (Py_ssize_t b = 0; b < nb; b++) {
            S1(i) = X(i) * c->n0 + X(i - 1) * c->n1 + X(i - 2) * c->n2 + X(i - 3) * c->n3;
            S1(i) -= S1(i - 1) * c->d1 + S1(i - 2) * c->d2 + S1(i - 3) * c->d3 + S1(i - 4) * c->d4;
        }
    }
    for (Py_ssize_t i = L - 4; i > 0; i--) {
        for (Py_ssize_t b = 0; b < nb; b++) {
            S2(i - 1) = X(i) * c->m1 + X(i + 1) * c->m2 + X(i + 2) * c->m3 + X(i + 3) * c->m4;
            S2(i - 1) -= S2(i) * c->d1 + S2(i + 1) * c->d2 + S2(i + 2) * c->d3 + S2(i + 3) * c->d4;
        }
    }
    for (Py_ssize_t k = 0; k < L * nb; k++) s1[k] += s2[k];
#undef X
#undef S1
#undef S2
}

#define BLOCK 64 /* lines filtered together */

/* One 1-D pass along numpy axis `axis` of a (nz, ny, nx) volume: from `in` (double if `in_d`,
 * else float) into float `out` (may alias a float `in`). work: 3 * L * BLOCK doubles. */
static void pass(const void *in, int in_d, float *out, const Py_ssize_t *shape, int axis,
                 const Coef *c, double *work) {
    Py_ssize_t L = shape[axis], C = 1, A = 1;
    for (int k = axis + 1; k < 3; k++) C *= shape[k];
    for (int k = 0; k < axis; k++) A *= shape[k];
    double *x = work, *s1 = work + L * BLOCK, *s2 = work + 2 * L * BLOCK;
    Py_ssize_t lines = A * C;
    for (Py_ssize_t k0 = 0; k0 < lines; k0 += BLOCK) {
        Py_ssize_t nb = lines - k0 < BLOCK ? lines - k0 : BLOCK;
        for (Py_ssize_t b = 0; b < nb; b++) {
            Py_ssize_t k = k0 + b, base = (k / C) * L * C + k % C;
            if (in_d) {
                const double *p = (const double *)in + base;
                for (Py_ssize_t i = 0; i < L; i++) x[i * nb + b] = p[i * C];
            } else {
                const float *p = (const float *)in + base;
                for (Py_ssize_t i = 0; i < L; i++) x[i * nb + b] = (double)p[i * C];
            }
        }
        filter_lines(c, x, s1, s2, L, nb);
        for (Py_ssize_t b = 0; b < nb; b++) {
            Py_ssize_t k = k0 + b, base = (k / C) * L * C + k % C;
            float *q = out + base;
            for (Py_ssize_t i = 0; i < L; i++) q[i * C] = (float)s1[i * nb + b];
        }
    }
}

/* laplacian(image, nz, ny, nx, sx, sy, sz, sigma, out): image float64 (nz, ny, nx) C order,
 * spacing in mm along x, y, z, sigma in mm; out float32 of the same shape. */
static PyObject *laplacian(PyObject *self, PyObject *args) {
    Py_buffer img = {0}, outb = {0};
    Py_ssize_t shape[3];
    double sp[3], sigma;
    if (!PyArg_ParseTuple(args, "y*nnnddddw*", &img, &shape[0], &shape[1], &shape[2], &sp[0],
                          &sp[1], &sp[2], &sigma, &outb)) {
        if (img.obj) PyBuffer_Release(&img);
        if (outb.obj) PyBuffer_Release(&outb);
        return NULL;
    }
    Py_ssize_t n = shape[0] * shape[1] * shape[2];
    const char *err = NULL;
    if (shape[0] < 4 || shape[1] < 4 || shape[2] < 4) err = "every axis needs >= 4 voxels";
    else if (img.len != n * 8 || outb.len != n * 4) err = "buffers must be float64 / float32 of the shape";
    else if (!(sigma > 0) || !(sp[0] > 1e-8) || !(sp[1] > 1e-8) || !(sp[2] > 1e-8))
        err = "sigma and spacing must be > 0";
    if (err) {
        PyBuffer_Release(&img);
        PyBuffer_Release(&outb);
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    Py_ssize_t Lmax = shape[0] > shape[1] ? shape[0] : shape[1];
    if (shape[2] > Lmax) Lmax = shape[2];
    float *tmp = malloc(sizeof(float) * (size_t)n);
    double *work = malloc(sizeof(double) * 3 * (size_t)Lmax * BLOCK);
    if (!tmp || !work) {
        free(tmp);
        free(work);
        PyBuffer_Release(&img);
        PyBuffer_Release(&outb);
        return PyErr_NoMemory();
    }
    float *acc = (float *)outb.buf;
    const double *in = (const double *)img.buf;
    Py_BEGIN_ALLOW_THREADS
    memset(acc, 0, sizeof(float) * (size_t)n);
    for (int d = 0; d < 3; d++) { /* ITK axis d (x, y, z) is numpy axis 2 - d */
        Coef c;
        set_up(&c, sigma, sp[d], 2);
        pass(in, 1, tmp, shape, 2 - d, &c, work);
        for (int e = 0; e < 3; e++) {
            if (e == d) continue;
            set_up(&c, sigma, sp[e], 0);
            pass(tmp, 0, tmp, shape, 2 - e, &c, work);
        }
        double scale = 1.0 / (sp[d] * sp[d]);
        for (Py_ssize_t k = 0; k < n; k++) acc[k] = (float)((double)acc[k] + (double)tmp[k] * scale);
    }
    Py_END_ALLOW_THREADS
    free(tmp);
    free(work);
    PyBuffer_Release(&img);
    PyBuffer_Release(&outb);
    Py_RETURN_NONE;
}


/* ---------------------------------------------------------------- stationary wavelet transform
 * One output sample of PyWavelets' level-1 SWT (downsampling_convolution_periodization with
 * step 1) is sum_m f[m] * x[(o + F/2 - m) mod N]; PyWavelets adds the terms in an order that
 * depends on where the filter overhangs the line. swt_terms lists, for output o, the (filter
 * index, input index) of each term in that order; the transform then sums them for many lines at
 * once (same terms, same order per line, so the same result bit for bit). */
static void swt_terms(Py_ssize_t N, Py_ssize_t F, Py_ssize_t o, Py_ssize_t *fm, Py_ssize_t *xr) {
    Py_ssize_t i = o + F / 2, j = 0, t = 0;
    if (i >= N) { /* right overhang first: wrapped terms, filter index descending */
        while (i - j >= N) {
            for (Py_ssize_t k = 0; k < N && i - j >= N; k++, j++) { fm[t] = i - N - j; xr[t++] = k; }
        }
    }
    if (i < F) { /* the filter reaches before the start: terms up to i, then wrapped ones */
        for (; j <= i; j++) { fm[t] = j; xr[t++] = i - j; }
        while (j < F) {
            for (Py_ssize_t k = 0; k < N && j < F; k++, j++) { fm[t] = j; xr[t++] = N - 1 - k; }
        }
    } else {
        for (; j < F; j++) { fm[t] = j; xr[t++] = i - j; }
    }
}

/* swt(data, n_outer, n, n_inner, lo, hi, out_lo, out_hi): along the middle axis of the float64
 * array data viewed as (n_outer, n, n_inner), the low- and high-pass SWT outputs (same shape). */
static PyObject *swt(PyObject *self, PyObject *args) {
    Py_buffer db = {0}, lb = {0}, hb = {0}, ob = {0}, pb = {0};
    Py_ssize_t na, n, nb;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*nnny*y*w*w*", &db, &na, &n, &nb, &lb, &hb, &ob, &pb))
        goto done;
    Py_ssize_t total = na * n * nb, F = lb.len / 8;
    if (db.len != total * 8 || ob.len != total * 8 || pb.len != total * 8 || hb.len != lb.len
        || F < 2 || n < 1) {
        PyErr_SetString(PyExc_ValueError, "swt: buffer sizes do not match");
        goto done;
    }
    Py_ssize_t *fm = malloc(sizeof(Py_ssize_t) * (size_t)(n * F));
    Py_ssize_t *xr = malloc(sizeof(Py_ssize_t) * (size_t)(n * F));
    if (!fm || !xr) {
        free(fm);
        free(xr);
        PyErr_NoMemory();
        goto done;
    }
    const double *x = db.buf, *lo = lb.buf, *hi = hb.buf;
    double *ol = ob.buf, *oh = pb.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t o = 0; o < n; o++) swt_terms(n, F, o, fm + o * F, xr + o * F);
    for (Py_ssize_t a = 0; a < na; a++) {
        const double *xa = x + a * n * nb;
        for (Py_ssize_t o = 0; o < n; o++) {
            double *pl = ol + (a * n + o) * nb, *ph = oh + (a * n + o) * nb;
            const Py_ssize_t *fo = fm + o * F, *xo = xr + o * F;
            for (Py_ssize_t b = 0; b < nb; b++) {
                double sl = 0.0, sh = 0.0;
                for (Py_ssize_t t = 0; t < F; t++) {
                    double v = xa[xo[t] * nb + b];
                    sl += lo[fo[t]] * v;
                    sh += hi[fo[t]] * v;
                }
                pl[b] = sl;
                ph[b] = sh;
            }
        }
    }
    Py_END_ALLOW_THREADS
    free(fm);
    free(xr);
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    if (db.obj) PyBuffer_Release(&db);
    if (lb.obj) PyBuffer_Release(&lb);
    if (hb.obj) PyBuffer_Release(&hb);
    if (ob.obj) PyBuffer_Release(&ob);
    if (pb.obj) PyBuffer_Release(&pb);
    return ret;
}

static PyMethodDef methods[] = {
    {"laplacian", laplacian, METH_VARARGS,
     "laplacian(image, nz, ny, nx, sx, sy, sz, sigma, out): scale-normalised LoG as ITK's "
     "LaplacianRecursiveGaussianImageFilter (image float64, out float32)."},
    {"swt", swt, METH_VARARGS,
     "swt(data, n_outer, n, n_inner, lo, hi, out_lo, out_hi): one SWT level along the middle "
     "axis of a float64 (n_outer, n, n_inner) array, as PyWavelets computes it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cfilters",
    "Optional C kernels of the image filters: LoG (ITK's recursive-Gaussian Laplacian) and the "
    "stationary wavelet transform (PyWavelets' swt, one level).", -1, methods,
};

PyMODINIT_FUNC PyInit__cfilters(void) { return PyModule_Create(&module); }
