/*
 * Exact 3D convex hull of integer lattice points (optional C accelerator of radsig.features._mesh).
 *
 * Why by hand: the marching-cubes mesh of a binary mask at iso-level 0.5 has its vertices on the
 * half-voxel lattice, so in half-voxel units they are integers, and the hull can be computed with
 * exact integer orientation tests. Qhull (through SciPy) gives the same hull in floating point, but
 * importing scipy.spatial costs more than the whole morphology family of a typical ROI, and no
 * small library offers an exact integer hull as a Python extension.
 *
 * Method: Quickhull (Barber, Dobkin & Huhdanpaa 1996) with strict visibility. Every facet is a
 * triangle oriented outward; a point is "outside" a facet when the orientation determinant is
 * strictly positive. Points on the boundary (coplanar with a facet) are never added, so coplanar
 * and degenerate inputs need no tolerances: the visible region of an outside point is a disc,
 * its horizon a simple cycle, and each new triangle (horizon edge, point) is non-degenerate.
 * Coplanar neighbouring triangles may remain (a face of the polytope is then triangulated), and a
 * triangulation vertex may lie inside a face or on an edge of the polytope; the extreme points
 * (the polytope's vertices) are the triangulation vertices around which the triangles span at
 * least three distinct planes (compared by their primitive integer normals).
 *
 * Exactness: with every coordinate span <= 2^20 (checked), the differences are <= 2^20, a normal
 * component <= 2^41 and an orientation determinant <= 3 * 2^61, all inside int64.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPAN ((int64_t)1 << 20)

typedef struct {
    int64_t v[3];   /* point indices, counter-clockwise seen from outside */
    int64_t nb[3];  /* neighbour facet across edge (v[k], v[k+1]) */
    int64_t n[3];   /* outward normal (b - a) x (c - a), not normalised */
    int64_t head;   /* first point of the outside set, -1 when empty */
    int64_t far;    /* the outside point farthest from the plane */
    int64_t fardist;
    int64_t stamp;  /* visibility test of the current step: stamp * 2 (+1 when visible) */
    int alive;
} Facet;

typedef struct {
    const int64_t *p;
    int64_t n;
    Facet *f;
    int64_t nf, capf;
    int64_t *next;       /* outside-set links of the points */
    int64_t *start_of;   /* per point: new facet whose horizon edge starts there (this step) */
    int64_t *end_of;
    int64_t *mark_of;    /* step stamp of start_of / end_of */
    int64_t *stack, nstack, capstack;
    int64_t *vis, nvis, capvis;
    int64_t *newf, nnew, capnew;
} Hull;

static int grow(int64_t **a, int64_t *cap, int64_t need) {
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    int64_t *b = (int64_t *)realloc(*a, (size_t)c * sizeof(int64_t));
    if (!b) return -1;
    *a = b;
    *cap = c;
    return 0;
}

static int push(int64_t **a, int64_t *len, int64_t *cap, int64_t x) {
    if (grow(a, cap, *len + 1) < 0) return -1;
    (*a)[(*len)++] = x;
    return 0;
}

static inline int64_t orient(const Hull *h, const Facet *f, int64_t q) {
    const int64_t *a = h->p + 3 * f->v[0], *x = h->p + 3 * q;
    return f->n[0] * (x[0] - a[0]) + f->n[1] * (x[1] - a[1]) + f->n[2] * (x[2] - a[2]);
}

static int64_t new_facet(Hull *h, int64_t a, int64_t b, int64_t c) {
    if (h->nf == h->capf) {
        int64_t cap = h->capf ? 2 * h->capf : 256;
        Facet *g = (Facet *)realloc(h->f, (size_t)cap * sizeof(Facet));
        if (!g) return -1;
        h->f = g;
        h->capf = cap;
    }
    Facet *f = h->f + h->nf;
    const int64_t *pa = h->p + 3 * a, *pb = h->p + 3 * b, *pc = h->p + 3 * c;
    int64_t u0 = pb[0] - pa[0], u1 = pb[1] - pa[1], u2 = pb[2] - pa[2];
    int64_t w0 = pc[0] - pa[0], w1 = pc[1] - pa[1], w2 = pc[2] - pa[2];
    f->v[0] = a; f->v[1] = b; f->v[2] = c;
    f->nb[0] = f->nb[1] = f->nb[2] = -1;
    f->n[0] = u1 * w2 - u2 * w1;
    f->n[1] = u2 * w0 - u0 * w2;
    f->n[2] = u0 * w1 - u1 * w0;
    f->head = -1;
    f->far = -1;
    f->fardist = 0;
    f->stamp = 0;
    f->alive = 1;
    return h->nf++;
}

static void add_outside(Hull *h, int64_t fi, int64_t q, int64_t d) {
    Facet *f = h->f + fi;
    h->next[q] = f->head;
    f->head = q;
    if (d > f->fardist) {
        f->fardist = d;
        f->far = q;
    }
}

/* Index k such that facet f has the directed edge (a, b) = (v[k], v[k+1]), or -1. */
static int edge_index(const Facet *f, int64_t a, int64_t b) {
    for (int k = 0; k < 3; k++)
        if (f->v[k] == a && f->v[(k + 1) % 3] == b) return k;
    return -1;
}

/* 0: hull built; 1: flat or fewer than 4 distinct points; -1: out of memory; -2: internal
 * inconsistency (never expected; the caller falls back to Qhull). */
