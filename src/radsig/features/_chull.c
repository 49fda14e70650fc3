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

static PyMethodDef methods[] = {
    {"hull3d", k_hull3d, METH_VARARGS,
     "hull3d(points) -> None | (triangles, normals, extreme): exact convex hull of int64 (n, 3) "
     "lattice points."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chull",
    "Optional C kernel of radsig.features._mesh: exact 3D convex hull of lattice points.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__chull(void) { return PyModule_Create(&module); }