static int build(Hull *h) {
    const int64_t *p = h->p;
    int64_t n = h->n;
    if (n < 4) return 1;
    /* initial tetrahedron: a lowest point, the farthest from it, the farthest from their line,
     * the farthest from their plane */
    int64_t i0 = 0;
    for (int64_t i = 1; i < n; i++) {
        const int64_t *a = p + 3 * i, *b = p + 3 * i0;
        if (a[0] < b[0] || (a[0] == b[0] && (a[1] < b[1] || (a[1] == b[1] && a[2] < b[2]))))
            i0 = i;
    }
    const int64_t *p0 = p + 3 * i0;
    int64_t i1 = -1, best = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t *a = p + 3 * i;
        int64_t d0 = a[0] - p0[0], d1 = a[1] - p0[1], d2 = a[2] - p0[2];
        int64_t d = d0 * d0 + d1 * d1 + d2 * d2;
        if (d > best) { best = d; i1 = i; }
    }
    if (i1 < 0) return 1;
    const int64_t *p1 = p + 3 * i1;
    int64_t u0 = p1[0] - p0[0], u1 = p1[1] - p0[1], u2 = p1[2] - p0[2];
    int64_t i2 = -1;
    best = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t *a = p + 3 * i;
        int64_t w0 = a[0] - p0[0], w1 = a[1] - p0[1], w2 = a[2] - p0[2];
        int64_t c0 = u1 * w2 - u2 * w1, c1 = u2 * w0 - u0 * w2, c2 = u0 * w1 - u1 * w0;
        int64_t d = (c0 < 0 ? -c0 : c0) + (c1 < 0 ? -c1 : c1) + (c2 < 0 ? -c2 : c2);
        if (d > best) { best = d; i2 = i; }
    }
    if (i2 < 0) return 1;
    int64_t base = new_facet(h, i0, i1, i2);
    if (base < 0) return -1;
    int64_t i3 = -1, o3 = 0;
    best = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t o = orient(h, h->f + base, i);
        int64_t d = o < 0 ? -o : o;
        if (d > best) { best = d; i3 = i; o3 = o; }
    }
    if (i3 < 0) return 1;
    h->nf = 0;
    if (o3 > 0) { int64_t t = i1; i1 = i2; i2 = t; }  /* i3 below (i0, i1, i2) */
    /* faces of the tetrahedron, each oriented with the opposite vertex below it */
    if (new_facet(h, i0, i1, i2) < 0 || new_facet(h, i0, i3, i1) < 0 ||
        new_facet(h, i1, i3, i2) < 0 || new_facet(h, i0, i2, i3) < 0)
        return -1;
    for (int a = 0; a < 4; a++)
        for (int k = 0; k < 3; k++) {
            Facet *f = h->f + a;
            for (int b = 0; b < 4; b++) {
                if (b == a) continue;
                if (edge_index(h->f + b, f->v[(k + 1) % 3], f->v[k]) >= 0) f->nb[k] = b;
            }
            if (f->nb[k] < 0) return -2;
        }
    for (int64_t i = 0; i < n; i++) {
        if (i == i0 || i == i1 || i == i2 || i == i3) continue;
        for (int64_t fi = 0; fi < 4; fi++) {
            int64_t o = orient(h, h->f + fi, i);
            if (o > 0) { add_outside(h, fi, i, o); break; }
        }
    }
    for (int64_t fi = 0; fi < 4; fi++)
        if (push(&h->stack, &h->nstack, &h->capstack, fi) < 0) return -1;

    int64_t step = 0;
    while (h->nstack > 0) {
        int64_t fi = h->stack[--h->nstack];
        if (!h->f[fi].alive || h->f[fi].head < 0) continue;
        int64_t q = h->f[fi].far;
        step++;
        /* visible region: facets strictly below q's view, grown from fi over neighbours */
        h->nvis = 0;
        h->nnew = 0;
        if (push(&h->vis, &h->nvis, &h->capvis, fi) < 0) return -1;
        h->f[fi].stamp = 2 * step + 1;
        for (int64_t k = 0; k < h->nvis; k++) {
            int64_t vi = h->vis[k];
            for (int e = 0; e < 3; e++) {
                int64_t gi = h->f[vi].nb[e];
                Facet *g = h->f + gi;
                if (g->stamp < 2 * step) {
                    g->stamp = 2 * step + (orient(h, g, q) > 0);
                    if (g->stamp & 1) {
                        if (push(&h->vis, &h->nvis, &h->capvis, gi) < 0) return -1;
                        continue;
                    }
                }
                if (g->stamp & 1) continue;
                /* horizon edge (a, b) of the visible facet vi, seen from the hidden facet g */
                int64_t a = h->f[vi].v[e], b = h->f[vi].v[(e + 1) % 3];
                int64_t ni = new_facet(h, a, b, q);
                if (ni < 0) return -1;
                Facet *nf = h->f + ni;
                g = h->f + gi;  /* h->f may have moved */
                int j = edge_index(g, b, a);
                if (j < 0) return -2;
                g->nb[j] = ni;
                nf->nb[0] = gi;
                nf->stamp = 2 * step;  /* new facets are not visible from q */
                for (int t = 0; t < 2; t++) {
                    int64_t x = t ? b : a;
                    if (h->mark_of[x] != step) {
                        h->mark_of[x] = step;
                        h->start_of[x] = h->end_of[x] = -1;
                    }
                }
                /* the horizon is a simple cycle: each vertex starts and ends one edge */
                if (h->start_of[a] >= 0 || h->end_of[b] >= 0) return -2;
                h->start_of[a] = ni;
                h->end_of[b] = ni;
                if (push(&h->newf, &h->nnew, &h->capnew, ni) < 0) return -1;
            }
        }
        for (int64_t k = 0; k < h->nnew; k++) {
            Facet *nf = h->f + h->newf[k];
            int64_t a = nf->v[0], b = nf->v[1];
            nf->nb[1] = h->start_of[b];
            nf->nb[2] = h->end_of[a];
            if (nf->nb[1] < 0 || nf->nb[2] < 0) return -2;
        }
        /* the visible facets die; their outside points go to the first new facet they see */
        for (int64_t k = 0; k < h->nvis; k++) {
            Facet *vf = h->f + h->vis[k];
            vf->alive = 0;
            int64_t r = vf->head;
            vf->head = -1;
            while (r >= 0) {
                int64_t nxt = h->next[r];
                if (r != q) {
                    for (int64_t m = 0; m < h->nnew; m++) {
                        int64_t o = orient(h, h->f + h->newf[m], r);
                        if (o > 0) { add_outside(h, h->newf[m], r, o); break; }
                    }
                }
                r = nxt;
            }
        }
        for (int64_t k = 0; k < h->nnew; k++)
            if (h->f[h->newf[k]].head >= 0 &&
                push(&h->stack, &h->nstack, &h->capstack, h->newf[k]) < 0)
                return -1;
    }
    return 0;
}

static int64_t gcd64(int64_t a, int64_t b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b) { int64_t t = a % b; a = b; b = t; }
    return a;
}

static void free_hull(Hull *h) {
    free(h->f); free(h->next); free(h->start_of); free(h->end_of); free(h->mark_of);
    free(h->stack); free(h->vis); free(h->newf);
}

/* hull3d(points) -> None | (triangles, normals, extreme): points is a C-contiguous int64
 * buffer (n, 3). triangles (int64 (m, 3), outward counter-clockwise point indices) and normals
 * (their primitive integer outward normals, int64 (m, 3)) come as bytes, extreme as bytes of n
 * flags (1 for the vertices of the polytope). None when the points are flat (coplanar,
 * collinear, fewer than 4 distinct). ValueError when a coordinate span exceeds 2^20. */
static PyObject *k_hull3d(PyObject *self, PyObject *args) {
    Py_buffer buf = {0};
    if (!PyArg_ParseTuple(args, "y*", &buf)) return NULL;
    if (buf.len % (3 * sizeof(int64_t))) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "points must be int64 (n, 3)");
        return NULL;
    }
    Hull h;
    memset(&h, 0, sizeof h);
    h.p = (const int64_t *)buf.buf;
    h.n = buf.len / (3 * (Py_ssize_t)sizeof(int64_t));
    for (int c = 0; c < 3 && h.n > 0; c++) {
        int64_t lo = h.p[c], hi = h.p[c];
        for (int64_t i = 1; i < h.n; i++) {
            int64_t x = h.p[3 * i + c];
            if (x < lo) lo = x;
            if (x > hi) hi = x;
        }
        if (hi - lo > MAX_SPAN || hi - lo < 0) {
            PyBuffer_Release(&buf);
            PyErr_SetString(PyExc_ValueError, "lattice coordinates span more than 2^20");
            return NULL;
        }
    }
    int status = 0;
    int64_t m = 0;
    int64_t *tri = NULL, *nor = NULL, *state = NULL;
    unsigned char *ext = NULL;
    Py_BEGIN_ALLOW_THREADS
    size_t sz = (size_t)(h.n > 0 ? h.n : 1) * sizeof(int64_t);
    h.next = (int64_t *)malloc(sz);
    h.start_of = (int64_t *)malloc(sz);
    h.end_of = (int64_t *)malloc(sz);
    h.mark_of = (int64_t *)calloc((size_t)(h.n > 0 ? h.n : 1), sizeof(int64_t));
    if (!h.next || !h.start_of || !h.end_of || !h.mark_of) status = -1;
    if (status == 0) status = build(&h);
    if (status == 0) {
        for (int64_t i = 0; i < h.nf; i++) m += h.f[i].alive;
        tri = (int64_t *)malloc((size_t)m * 3 * sizeof(int64_t));
        nor = (int64_t *)malloc((size_t)m * 3 * sizeof(int64_t));
        /* per point: facet of its first plane, of its second plane, and the count (<= 3) */
        state = (int64_t *)malloc((size_t)h.n * 3 * sizeof(int64_t));
        ext = (unsigned char *)calloc((size_t)h.n, 1);
        if (!tri || !nor || !state || !ext) status = -1;
    }
    if (status == 0) {
        int64_t j = 0;
        for (int64_t i = 0; i < h.n; i++) state[3 * i + 2] = 0;
        for (int64_t i = 0; i < h.nf; i++) {
            const Facet *f = h.f + i;
            if (!f->alive) continue;
            int64_t g = gcd64(gcd64(f->n[0], f->n[1]), f->n[2]);
            for (int c = 0; c < 3; c++) {
                tri[3 * j + c] = f->v[c];
                nor[3 * j + c] = f->n[c] / g;
            }
            for (int c = 0; c < 3; c++) {
                int64_t *s = state + 3 * f->v[c];
                const int64_t *nj = nor + 3 * j;
                int same = 0;
                for (int64_t t = 0; t < s[2] && t < 2; t++) {
                    const int64_t *ns = nor + 3 * s[t];
                    if (ns[0] == nj[0] && ns[1] == nj[1] && ns[2] == nj[2]) same = 1;
                }
                if (same || s[2] >= 3) continue;
                if (s[2] < 2) s[s[2]] = j;
                s[2]++;
            }
            j++;
        }
        for (int64_t i = 0; i < h.n; i++) ext[i] = state[3 * i + 2] >= 3;
    }
    free_hull(&h);
    free(state);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyObject *ret = NULL;
    if (status == 1) {
        ret = Py_None;
        Py_INCREF(ret);
    } else if (status == -1) {
        PyErr_NoMemory();
    } else if (status == -2) {
        PyErr_SetString(PyExc_RuntimeError, "convex hull: inconsistent facet links");
    } else {
        ret = Py_BuildValue("(y#y#y#)", (const char *)tri, (Py_ssize_t)(m * 3 * 8),
                            (const char *)nor, (Py_ssize_t)(m * 3 * 8), (const char *)ext,
                            (Py_ssize_t)h.n);
    }
    free(tri);
    free(nor);
    free(ext);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * Bounding volumes of morphology: Khachiyan's minimum-volume enclosing ellipsoid, the face-flush
 * rectangles and the pattern search of the oriented minimum bounding box.
 *
 * Why by hand: these are the loops of radsig.features._mesh (mvee_semi_axes, _face_flush_frames,
 * _refine) moved to C unchanged: the same iterations, stopping rules and tolerances, so that the
 * NumPy code stays their reference and fallback. In NumPy each iteration is a handful of small
 * array calls (a few hundred points), so the interpreter's overhead dominates; no library offers
 * a compiled MVEE or this box search (SciPy has neither, and importing scipy.optimize alone costs
 * about 0.1 s of a radsig process). The loops run without the GIL.
 * ------------------------------------------------------------------------------------------- */

/* LU factorisation with partial pivoting of a 4 x 4 row-major matrix, in place, in LAPACK's
 * dgetf2 order (the pivot is the first largest |a| of the column). -1 when a pivot is exactly
 * zero: LAPACK's INFO > 0, which numpy.linalg reports as "Singular matrix". */
static int lu4(double a[16], int piv[4]) {
    for (int k = 0; k < 4; k++) {
        int p = k;
        double big = fabs(a[4 * k + k]);
        for (int i = k + 1; i < 4; i++)
            if (fabs(a[4 * i + k]) > big) { big = fabs(a[4 * i + k]); p = i; }
        piv[k] = p;
        if (a[4 * p + k] == 0.0) return -1;
        if (p != k)
            for (int j = 0; j < 4; j++) {
                double t = a[4 * k + j];
                a[4 * k + j] = a[4 * p + j];
                a[4 * p + j] = t;
            }
        for (int i = k + 1; i < 4; i++) {
            double l = a[4 * i + k] / a[4 * k + k];
            a[4 * i + k] = l;
            for (int j = k + 1; j < 4; j++) a[4 * i + j] -= l * a[4 * k + j];
        }
    }
    return 0;
}

/* Cholesky factor L (lower, row-major) of a symmetric 4 x 4 matrix and its inverse Li = L^-1;
 * -1 when the matrix is not numerically positive definite. */
static int chol4_inverse(const double a[16], double li[16]) {
    double l[16] = {0.0};
    for (int j = 0; j < 4; j++) {
        double s = a[4 * j + j];
        for (int k = 0; k < j; k++) s -= l[4 * j + k] * l[4 * j + k];
        if (!(s > 0.0)) return -1;
        l[4 * j + j] = sqrt(s);
        for (int i = j + 1; i < 4; i++) {
            double t = a[4 * i + j];
            for (int k = 0; k < j; k++) t -= l[4 * i + k] * l[4 * j + k];
            l[4 * i + j] = t / l[4 * j + j];
        }
    }
    memset(li, 0, 16 * sizeof(double));
    for (int j = 0; j < 4; j++) {
        li[4 * j + j] = 1.0 / l[4 * j + j];
        for (int i = j + 1; i < 4; i++) {
            double t = 0.0;
            for (int k = j; k < i; k++) t += l[4 * i + k] * li[4 * k + j];
            li[4 * i + j] = -t / l[4 * i + i];
        }
    }
    return 0;
}

/* One pass over the points: the new weights w_i = (1 - step) u_i (+ step for i = j), the
 * squared norm of their change (returned), and the sums of X = sum w_i q_i q_i^T (upper
 * triangle: xx, xy, xz, x, yy, yz, y, zz, z, 1). With step = 0 and j = -1 it only sums.
 * Even and odd points go to two partial sums, added at the end: written with GCC / Clang vector
 * types where available (both lanes in one instruction), else as scalars in the same order, so
 * both builds give the same bits. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(RADSIG_NO_VECTOR)
typedef double v2d __attribute__((vector_size(16)));
#define RADSIG_V2D 1
#endif

static double update_moments(double *u, const double *px, const double *py, const double *pz,
                             int64_t n, double step, int64_t j, double s[10]) {
    const double keep = 1.0 - step;
    double lane[2][10], change[2] = {0.0, 0.0};
    memset(lane, 0, sizeof lane);
    int64_t i = 0;
#ifdef RADSIG_V2D
    v2d t[10], ch = {0.0, 0.0};
    const v2d k2 = {keep, keep};
    for (int k = 0; k < 10; k++) t[k] = (v2d){0.0, 0.0};
    for (; i + 1 < n; i += 2) {
        v2d uo, x, y, z;
        memcpy(&uo, u + i, sizeof uo);
        memcpy(&x, px + i, sizeof x);
        memcpy(&y, py + i, sizeof y);
        memcpy(&z, pz + i, sizeof z);
        v2d w = k2 * uo;
        if ((j & ~(int64_t)1) == i) w[j - i] += step;
        const v2d diff = w - uo;
        ch += diff * diff;
        memcpy(u + i, &w, sizeof w);
        const v2d wx = w * x, wy = w * y, wz = w * z;
        t[0] += wx * x; t[1] += wx * y; t[2] += wx * z; t[3] += wx;
        t[4] += wy * y; t[5] += wy * z; t[6] += wy;
        t[7] += wz * z; t[8] += wz;
        t[9] += w;
    }
    for (int k = 0; k < 10; k++) { lane[0][k] = t[k][0]; lane[1][k] = t[k][1]; }
    change[0] = ch[0];
    change[1] = ch[1];
#endif
    for (; i < n; i++) {
        double *t1 = lane[i & 1];
        const double uo = u[i];
        double w = keep * uo;
        if (i == j) w += step;
        const double diff = w - uo;
        change[i & 1] += diff * diff;
        u[i] = w;
        const double x = px[i], y = py[i], z = pz[i];
        const double wx = w * x, wy = w * y, wz = w * z;
        t1[0] += wx * x; t1[1] += wx * y; t1[2] += wx * z; t1[3] += wx;
        t1[4] += wy * y; t1[5] += wy * z; t1[6] += wy;
        t1[7] += wz * z; t1[8] += wz;
        t1[9] += w;
    }
    for (int k = 0; k < 10; k++) s[k] = lane[0][k] + lane[1][k];
    return change[0] + change[1];
}

/* Khachiyan's iterations on the lifted points q_i = (x_i, y_i, z_i, 1) from uniform weights:
 * X = sum u_i q_i q_i^T, m_i = q_i^T X^-1 q_i, the weight moves toward the first largest m_j
 * by (m_j - d - 1) / ((d + 1)(m_j - 1)), until the weights change by less than tol (Euclidean
 * norm) or after max_iter iterations, as mvee_semi_axes in NumPy. X is symmetric positive
 * definite whenever the points span 3D (every weight stays positive): m_i = |L^-1 q_i|^2 with
 * its Cholesky factor L. Returns the number of iterations, or -1 when X is exactly singular
 * (LU with partial pivoting meets a zero pivot, as in NumPy's solve). */
static int64_t mvee_loop(const double *p, int64_t n, double tol, int64_t max_iter, double *u,
                         double *m, double *xyz) {
    const double d = 3.0;
    double *px = xyz, *py = xyz + n, *pz = xyz + 2 * n;  /* columns: vectorisable loops */
    for (int64_t i = 0; i < n; i++) {
        px[i] = p[3 * i];
        py[i] = p[3 * i + 1];
        pz[i] = p[3 * i + 2];
        u[i] = 1.0 / (double)n;
    }
    double s[10];
    update_moments(u, px, py, pz, n, 0.0, -1, s);
    int64_t it = 0;
    while (it < max_iter) {
        it++;
        double a[16] = {s[0], s[1], s[2], s[3], s[1], s[4], s[5], s[6],
                        s[2], s[5], s[7], s[8], s[3], s[6], s[8], s[9]};
        double x4full[16], li[16];
        int piv[4];
        memcpy(x4full, a, sizeof x4full);
        if (lu4(a, piv) < 0) return -1;  /* exactly singular: numpy's LinAlgError */
        if (chol4_inverse(x4full, li) == 0) {
            /* m_i = |L^-1 q_i|^2 with X = L L^T: a sum of squares (no cancellation at the end) */
            const double l00 = li[0], l10 = li[4], l11 = li[5], l20 = li[8], l21 = li[9];
            const double l22 = li[10], l30 = li[12], l31 = li[13], l32 = li[14], l33 = li[15];
            for (int64_t i = 0; i < n; i++) {
                const double x = px[i], y = py[i], z = pz[i];
                const double y0 = l00 * x, y1 = l10 * x + l11 * y;
                const double y2 = l20 * x + l21 * y + l22 * z;
                const double y3 = l30 * x + l31 * y + l32 * z + l33;
                m[i] = y0 * y0 + y1 * y1 + y2 * y2 + y3 * y3;
            }
        } else {
            /* not numerically positive definite (points nearly in a plane): solve with the LU
             * factors point by point, as numpy.linalg.solve does */
            for (int64_t i = 0; i < n; i++) {
                const double q[4] = {px[i], py[i], pz[i], 1.0};
                double b[4] = {q[0], q[1], q[2], q[3]};
                for (int k = 0; k < 4; k++)
                    if (piv[k] != k) { double t = b[k]; b[k] = b[piv[k]]; b[piv[k]] = t; }
                for (int r = 1; r < 4; r++)
                    for (int k = 0; k < r; k++) b[r] -= a[4 * r + k] * b[k];
                for (int r = 3; r >= 0; r--) {
                    for (int k = r + 1; k < 4; k++) b[r] -= a[4 * r + k] * b[k];
                    b[r] /= a[4 * r + r];
                }
                m[i] = q[0] * b[0] + q[1] * b[1] + q[2] * b[2] + q[3] * b[3];
            }
        }
        int64_t j = 0;  /* numpy.argmax: the first largest, or the first NaN */
        for (int64_t i = 1; i < n && m[j] == m[j]; i++)
            if (m[i] > m[j] || m[i] != m[i]) j = i;
        const double step = (m[j] - d - 1.0) / ((d + 1.0) * (m[j] - 1.0));
        /* new weights, their change, and the sums of the next X in one pass */
        const double change = update_moments(u, px, py, pz, n, step, j, s);
        if (sqrt(change) < tol) break;
    }
    return it;
}

/* mvee_weights(points, tol, max_iter) -> None | (weights, iterations): points a C-contiguous
 * float64 buffer (n, 3), n >= 1; weights the bytes of n float64. None when the lifted moment
 * matrix is singular (the caller raises numpy.linalg.LinAlgError, as NumPy's solve does). */
static PyObject *k_mvee_weights(PyObject *self, PyObject *args) {
    Py_buffer buf = {0};
    double tol;
    long long max_iter;
    if (!PyArg_ParseTuple(args, "y*dL", &buf, &tol, &max_iter)) return NULL;
    int64_t n = buf.len / (3 * (Py_ssize_t)sizeof(double));
    if (buf.len % (3 * sizeof(double)) || n < 1) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "points must be float64 (n, 3), n >= 1");
        return NULL;
    }
    double *u = (double *)malloc((size_t)n * sizeof(double));
    double *m = (double *)malloc((size_t)n * sizeof(double));
    double *xyz = (double *)malloc((size_t)n * 3 * sizeof(double));
    int64_t it = 0;
    if (u && m && xyz) {
        Py_BEGIN_ALLOW_THREADS
        it = mvee_loop((const double *)buf.buf, n, tol, (int64_t)max_iter, u, m, xyz);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&buf);
    free(xyz);
    PyObject *ret = NULL;
    if (!u || !m || !xyz) PyErr_NoMemory();
    else if (it < 0) { ret = Py_None; Py_INCREF(ret); }
    else ret = Py_BuildValue("(y#L)", (const char *)u, (Py_ssize_t)(n * 8), (long long)it);
    free(u);
    free(m);
    return ret;
}

/* ---- oriented minimum bounding box --------------------------------------------------------- */

/* The 26 rotations of the pattern search by `step` radians about the unit axes (a, b, c) / |.|,
 * (a, b, c) in {-1, 0, 1}^3 \ {0} in lexicographic order, by Rodrigues' formula, as _TRIALS and
 * _rotations in NumPy. */
static void trial_rotations(double step, double rot[26][9]) {
    int t = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) {
                if (i == 1 && j == 1 && k == 1) continue;
                double v[3] = {i - 1.0, j - 1.0, k - 1.0};
                const double norm = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
                for (int c = 0; c < 3; c++) v[c] = step * (v[c] / norm);
                const double theta = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
                const double x = v[0] / theta, y = v[1] / theta, z = v[2] / theta;
                const double kk[9] = {0.0, -z, y, z, 0.0, -x, -y, x, 0.0};
                const double s = sin(theta), c1 = 1.0 - cos(theta);
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) {
                        const double k2 = kk[3 * a] * kk[b] + kk[3 * a + 1] * kk[3 + b]
                                          + kk[3 * a + 2] * kk[6 + b];
                        rot[t][3 * a + b] = ((a == b ? 1.0 : 0.0) + s * kk[3 * a + b]) + c1 * k2;
                    }
                t++;
            }
}

static inline double dot3(const double *f, const double *p) {
    return f[0] * p[0] + f[1] * p[1] + f[2] * p[2];
}

/* Product of the extents of the points along the rows of frame: maxima over the index lists
 * hi[a] and minima over lo[a] (all points, or the only ones that can be extreme). */
static double box_volume(const double *p, const double f[9], int64_t *const hi[3],
                         const int64_t nhi[3], int64_t *const lo[3], const int64_t nlo[3]) {
    double vol = 1.0;
    for (int a = 0; a < 3; a++) {
        const double *row = f + 3 * a;
        double mx = dot3(row, p + 3 * hi[a][0]), mn = dot3(row, p + 3 * lo[a][0]);
        for (int64_t k = 1; k < nhi[a]; k++) {
            const double v = dot3(row, p + 3 * hi[a][k]);
            if (v > mx) mx = v;
        }
        for (int64_t k = 1; k < nlo[a]; k++) {
            const double v = dot3(row, p + 3 * lo[a][k]);
            if (v < mn) mn = v;
        }
        vol = a ? vol * (mx - mn) : mx - mn;
    }
    return vol;
}

/* The pattern search of _refine: each round tries the 26 rotations of the frame by `step` and
 * moves to the first smallest box when it is smaller than the current one, else halves `step`;
 * stops when step < min_step or after max_evals rounds. Returns the rounds made.
 *
 * Each round evaluates 26 boxes, but a trial rotated by theta moves every projection by at most
 * theta |p|, so only the points within 2 theta max|p| (plus a rounding allowance) of the current
 * frame's extremes can be extreme for a trial: the extents are maxima and minima over those
 * points alone, bit for bit the values over all points. */
static int64_t refine_loop(const double *p, int64_t n, double f[9], double *best, double step,
                           double min_step, int64_t max_evals, double *proj, int64_t *idx) {
    double radius = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double r = sqrt(dot3(p + 3 * i, p + 3 * i));
        if (r > radius) radius = r;
    }
    int64_t *all[3] = {idx, idx, idx}, nall[3] = {n, n, n};
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    *best = box_volume(p, f, all, nall, all, nall);
    int64_t *hi[3], *lo[3], nhi[3], nlo[3];
    for (int a = 0; a < 3; a++) {
        hi[a] = idx + n * (1 + 2 * a);
        lo[a] = idx + n * (2 + 2 * a);
    }
    double rot[26][9], rot_step = -1.0, trial[26][9], vol[26];
    int64_t round = 0;
    for (; round < max_evals; round++) {
        if (step < min_step) break;
        if (step != rot_step) {
            trial_rotations(step, rot);
            rot_step = step;
        }
        for (int a = 0; a < 3; a++) {
            const double *row = f + 3 * a;
            const double fn = sqrt(dot3(row, row));
            const double margin = 2.0 * step * fn * radius * (1.0 + 1e-6) + 1e-9 * fn * radius;
            double mx = -HUGE_VAL, mn = HUGE_VAL;
            for (int64_t i = 0; i < n; i++) {
                const double v = dot3(row, p + 3 * i);
                proj[i] = v;
                if (v > mx) mx = v;
                if (v < mn) mn = v;
            }
            nhi[a] = nlo[a] = 0;
            for (int64_t i = 0; i < n; i++) {
                if (proj[i] >= mx - margin) hi[a][nhi[a]++] = i;
                if (proj[i] <= mn + margin) lo[a][nlo[a]++] = i;
            }
        }
        int k = 0;
        for (int t = 0; t < 26; t++) {
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    trial[t][3 * a + b] = f[3 * a] * rot[t][b] + f[3 * a + 1] * rot[t][3 + b]
                                          + f[3 * a + 2] * rot[t][6 + b];
            vol[t] = box_volume(p, trial[t], hi, nhi, lo, nlo);
            /* numpy.argmin: the first smallest, or the first NaN */
            if (vol[k] == vol[k] && (vol[t] < vol[k] || vol[t] != vol[t])) k = t;
        }
        if (vol[k] < *best) {
            memcpy(f, trial[k], sizeof trial[k]);
            *best = vol[k];
        } else {
            step *= 0.5;
        }
    }
    return round;
}

/* refine(points, frame, step, min_step, max_evals) -> (frame, volume, rounds): points a finite
 * C-contiguous float64 buffer (n, 3), n >= 1; frame 9 float64 (rows = box axes), returned as
 * bytes. */
static PyObject *k_refine(PyObject *self, PyObject *args) {
    Py_buffer pb = {0}, fb = {0};
    double step, min_step;
    long long max_evals;
    if (!PyArg_ParseTuple(args, "y*y*ddL", &pb, &fb, &step, &min_step, &max_evals)) return NULL;
    int64_t n = pb.len / (3 * (Py_ssize_t)sizeof(double));
    if (pb.len % (3 * sizeof(double)) || n < 1 || fb.len != 9 * sizeof(double)) {
        PyBuffer_Release(&pb);
        PyBuffer_Release(&fb);
        PyErr_SetString(PyExc_ValueError, "points must be float64 (n, 3), n >= 1; frame (3, 3)");
        return NULL;
    }
    double f[9], best = 0.0;
    memcpy(f, fb.buf, sizeof f);
    PyBuffer_Release(&fb);
    double *proj = (double *)malloc((size_t)n * sizeof(double));
    int64_t *idx = (int64_t *)malloc((size_t)n * 7 * sizeof(int64_t));
    int64_t rounds = 0;
    if (proj && idx) {
        Py_BEGIN_ALLOW_THREADS
        rounds = refine_loop((const double *)pb.buf, n, f, &best, step, min_step,
                             (int64_t)max_evals, proj, idx);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&pb);
    free(proj);
    free(idx);
    if (!proj || !idx) return PyErr_NoMemory();
    return Py_BuildValue("(y#dL)", (const char *)f, (Py_ssize_t)sizeof f, best,
                         (long long)rounds);
}

/* flush_sides(points, ends, g1, g2, normals, chosen, e1, e2) -> None | sides: the callipers of
 * _face_flush_frames. For each chosen face normal c, the silhouette edges are the polytope edges
 * (end points ends[e], between the faces of planes g1[e] and g2[e]) whose two faces do not both
 * face the same way along c (or one is parallel to it: |c . normal| <= 1e-9); their end points
 * and directions, projected on the plane (e1[c], e2[c]), give the minimum-area rectangle over the
 * projected edge directions (_min_rectangle with `directions`): sides holds the bytes of
 * (chosen, 2) float64, the unit direction of one rectangle side in that plane. points float64
 * (N, 3); ends int64 (E, 2); g1, g2 int64 (E,); normals float64 (G, 3) unit plane normals;
 * chosen, e1, e2 float64 (C, 3). None when some normal has no edge of non-zero projected length
 * (degenerate: the caller uses NumPy).
 *
 * A direction equal to an earlier one, or to its opposite, gives bit for bit the same rectangle
 * area (negation is exact), so it is skipped: the first smallest is the same. */
typedef struct {
    const double *pts, *normals, *chosen, *e1, *e2;
    const int64_t *ends, *g1, *g2;
    int64_t npts, ne, ng, nc;
} FlushIn;

static inline uint64_t bits_of(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* Largest and smallest of along_i = ex px_i + ey py_i and across_i = -ey px_i + ex py_i:
 * ext = {max along, min along, max across, min across}. With SSE2 two points at a time (the
 * same products and sums per point; maxima and minima do not depend on the order). */
#if defined(__SSE2__) && !defined(RADSIG_NO_VECTOR)
#include <emmintrin.h>
#endif

static void extents2d(const double *px, const double *py, int64_t n, double ex, double ey,
                      double ext[4]) {
    double amax = -HUGE_VAL, amin = HUGE_VAL, cmax = -HUGE_VAL, cmin = HUGE_VAL;
    int64_t i = 0;
#if defined(__SSE2__) && !defined(RADSIG_NO_VECTOR)
    const __m128d vx = _mm_set1_pd(ex), vy = _mm_set1_pd(ey), vny = _mm_set1_pd(-ey);
    __m128d vamax = _mm_set1_pd(-HUGE_VAL), vamin = _mm_set1_pd(HUGE_VAL);
    __m128d vcmax = vamax, vcmin = vamin;
    for (; i + 1 < n; i += 2) {
        const __m128d x = _mm_loadu_pd(px + i), y = _mm_loadu_pd(py + i);
        const __m128d along = _mm_add_pd(_mm_mul_pd(vx, x), _mm_mul_pd(vy, y));
        const __m128d across = _mm_add_pd(_mm_mul_pd(vny, x), _mm_mul_pd(vx, y));
        vamax = _mm_max_pd(along, vamax);   /* along > max ? along : max, per lane */
        vamin = _mm_min_pd(along, vamin);
        vcmax = _mm_max_pd(across, vcmax);
        vcmin = _mm_min_pd(across, vcmin);
    }
    double lanes[2];
    _mm_storeu_pd(lanes, vamax);
    amax = lanes[0] > lanes[1] ? lanes[0] : lanes[1];
    _mm_storeu_pd(lanes, vamin);
    amin = lanes[0] < lanes[1] ? lanes[0] : lanes[1];
    _mm_storeu_pd(lanes, vcmax);
    cmax = lanes[0] > lanes[1] ? lanes[0] : lanes[1];
    _mm_storeu_pd(lanes, vcmin);
    cmin = lanes[0] < lanes[1] ? lanes[0] : lanes[1];
#endif
    for (; i < n; i++) {
        const double along = ex * px[i] + ey * py[i];
        const double across = -ey * px[i] + ex * py[i];
        if (along > amax) amax = along;
        if (along < amin) amin = along;
        if (across > cmax) cmax = across;
        if (across < cmin) cmin = across;
    }
    ext[0] = amax;
    ext[1] = amin;
    ext[2] = cmax;
    ext[3] = cmin;
}

static int flush_loop(const FlushIn *in, double *sides, int64_t *mark, double *facing,
                      double *px, double *py, double *dx, double *dy, int64_t *table,
                      int64_t tsize) {
    for (int64_t i = 0; i < in->npts; i++) mark[i] = -1;
    for (int64_t e = 0; e < in->ne; e++) {
        const int64_t a = in->ends[2 * e], b = in->ends[2 * e + 1];
        if (a < 0 || a >= in->npts || b < 0 || b >= in->npts || in->g1[e] < 0 ||
            in->g1[e] >= in->ng || in->g2[e] < 0 || in->g2[e] >= in->ng)
            return -2;
    }
    for (int64_t c = 0; c < in->nc; c++) {
        const double *n = in->chosen + 3 * c, *u = in->e1 + 3 * c, *v = in->e2 + 3 * c;
        for (int64_t g = 0; g < in->ng; g++) facing[g] = dot3(n, in->normals + 3 * g);
        int64_t np_ = 0, nd = 0;
        double scale = 1.0;
        for (int64_t e = 0; e < in->ne; e++) {
            const double s1 = facing[in->g1[e]], s2 = facing[in->g2[e]];
            if (!(s1 * s2 <= 0.0 || fmin(fabs(s1), fabs(s2)) <= 1e-9)) continue;
            for (int t = 0; t < 2; t++) {
                const int64_t q = in->ends[2 * e + t];
                if (mark[q] == c) continue;
                mark[q] = c;
                px[np_] = dot3(in->pts + 3 * q, u);
                py[np_] = dot3(in->pts + 3 * q, v);
                if (fabs(px[np_]) > scale) scale = fabs(px[np_]);
                if (fabs(py[np_]) > scale) scale = fabs(py[np_]);
                np_++;
            }
            const double *pa = in->pts + 3 * in->ends[2 * e], *pb = in->pts + 3 * in->ends[2 * e + 1];
            const double d[3] = {pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]};
            dx[nd] = dot3(d, u);
            dy[nd] = dot3(d, v);
            nd++;
        }
        for (int64_t k = 0; k < tsize; k++) table[k] = -1;
        double best = HUGE_VAL, sx = 0.0, sy = 0.0;
        int found = 0;
        for (int64_t k = 0; k < nd; k++) {
            const double len = hypot(dx[k], dy[k]);
            if (!(len > 1e-12 * scale)) continue;
            const double ex = dx[k] / len, ey = dy[k] / len;
            /* skip a repeated direction (up to sign): open addressing on its canonical bits */
            const int flip = ex < 0.0 || (ex == 0.0 && ey < 0.0);
            const double cx = flip ? -ex : ex, cy = flip ? -ey : ey;
            const uint64_t kx = bits_of(cx + 0.0), ky = bits_of(cy + 0.0);
            uint64_t h = (kx * 0x9E3779B97F4A7C15ULL) ^ (ky + 0x632BE59BD9B4E019ULL + (kx << 6));
            h ^= h >> 29;
            int64_t slot = (int64_t)(h & (uint64_t)(tsize - 1));
            int seen = 0;
            while (table[slot] >= 0) {
                const int64_t o = table[slot];
                if (bits_of(dx[o] + 0.0) == kx && bits_of(dy[o] + 0.0) == ky) { seen = 1; break; }
                slot = (slot + 1) & (tsize - 1);
            }
            if (seen) continue;
            table[slot] = k;
            dx[k] = cx;  /* the canonical direction, for later comparisons */
            dy[k] = cy;
            double ext[4];
            extents2d(px, py, np_, ex, ey, ext);
            const double area = (ext[0] - ext[1]) * (ext[2] - ext[3]);
            if (!found || area < best) { best = area; sx = ex; sy = ey; found = 1; }
        }
        if (!found) return -1;
        sides[2 * c] = sx;
        sides[2 * c + 1] = sy;
    }
    return 0;
}

static PyObject *k_flush_sides(PyObject *self, PyObject *args) {
    Py_buffer b[8];
    memset(b, 0, sizeof b);
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*", b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6,
                          b + 7))
        return NULL;
    FlushIn in;
    in.pts = (const double *)b[0].buf;
    in.ends = (const int64_t *)b[1].buf;
    in.g1 = (const int64_t *)b[2].buf;
    in.g2 = (const int64_t *)b[3].buf;
    in.normals = (const double *)b[4].buf;
    in.chosen = (const double *)b[5].buf;
    in.e1 = (const double *)b[6].buf;
    in.e2 = (const double *)b[7].buf;
    in.npts = b[0].len / 24;
    in.ne = b[1].len / 16;
    in.ng = b[4].len / 24;
    in.nc = b[5].len / 24;
    PyObject *ret = NULL;
    double *sides = NULL, *facing = NULL, *px = NULL, *py = NULL, *dx = NULL, *dy = NULL;
    int64_t *mark = NULL, *table = NULL, tsize = 16;
    int status = -3;
    size_t big = 0;
    if (b[0].len % 24 || b[1].len % 16 || b[2].len != 8 * in.ne || b[3].len != 8 * in.ne ||
        b[4].len % 24 || b[5].len % 24 || b[6].len != b[5].len || b[7].len != b[5].len) {
        PyErr_SetString(PyExc_ValueError, "flush_sides: inconsistent buffer sizes");
        goto done;
    }
    while (tsize < 2 * in.ne) tsize *= 2;
    big = (size_t)(2 * in.ne + 1) * sizeof(double);
    sides = (double *)malloc((size_t)(2 * in.nc + 1) * sizeof(double));
    facing = (double *)malloc((size_t)(in.ng + 1) * sizeof(double));
    mark = (int64_t *)malloc((size_t)(in.npts + 1) * sizeof(int64_t));
    table = (int64_t *)malloc((size_t)tsize * sizeof(int64_t));
    px = (double *)malloc(big);
    py = (double *)malloc(big);
    dx = (double *)malloc(big);
    dy = (double *)malloc(big);
    if (sides && facing && mark && table && px && py && dx && dy) {
        Py_BEGIN_ALLOW_THREADS
        status = flush_loop(&in, sides, mark, facing, px, py, dx, dy, table, tsize);
        Py_END_ALLOW_THREADS
    }
    if (status == -3) PyErr_NoMemory();
    else if (status == -2) PyErr_SetString(PyExc_ValueError, "flush_sides: index out of range");
    else if (status == -1) { ret = Py_None; Py_INCREF(ret); }
    else ret = PyBytes_FromStringAndSize((const char *)sides, (Py_ssize_t)(in.nc * 2 * 8));
done:
    free(sides); free(facing); free(mark); free(table);
    free(px); free(py); free(dx); free(dy);
    for (int i = 0; i < 8; i++) PyBuffer_Release(b + i);
    return ret;
}

static PyMethodDef methods[] = {
    {"hull3d", k_hull3d, METH_VARARGS,
     "hull3d(points) -> None | (triangles, normals, extreme): exact convex hull of int64 (n, 3) "
     "lattice points."},
    {"mvee_weights", k_mvee_weights, METH_VARARGS,
     "mvee_weights(points, tol, max_iter) -> None | (weights, iterations): Khachiyan's weights "
     "of float64 (n, 3) points; None when singular."},
    {"refine", k_refine, METH_VARARGS,
     "refine(points, frame, step, min_step, max_evals) -> (frame, volume, rounds): the box "
     "pattern search of radsig.features._mesh._refine."},
    {"flush_sides", k_flush_sides, METH_VARARGS,
     "flush_sides(points, ends, g1, g2, normals, chosen, e1, e2) -> None | sides: minimum-area "
     "rectangles of the projected silhouettes (radsig.features._mesh._face_flush_frames)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chull",
    "Optional C kernels of radsig.features._mesh: exact 3D convex hull of lattice points, "
    "Khachiyan's MVEE and the oriented minimum bounding box search.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__chull(void) { return PyModule_Create(&module); }
