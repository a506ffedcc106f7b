/* The fast detector's particle-level chain (darkscan/gen/detector.py) in one compiled pass per batch.

   detector.py's numpy code is the definition; this file computes the same thing in the same order, so
   that with the same seed it gives the same objects: every random number comes from the caller's numpy
   Generator (its BitGenerator, and numpy's own standard-normal ziggurat from libnpyrandom), drawn in
   the numpy code's order and number, stage after stage over the whole batch. Only the last bits of
   transcendental functions may differ (glibc here, numpy's SIMD routines there);
   tests/test_detector_identity.py compares the two paths.

   What the numpy code spends most of its time on — many passes over ~170 particles per event, gathers,
   np.unique of the tower keys, the candidate × reference pairs of the isolation — is here one loop per
   stage, towers found through a per-event map of the layer's cells. Jets are clustered afterwards
   (_antikt.c), from the inputs this returns.

   simulate(bitgen_capsule, params, inputs, outputs) -> (n_photons, n_electrons, n_muons, n_inputs, n_shared)
     params : float64, the flat parameter vector FastDetector._packed_params builds (layout there)
     inputs : (event int64 sorted, pid int64, px, py, pz, e, production_rho_mm, production_z_mm, pt, eta,
              phi); the vertex arrays empty when every particle comes from the interaction point
     outputs: preallocated by the caller, see detector.py's _simulate_compiled for their sizes. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numpy/random/bitgen.h"

#include "_buffers.h"

double random_standard_normal(bitgen_t *bitgen_state); /* libnpyrandom: what Generator.standard_normal uses */

#define PI 3.141592653589793
#define TWO_PI (2.0 * PI)
#define MAX_SEGMENTS 16
#define MAX_REGIONS 16
#define SMALL_ID 4096

/* ---------------------------------------------------------------------------------------------- */
/* parameters                                                                                     */

typedef struct {
    int64_t n_eta_edges, n_pt_edges;
    const double *eta_edges, *pt_edges, *values;
} Table;

typedef struct {
    int64_t n, width;
    const double *rows; /* rows[i * width]: the region's upper |eta| edge, then its values */
} Regions;

typedef struct {
    double lo, hi;
    int64_t n_eta, n_phi, offset;
} Segment;

typedef struct {
    int64_t n_segments, n_towers;
    Segment segments[MAX_SEGMENTS];
    Regions resolution; /* eta_max, c, s, n */
    double energy_min, significance_min;
} Layer;

typedef struct {
    double delta_r, pt_min, pt_ratio_max;
} Isolation;

typedef struct {
    double radius, half_length, bz, calo_eta_max;
    int include_muons;
    int64_t n_invisible, n_charge, n_ecal_fraction;
    const double *invisible, *charge_keys, *charge_values, *ecal_keys, *ecal_values;
    Layer layers[2];
    Table tracking[3];     /* electrons, muons, charged hadrons */
    Regions track_res[3];  /* eta_max, a, b */
    Table efficiency[3];   /* electrons, muons, photons */
    Isolation isolation[3];
    /* the charge and ECal fraction of the PDG ids |id| < SMALL_ID by direct lookup (the hadrons of a
       shower); the rest by search */
    signed char small_charge[2 * SMALL_ID];
    unsigned char small_invisible[SMALL_ID];
    double small_ecal[SMALL_ID];
} Params;

typedef struct {
    const double *at, *end;
    int ok;
} Cursor;

static double take(Cursor *c) {
    if (c->at >= c->end) {
        c->ok = 0;
        return 0.0;
    }
    return *c->at++;
}

static const double *take_n(Cursor *c, int64_t n) {
    if (n < 0 || c->end - c->at < n) {
        c->ok = 0;
        return c->at;
    }
    const double *start = c->at;
    c->at += n;
    return start;
}

static void take_table(Cursor *c, Table *t) {
    t->n_eta_edges = (int64_t)take(c);
    t->n_pt_edges = (int64_t)take(c);
    t->eta_edges = take_n(c, t->n_eta_edges);
    t->pt_edges = take_n(c, t->n_pt_edges);
    if (t->n_eta_edges < 1 || t->n_pt_edges < 1) c->ok = 0;
    t->values = take_n(c, c->ok ? (t->n_eta_edges - 1) * (t->n_pt_edges - 1) : 0);
}

static void take_regions(Cursor *c, Regions *r, int64_t width) {
    r->n = (int64_t)take(c);
    r->width = width;
    if (r->n < 0 || r->n > MAX_REGIONS) c->ok = 0;
    r->rows = take_n(c, c->ok ? r->n * width : 0);
}

static int parse_params(const double *data, Py_ssize_t n, Params *p) {
    Cursor c = {data, data + n, 1};
    p->radius = take(&c);
    p->half_length = take(&c);
    p->bz = take(&c);
    p->calo_eta_max = take(&c);
    p->include_muons = take(&c) != 0.0;
    p->n_invisible = (int64_t)take(&c);
    p->invisible = take_n(&c, p->n_invisible);
    p->n_charge = (int64_t)take(&c);
    p->charge_keys = take_n(&c, p->n_charge);
    p->charge_values = take_n(&c, p->n_charge);
    p->n_ecal_fraction = (int64_t)take(&c);
    p->ecal_keys = take_n(&c, p->n_ecal_fraction);
    p->ecal_values = take_n(&c, p->n_ecal_fraction);
    for (int l = 0; l < 2 && c.ok; l++) {
        Layer *layer = &p->layers[l];
        layer->n_segments = (int64_t)take(&c);
        if (layer->n_segments < 0 || layer->n_segments > MAX_SEGMENTS) return 0;
        for (int64_t s = 0; s < layer->n_segments; s++) {
            Segment *seg = &layer->segments[s];
            seg->lo = take(&c);
            seg->hi = take(&c);
            seg->n_eta = (int64_t)take(&c);
            seg->n_phi = (int64_t)take(&c);
            seg->offset = (int64_t)take(&c);
            if (seg->n_eta < 1 || seg->n_phi < 1) c.ok = 0;
        }
        layer->n_towers = (int64_t)take(&c);
        take_regions(&c, &layer->resolution, 4);
        layer->energy_min = take(&c);
        layer->significance_min = take(&c);
    }
    for (int k = 0; k < 3 && c.ok; k++) {
        take_table(&c, &p->tracking[k]);
        take_regions(&c, &p->track_res[k], 3);
    }
    for (int k = 0; k < 3 && c.ok; k++) {
        take_table(&c, &p->efficiency[k]);
        p->isolation[k].delta_r = take(&c);
        p->isolation[k].pt_min = take(&c);
        p->isolation[k].pt_ratio_max = take(&c);
    }
    if (!c.ok || c.at != c.end) return 0;
    memset(p->small_charge, 0, sizeof(p->small_charge));
    memset(p->small_ecal, 0, sizeof(p->small_ecal));
    memset(p->small_invisible, 0, sizeof(p->small_invisible));
    for (int64_t q = 0; q < p->n_invisible; q++)
        if (p->invisible[q] >= 0 && p->invisible[q] < SMALL_ID) p->small_invisible[(int64_t)p->invisible[q]] = 1;
    for (int64_t q = 0; q < p->n_charge; q++)
        if (fabs(p->charge_keys[q]) < SMALL_ID)
            p->small_charge[(int64_t)p->charge_keys[q] + SMALL_ID] = (signed char)p->charge_values[q];
    for (int64_t q = 0; q < p->n_ecal_fraction; q++)
        if (p->ecal_keys[q] >= 0 && p->ecal_keys[q] < SMALL_ID) p->small_ecal[(int64_t)p->ecal_keys[q]] = p->ecal_values[q];
    return 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* the numpy helpers of detector.py, element by element                                           */

/* numpy's float remainder (np.remainder / %): the sign of the divisor */
static inline double py_mod(double a, double b) {
    if (b > 0 && a > 0 && a < b) return a; /* what fmod gives there, exactly, without the call */
    double r = fmod(a, b);
    if (r != 0.0) {
        if ((b < 0) != (r < 0)) r += b;
    } else {
        r = copysign(0.0, b);
    }
    return r;
}

static inline double delta_phi(double a, double b) { return py_mod(a - b + PI, TWO_PI) - PI; }

static inline double wrap_phi(double phi) {
    double w = py_mod(phi + PI, TWO_PI) - PI;
    return w == -PI ? PI : w;
}

static inline double nan_to_num(double x) {
    if (isnan(x)) return 0.0;
    if (isinf(x)) return x > 0 ? DBL_MAX : -DBL_MAX;
    return x;
}

/* np.searchsorted(edges, x, side="right") - 1, then the table's value or 0 outside */
static double binned(const Table *t, double abs_eta, double pt) {
    int64_t ie = -1, ip = -1;
    if (isnan(abs_eta) || isnan(pt)) return 0.0; /* numpy sorts NaN past every edge: outside */
    for (int64_t k = 0; k < t->n_eta_edges && t->eta_edges[k] <= abs_eta; k++) ie = k;
    for (int64_t k = 0; k < t->n_pt_edges && t->pt_edges[k] <= pt; k++) ip = k;
    if (ie < 0 || ie >= t->n_eta_edges - 1 || ip < 0 || ip >= t->n_pt_edges - 1) return 0.0;
    return t->values[ie * (t->n_pt_edges - 1) + ip];
}

/* the row of the |eta| region (np.searchsorted(upper edges, x, side="left")); NULL outside */
static inline const double *region(const Regions *r, double abs_eta) {
    if (isnan(abs_eta)) return NULL;
    int64_t i = 0;
    while (i < r->n && r->rows[i * r->width] < abs_eta) i++;
    return i < r->n ? r->rows + i * r->width : NULL;
}

/* detector.py's _lognormal for one entry (the normal is drawn whatever the mean, as there) */
static inline double lognormal(bitgen_t *rng, double mean, double sigma) {
    sigma = nan_to_num(sigma);
    double ratio = mean > 0 ? sigma / mean : 0.0;
    double s2 = log1p(mean > 0 ? ratio * ratio : 0.0);
    double mu = log(mean > 0 ? mean : 1.0) - 0.5 * s2;
    double draw = exp(mu + sqrt(s2) * random_standard_normal(rng));
    return mean > 0 ? draw : 0.0;
}

static inline double uniform(bitgen_t *rng) { return rng->next_double(rng->state); }

static double charge_of(const Params *p, int64_t pid) {
    if (pid > -SMALL_ID && pid < SMALL_ID) return (double)p->small_charge[pid + SMALL_ID];
    int64_t lo = 0, hi = p->n_charge;
    double key = (double)pid;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (p->charge_keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < p->n_charge && p->charge_keys[lo] == key ? p->charge_values[lo] : 0.0;
}

/* ---------------------------------------------------------------------------------------------- */
/* the batch                                                                                      */

typedef struct {
    int64_t n_events, n;
    const int64_t *event, *pid;
    const double *px, *py, *pz, *e, *rho, *z; /* rho, z NULL: all from the interaction point */
    /* pT, eta and phi of every particle, from numpy: the numpy chain's bits, whatever numpy's
       functions are on this CPU (SIMD or the C library) */
    const double *pt, *eta, *phi;
} Input;

typedef struct {
    double *invisible_pt, *met_x, *met_y;               /* n_events */
    int64_t *ph_event; double *ph_pt, *ph_eta, *ph_phi; /* n */
    int64_t *el_event; double *el_pt, *el_eta, *el_phi; int64_t *el_charge;
    int64_t *mu_event; double *mu_pt, *mu_eta, *mu_phi; int64_t *mu_charge;
    double *in_px, *in_py, *in_pz, *in_e; int64_t *in_counts; /* 3 n; n_events */
    int64_t *shared;                                           /* 3 n */
    int64_t n_photons, n_electrons, n_muons, n_inputs, n_shared;
} Output;

typedef struct {
    int64_t n;
    int64_t *event, *cell;
    double *energy, *eta, *phi, *pt, *sigma, *measured, *cosh_eta;
    int64_t *first;     /* first[k]: the first tower of event k; first[n_events] = n */
    int64_t *of;        /* per particle: its tower, -1 without a deposit */
    unsigned char *neutral;
    double *neutral_pt;
    int64_t *input;     /* jet-input index of a kept tower, -1 */
} Towers;

typedef struct {
    int64_t n;
    int64_t *particle;
    double *pt, *res;
    int64_t start[4]; /* tracks of kind k: start[k] .. start[k + 1] */
} Tracks;

typedef struct {
    double *pt, *eta, *phi, *eta_calo, *phi_calo, *charge, *f_ecal;
    unsigned char *seen, *reaches, *calo;
} Kinematics;

/* uninitialised: every array is written before it is read (zeroing ~20 MB a batch showed in the profile) */
#define ALLOC(ptr, count) (ptr) = malloc((size_t)((count) > 0 ? (count) : 1) * sizeof(*(ptr)))

static int64_t *event_firsts(const int64_t *event, int64_t n, int64_t n_events) {
    int64_t *first;
    ALLOC(first, n_events + 1);
    if (!first) return NULL;
    int64_t i = 0;
    for (int64_t k = 0; k <= n_events; k++) {
        while (i < n && event[i] < k) i++;
        first[k] = i;
    }
    return first;
}

static void towers_free(Towers *t) {
    free(t->event), free(t->cell), free(t->energy), free(t->eta), free(t->phi), free(t->pt), free(t->sigma);
    free(t->measured), free(t->cosh_eta), free(t->first), free(t->of), free(t->neutral), free(t->neutral_pt), free(t->input);
}

/* detector.py's _layer_towers: the hit cells of one layer, event after event in cell order, their
   summed deposits, the smeared directions (segment after segment) and energies */
/* The cells an event hits, in ascending order without sorting: a bit per cell (l1) and a bit per word of
   those (l2); both come back cleared. */
typedef struct {
    uint64_t *l1, *l2;
    int64_t n_l2;
    int32_t *slot; /* a hit cell's rank in its event */
} CellSet;

static inline void cells_add(CellSet *c, int64_t cell) {
    c->l1[cell >> 6] |= (uint64_t)1 << (cell & 63);
    c->l2[cell >> 12] |= (uint64_t)1 << ((cell >> 6) & 63);
}

static int64_t cells_take(CellSet *c, int64_t *cells) {
    int64_t n = 0;
    for (int64_t w2 = 0; w2 < c->n_l2; w2++) {
        uint64_t words = c->l2[w2];
        if (!words) continue;
        c->l2[w2] = 0;
        while (words) {
            int64_t w1 = w2 * 64 + __builtin_ctzll(words);
            uint64_t bits = c->l1[w1];
            words &= words - 1;
            c->l1[w1] = 0;
            while (bits) {
                cells[n] = w1 * 64 + __builtin_ctzll(bits);
                c->slot[cells[n]] = (int32_t)n;
                n++;
                bits &= bits - 1;
            }
        }
    }
    return n;
}

static int build_towers(const Layer *layer, const Input *in, const Kinematics *k,
                        const int64_t *particle_first, int hcal, CellSet *cells, bitgen_t *rng, Towers *t) {
    int64_t n = in->n;
    memset(t, 0, sizeof(*t));
    ALLOC(t->of, n);
    ALLOC(t->event, n), ALLOC(t->cell, n), ALLOC(t->energy, n);
    ALLOC(t->first, in->n_events + 1);
    int64_t *cell_of, *touched;
    ALLOC(cell_of, n), ALLOC(touched, n);
    if (!t->of || !t->event || !t->cell || !t->energy || !t->first || !cell_of || !touched) {
        free(cell_of), free(touched);
        return 0;
    }
    int64_t count = 0;
    for (int64_t ev = 0; ev < in->n_events; ev++) {
        t->first[ev] = count;
        for (int64_t j = particle_first[ev]; j < particle_first[ev + 1]; j++) {
            t->of[j] = -1;
            cell_of[j] = -1;
            if (!k->calo[j]) continue;
            double fraction = hcal ? 1.0 - k->f_ecal[j] : k->f_ecal[j];
            double energy = in->e[j] * fraction;
            if (!(energy > 0)) continue;
            double eta = k->eta_calo[j], abs_eta = fabs(eta), phi = k->phi_calo[j];
            int64_t cell = -1;
            for (int64_t s = 0; s < layer->n_segments; s++) {
                const Segment *seg = &layer->segments[s];
                if (abs_eta >= seg->lo && abs_eta < seg->hi) {
                    int64_t ieta = (int64_t)((abs_eta - seg->lo) / (seg->hi - seg->lo) * (double)seg->n_eta);
                    if (ieta > seg->n_eta - 1) ieta = seg->n_eta - 1;
                    int64_t side = eta < 0;
                    int64_t iphi = (int64_t)((phi + PI) / TWO_PI * (double)seg->n_phi);
                    if (iphi > seg->n_phi - 1) iphi = seg->n_phi - 1;
                    cell = seg->offset + (side * seg->n_eta + ieta) * seg->n_phi + iphi;
                }
            }
            if (cell < 0) continue;
            cell_of[j] = cell;
            cells_add(cells, cell);
        }
        int64_t n_touched = cells_take(cells, touched);
        for (int64_t r = 0; r < n_touched; r++) {
            t->event[count + r] = ev;
            t->cell[count + r] = touched[r];
            t->energy[count + r] = 0.0;
        }
        for (int64_t j = particle_first[ev]; j < particle_first[ev + 1]; j++) {
            if (cell_of[j] < 0) continue;
            int64_t tower = count + cells->slot[cell_of[j]];
            double fraction = hcal ? 1.0 - k->f_ecal[j] : k->f_ecal[j];
            t->of[j] = tower;
            t->energy[tower] += in->e[j] * fraction;
        }
        count += n_touched;
    }
    t->first[in->n_events] = count;
    t->n = count;
    free(cell_of), free(touched);

    ALLOC(t->eta, count), ALLOC(t->phi, count), ALLOC(t->pt, count), ALLOC(t->sigma, count);
    ALLOC(t->measured, count), ALLOC(t->cosh_eta, count), ALLOC(t->neutral, count), ALLOC(t->neutral_pt, count), ALLOC(t->input, count);
    double *centre;
    ALLOC(centre, count);
    if (!t->eta || !t->phi || !t->pt || !t->sigma || !t->measured || !t->cosh_eta || !t->neutral || !t->neutral_pt || !t->input ||
        !centre) {
        free(centre);
        return 0;
    }
    for (int64_t s = 0; s < layer->n_segments; s++) {
        const Segment *seg = &layer->segments[s];
        int64_t end = seg->offset + 2 * seg->n_eta * seg->n_phi;
        double width = (seg->hi - seg->lo) / (double)seg->n_eta;
        for (int64_t i = 0; i < count; i++) {
            if (t->cell[i] < seg->offset || t->cell[i] >= end) continue;
            int64_t local = t->cell[i] - seg->offset, cell = local / seg->n_phi;
            int64_t side = cell / seg->n_eta, ieta = cell % seg->n_eta;
            double drawn = seg->lo + ((double)ieta + uniform(rng)) * width;
            t->eta[i] = side == 1 ? -drawn : drawn;
            centre[i] = seg->lo + ((double)ieta + 0.5) * width;
        }
        for (int64_t i = 0; i < count; i++) {
            if (t->cell[i] < seg->offset || t->cell[i] >= end) continue;
            int64_t iphi = (t->cell[i] - seg->offset) % seg->n_phi;
            t->phi[i] = wrap_phi(-PI + ((double)iphi + uniform(rng)) * (TWO_PI / (double)seg->n_phi));
        }
    }
    for (int64_t i = 0; i < count; i++) {
        const double *r = region(&layer->resolution, centre[i]);
        double c = r ? r[1] : NAN, s = r ? r[2] : NAN, noise = r ? r[3] : NAN, energy = t->energy[i];
        double smeared = lognormal(rng, energy, sqrt((c * energy) * (c * energy) + s * s * energy + noise * noise));
        double sigma = nan_to_num(sqrt((c * smeared) * (c * smeared) + s * s * smeared + noise * noise));
        int keep = smeared > layer->energy_min && smeared > layer->significance_min * sigma;
        t->measured[i] = keep ? smeared : 0.0;
        t->sigma[i] = sigma;
        t->cosh_eta[i] = cosh(t->eta[i]);
        t->pt[i] = t->measured[i] / t->cosh_eta[i];
        t->input[i] = -1;
    }
    free(centre);
    return 1;
}

/* detector.py's _eflow: the layer's tracks against their towers; rescales the tracks' pT in place */
static int energy_flow(const Layer *layer, Towers *t, Tracks *tracks, const Kinematics *k, int hcal,
                       const double *cosh_eta) {
    double *track_sum = calloc((size_t)(t->n > 0 ? t->n : 1), sizeof(double));
    double *track_sigma2 = calloc((size_t)(t->n > 0 ? t->n : 1), sizeof(double));
    if (!track_sum || !track_sigma2) {
        free(track_sum), free(track_sigma2);
        return 0;
    }
    for (int64_t i = 0; i < tracks->n; i++) {
        int64_t j = tracks->particle[i], tower = t->of[j];
        double fraction = hcal ? 1.0 - k->f_ecal[j] : k->f_ecal[j];
        if (!(fraction > 1e-9) || tower < 0) continue;
        double energy = tracks->pt[i] * cosh_eta[i] * fraction;
        track_sum[tower] += energy;
        double spread = tracks->res[i] * energy;
        track_sigma2[tower] += spread * spread;
    }
    double *scale = track_sum; /* reused in place: each tower's own entry is read before it is written */
    for (int64_t i = 0; i < t->n; i++) {
        double measured = t->measured[i], sigma = t->sigma[i], sum = track_sum[i], sigma2 = track_sigma2[i];
        double neutral = measured - sum;
        if (!(neutral > 0.0)) neutral = neutral != neutral ? neutral : 0.0; /* np.maximum keeps a NaN */
        double total_sigma = sqrt(sigma2 + sigma * sigma);
        int significant = neutral > layer->energy_min && neutral / total_sigma > layer->significance_min;
        double w_track = sigma2 > 0 ? 1.0 / sigma2 : 0.0;
        double w_calo = sigma > 0 ? 1.0 / (sigma * sigma) : 0.0;
        double best = (w_track * sum + w_calo * measured) / (w_track + w_calo);
        t->neutral[i] = (unsigned char)significant;
        t->neutral_pt[i] = significant ? neutral / t->cosh_eta[i] : 0.0;
        scale[i] = !significant && sum > 0 ? best / sum : 1.0;
    }
    for (int64_t i = 0; i < tracks->n; i++) {
        int64_t j = tracks->particle[i], tower = t->of[j];
        double fraction = hcal ? 1.0 - k->f_ecal[j] : k->f_ecal[j];
        if (!(fraction > 1e-9) || tower < 0) continue;
        tracks->pt[i] *= scale[tower];
    }
    free(track_sum), free(track_sigma2);
    return 1;
}

/* detector.py's _isolated for one candidate: Σ pT of the reference entries of its event above pt_min
   within ΔR ≤ delta_r (not itself) at most pt_ratio_max × pT */
static int isolated(const Isolation *iso, double pt, double eta, double phi, int64_t self, int64_t begin,
                    int64_t end, const double *r_pt, const double *r_eta, const double *r_phi) {
    double sum = 0.0, dr2_max = iso->delta_r * iso->delta_r;
    for (int64_t r = begin; r < end; r++) {
        if (!(r_pt[r] > iso->pt_min) || r == self) continue;
        double de = eta - r_eta[r], dp = delta_phi(phi, r_phi[r]);
        if (de * de + dp * dp <= dr2_max) sum += r_pt[r];
    }
    return sum <= iso->pt_ratio_max * pt;
}

static int run(const Params *p, const Input *in, Output *out, bitgen_t *rng) {
    int64_t n = in->n, n_events = in->n_events;
    int ok = 0;
    Kinematics k = {0};
    Tracks tr = {0};
    Towers towers[2] = {{0}};
    CellSet cells = {NULL, NULL, 0, NULL};
    int64_t *first = NULL, *ref_first = NULL, *photon_self = NULL, *mu_input = NULL, *el_particle = NULL;
    int64_t *mu_track = NULL;
    double *ref_pt = NULL, *ref_eta = NULL, *ref_phi = NULL, *cosh_eta = NULL;
    unsigned char *photon_tower = NULL;

    ALLOC(k.pt, n), ALLOC(k.eta, n), ALLOC(k.phi, n), ALLOC(k.eta_calo, n), ALLOC(k.phi_calo, n);
    ALLOC(k.charge, n), ALLOC(k.f_ecal, n), ALLOC(k.seen, n), ALLOC(k.reaches, n), ALLOC(k.calo, n);
    ALLOC(tr.particle, n), ALLOC(tr.pt, n), ALLOC(tr.res, n), ALLOC(cosh_eta, n);
    first = event_firsts(in->event, n, n_events);
    if (!k.pt || !k.eta || !k.phi || !k.eta_calo || !k.phi_calo || !k.charge || !k.f_ecal || !k.seen ||
        !k.reaches || !k.calo || !tr.particle || !tr.pt || !tr.res || !cosh_eta || !first)
        goto done;

    /* invisible particles and those produced outside the tracker (detector.py: simulate) */
    double max_rho = 1e3 * p->radius, max_z = 1e3 * p->half_length;
    for (int64_t ev = 0; ev < n_events; ev++) {
        double inv_px = 0.0, inv_py = 0.0;
        for (int64_t j = first[ev]; j < first[ev + 1]; j++) {
            int64_t abs_id = llabs(in->pid[j]);
            int invisible = 0;
            if (abs_id < SMALL_ID) invisible = p->small_invisible[abs_id];
            else
                for (int64_t q = 0; q < p->n_invisible; q++) invisible |= p->invisible[q] == (double)abs_id;
            if (invisible) {
                inv_px += in->px[j];
                inv_py += in->py[j];
            }
            k.seen[j] = !invisible && (!in->rho || (in->rho[j] <= max_rho && fabs(in->z[j]) <= max_z));
        }
        out->invisible_pt[ev] = hypot(inv_px, inv_py);
    }

    /* kinematics and ParticlePropagator (detector.py: _propagate) */
    for (int64_t j = 0; j < n; j++) {
        if (!k.seen[j]) {
            k.calo[j] = 0;
            continue;
        }
        double pt = in->pt[j], eta = in->eta[j], phi = in->phi[j];
        double charge = charge_of(p, in->pid[j]);
        k.pt[j] = pt, k.eta[j] = eta, k.phi[j] = phi, k.charge[j] = charge;
        k.eta_calo[j] = eta, k.phi_calo[j] = phi, k.reaches[j] = 1;
        if (charge != 0 && pt > 0 && fabs(eta) < 1e8) {
            double curvature_radius = pt / (0.3 * p->bz), sinh_eta = sinh(eta);
            double x = p->radius / (2.0 * curvature_radius);
            double to_barrel = x <= 1.0 ? 2.0 * curvature_radius * asin(x < 1.0 ? x : 1.0) : INFINITY;
            double to_endcap = p->half_length / fabs(sinh_eta);
            double path = isnan(to_barrel) || isnan(to_endcap) ? NAN : (to_barrel < to_endcap ? to_barrel : to_endcap);
            double half_turn = path / (2.0 * curvature_radius);
            double rho = 2.0 * curvature_radius * fabs(sin(half_turn));
            int gets_there = isfinite(path) && rho > 0;
            k.eta_calo[j] = gets_there ? asinh(sinh_eta * path / rho) : 0.0;
            k.phi_calo[j] = wrap_phi(phi - charge * (gets_there ? half_turn : 0.0));
            k.reaches[j] = (unsigned char)gets_there;
        }
        int64_t abs_id = llabs(in->pid[j]);
        double f = 0.0;
        if (abs_id < SMALL_ID) f = p->small_ecal[abs_id];
        else
            for (int64_t q = 0; q < p->n_ecal_fraction; q++)
                if (p->ecal_keys[q] == (double)abs_id) f = p->ecal_values[q];
        k.f_ecal[j] = f;
        k.calo[j] = k.reaches[j] && abs_id != 13 && fabs(k.eta_calo[j]) < p->calo_eta_max;
    }

    /* tracks, kind after kind over the batch: efficiency draws, then the smearing draws (_tracks) */
    for (int kind = 0; kind < 3; kind++) {
        int64_t begin = tr.n;
        tr.start[kind] = begin;
        for (int64_t j = 0; j < n; j++) {
            if (!k.seen[j] || k.charge[j] == 0 || !k.reaches[j]) continue;
            int64_t abs_id = llabs(in->pid[j]);
            int mine = kind == 0 ? abs_id == 11 : kind == 1 ? abs_id == 13 : (abs_id != 11 && abs_id != 13);
            if (!mine) continue;
            if (uniform(rng) < binned(&p->tracking[kind], fabs(k.eta_calo[j]), k.pt[j])) {
                tr.particle[tr.n] = j;
                tr.n++;
            }
        }
        for (int64_t i = begin; i < tr.n; i++) {
            int64_t j = tr.particle[i];
            const double *r = region(&p->track_res[kind], fabs(k.eta_calo[j]));
            double a = r ? r[1] : NAN, b = r ? r[2] : NAN, pt = k.pt[j];
            double relative = nan_to_num(hypot(a, b * pt));
            if (relative > 1.0) relative = 1.0;
            tr.res[i] = relative;
            tr.pt[i] = lognormal(rng, pt, relative * pt);
            cosh_eta[i] = cosh(k.eta[j]);
        }
    }
    tr.start[3] = tr.n;

    /* calorimeter layers and their energy flow (_layer_towers, _eflow) */
    int64_t max_towers = p->layers[0].n_towers > p->layers[1].n_towers ? p->layers[0].n_towers : p->layers[1].n_towers;
    int64_t n_l1 = max_towers / 64 + 1;
    cells.n_l2 = n_l1 / 64 + 1;
    cells.l1 = calloc((size_t)n_l1, sizeof(uint64_t));
    cells.l2 = calloc((size_t)cells.n_l2, sizeof(uint64_t));
    ALLOC(cells.slot, max_towers);
    if (!cells.l1 || !cells.l2 || !cells.slot) goto done;
    for (int l = 0; l < 2; l++) {
        if (!build_towers(&p->layers[l], in, &k, first, l, &cells, rng, &towers[l])) goto done;
        if (!energy_flow(&p->layers[l], &towers[l], &tr, &k, l, cosh_eta)) goto done;
    }

    /* the isolation reference, event after event: charged-hadron eflow tracks, then the ECal and HCal
       neutral excesses (the numpy code's stable sort by event of that concatenation) */
    int64_t n_ref_max = (tr.start[3] - tr.start[2]) + towers[0].n + towers[1].n;
    ALLOC(ref_pt, n_ref_max), ALLOC(ref_eta, n_ref_max), ALLOC(ref_phi, n_ref_max);
    ALLOC(ref_first, n_events + 1), ALLOC(photon_self, towers[0].n);
    if (!ref_pt || !ref_eta || !ref_phi || !ref_first || !photon_self) goto done;
    int64_t n_ref = 0, h = tr.start[2];
    for (int64_t ev = 0; ev < n_events; ev++) {
        ref_first[ev] = n_ref;
        for (; h < tr.start[3] && in->event[tr.particle[h]] == ev; h++) {
            int64_t j = tr.particle[h];
            ref_pt[n_ref] = tr.pt[h], ref_eta[n_ref] = k.eta[j], ref_phi[n_ref] = k.phi[j];
            n_ref++;
        }
        for (int l = 0; l < 2; l++) {
            Towers *t = &towers[l];
            for (int64_t i = t->first[ev]; i < t->first[ev + 1]; i++) {
                if (!t->neutral[i]) continue;
                if (l == 0) photon_self[i] = n_ref;
                ref_pt[n_ref] = t->neutral_pt[i], ref_eta[n_ref] = t->eta[i], ref_phi[n_ref] = t->phi[i];
                n_ref++;
            }
        }
    }
    ref_first[n_events] = n_ref;

    /* photons: ECal eflow photons, efficiency then isolation (_photons) */
    Towers *ecal = &towers[0], *hcal = &towers[1];
    ALLOC(photon_tower, ecal->n);
    if (!photon_tower) goto done;
    memset(photon_tower, 0, (size_t)(ecal->n > 0 ? ecal->n : 1));
    for (int64_t i = 0; i < ecal->n; i++) {
        if (!ecal->neutral[i]) continue;
        double pt = ecal->neutral_pt[i], eta = ecal->eta[i], phi = ecal->phi[i];
        if (!(uniform(rng) < binned(&p->efficiency[2], fabs(eta), pt))) continue;
        int64_t ev = ecal->event[i];
        if (!isolated(&p->isolation[2], pt, eta, phi, photon_self[i], ref_first[ev], ref_first[ev + 1], ref_pt,
                      ref_eta, ref_phi))
            continue;
        int64_t o = out->n_photons++;
        out->ph_event[o] = ev, out->ph_pt[o] = pt, out->ph_eta[o] = eta, out->ph_phi[o] = phi;
        photon_tower[i] = 1;
    }

    /* electrons, then muons: identification efficiency then isolation (_leptons); an electron whose
       ECal tower made a photon is the photon's (the unique-object finder) */
    ALLOC(el_particle, tr.start[1] - tr.start[0]), ALLOC(mu_track, tr.start[2] - tr.start[1]);
    if (!el_particle || !mu_track) goto done;
    int64_t n_el = 0, n_mu = 0;
    for (int kind = 0; kind < 2; kind++) {
        for (int64_t i = tr.start[kind]; i < tr.start[kind + 1]; i++) {
            int64_t j = tr.particle[i], ev = in->event[j];
            double pt = tr.pt[i];
            if (!(uniform(rng) < binned(&p->efficiency[kind], fabs(k.eta_calo[j]), pt))) continue;
            if (!isolated(&p->isolation[kind], pt, k.eta[j], k.phi[j], -1, ref_first[ev], ref_first[ev + 1], ref_pt,
                          ref_eta, ref_phi))
                continue;
            int64_t charge = in->pid[j] > 0 ? -1 : 1; /* e-, mu- have positive PDG ids */
            if (kind == 0) {
                if (ecal->of[j] >= 0 && photon_tower[ecal->of[j]]) continue;
                int64_t o = out->n_electrons++;
                out->el_event[o] = ev, out->el_pt[o] = pt, out->el_eta[o] = k.eta[j], out->el_phi[o] = k.phi[j];
                out->el_charge[o] = charge;
                el_particle[n_el++] = j;
            } else {
                int64_t o = out->n_muons++;
                out->mu_event[o] = ev, out->mu_pt[o] = pt, out->mu_eta[o] = k.eta[j], out->mu_phi[o] = k.phi[j];
                out->mu_charge[o] = charge;
                mu_track[n_mu++] = i;
            }
        }
    }

    /* jet inputs, event after event: kept ECal towers, kept HCal towers, tracked muons (the card's
       Calorimeter merger); MET = −Σ of them */
    ALLOC(mu_input, tr.start[2] - tr.start[1]);
    if (!mu_input) goto done;
    int64_t n_in = 0, m = tr.start[1];
    for (int64_t ev = 0; ev < n_events; ev++) {
        int64_t begin = n_in;
        double met_x = 0.0, met_y = 0.0;
        for (int l = 0; l < 2; l++) {
            Towers *t = &towers[l];
            for (int64_t i = t->first[ev]; i < t->first[ev + 1]; i++) {
                if (!(t->measured[i] > 0)) continue;
                double pt = t->pt[i], px = pt * cos(t->phi[i]), py = pt * sin(t->phi[i]);
                met_x += px, met_y += py;
                out->in_px[n_in] = px, out->in_py[n_in] = py;
                out->in_pz[n_in] = pt * sinh(t->eta[i]), out->in_e[n_in] = pt * t->cosh_eta[i];
                t->input[i] = n_in++;
            }
        }
        for (; m < tr.start[2] && in->event[tr.particle[m]] == ev; m++) {
            mu_input[m - tr.start[1]] = -1;
            if (!p->include_muons) continue;
            int64_t j = tr.particle[m];
            double pt = tr.pt[m], px = pt * cos(k.phi[j]), py = pt * sin(k.phi[j]);
            met_x += px, met_y += py;
            out->in_px[n_in] = px, out->in_py[n_in] = py;
            out->in_pz[n_in] = pt * sinh(k.eta[j]), out->in_e[n_in] = pt * cosh(k.eta[j]);
            mu_input[m - tr.start[1]] = n_in++;
        }
        out->met_x[ev] = -met_x;
        out->met_y[ev] = -met_y;
        out->in_counts[ev] = n_in - begin;
    }
    out->n_inputs = n_in;

    /* inputs a jet may not contain: the towers of a kept photon's or electron's particles (an electron
       shares its ECal tower; a photon's particles are all those of its tower), and kept muons */
    int64_t n_shared = 0;
    for (int64_t j = 0; j < n; j++) {
        if (ecal->of[j] < 0 || !photon_tower[ecal->of[j]]) continue;
        if (ecal->input[ecal->of[j]] >= 0) out->shared[n_shared++] = ecal->input[ecal->of[j]];
        if (hcal->of[j] >= 0 && hcal->input[hcal->of[j]] >= 0) out->shared[n_shared++] = hcal->input[hcal->of[j]];
    }
    for (int64_t e = 0; e < n_el; e++) {
        int64_t j = el_particle[e];
        if (ecal->of[j] >= 0 && ecal->input[ecal->of[j]] >= 0) out->shared[n_shared++] = ecal->input[ecal->of[j]];
        if (hcal->of[j] >= 0 && hcal->input[hcal->of[j]] >= 0) out->shared[n_shared++] = hcal->input[hcal->of[j]];
    }
    if (p->include_muons)
        for (int64_t q = 0; q < n_mu; q++) out->shared[n_shared++] = mu_input[mu_track[q] - tr.start[1]];
    out->n_shared = n_shared;
    ok = 1;

done:
    free(k.pt), free(k.eta), free(k.phi), free(k.eta_calo), free(k.phi_calo), free(k.charge), free(k.f_ecal);
    free(k.seen), free(k.reaches), free(k.calo), free(tr.particle), free(tr.pt), free(tr.res);
    free(cosh_eta), free(first), free(cells.l1), free(cells.l2), free(cells.slot), free(ref_first), free(photon_self), free(mu_input), free(el_particle);
    free(mu_track), free(ref_pt), free(ref_eta), free(ref_phi), free(photon_tower);
    towers_free(&towers[0]), towers_free(&towers[1]);
    return ok;
}

/* ---------------------------------------------------------------------------------------------- */
/* Python                                                                                         */

#define N_INPUTS 11
#define N_OUTPUTS 23

static PyObject *simulate(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *params_obj, *inputs, *outputs;
    if (!PyArg_ParseTuple(args, "OOO!O!", &capsule, &params_obj, &PyTuple_Type, &inputs, &PyTuple_Type, &outputs))
        return NULL;
    if (PyTuple_GET_SIZE(inputs) != N_INPUTS || PyTuple_GET_SIZE(outputs) != N_OUTPUTS) {
        PyErr_SetString(PyExc_ValueError, "simulate: wrong number of input or output arrays");
        return NULL;
    }
    bitgen_t *rng = PyCapsule_GetPointer(capsule, "BitGenerator");
    if (!rng) return NULL;
    const char *i64 = INT64_FORMAT;
    /* output kinds: d float64, i int64 */
    static const char out_kinds[N_OUTPUTS + 1] = "ddd" "iddd" "idddi" "idddi" "ddddi" "i";
    Py_buffer views[1 + N_INPUTS + N_OUTPUTS];
    int got = 0, total = 1 + N_INPUTS + N_OUTPUTS;
    for (; got < total; got++) {
        PyObject *obj;
        const char *format;
        int writable = 0;
        if (got == 0) obj = params_obj, format = "d";
        else if (got <= N_INPUTS) obj = PyTuple_GET_ITEM(inputs, got - 1), format = got <= 2 ? i64 : "d";
        else {
            obj = PyTuple_GET_ITEM(outputs, got - 1 - N_INPUTS);
            format = out_kinds[got - 1 - N_INPUTS] == 'i' ? i64 : "d";
            writable = 1;
        }
        if (!get_buffer(obj, &views[got], format, writable, got == 0 ? "params" : got <= N_INPUTS ? "input" : "output"))
            break;
    }
    PyObject *result = NULL;
    if (got == total) {
        Params p;
        Py_ssize_t n = views[1].shape[0];
        Py_ssize_t n_events = views[1 + N_INPUTS].shape[0];
        int lengths_ok = 1;
        for (int q = 2; q <= N_INPUTS; q++) lengths_ok &= q == 7 || q == 8 || views[q].shape[0] == n;
        int has_vertex = views[7].shape[0] == n && views[8].shape[0] == n;
        lengths_ok &= has_vertex || (views[7].shape[0] == 0 && views[8].shape[0] == 0);
        for (int q = 0; q < N_OUTPUTS; q++) {
            Py_ssize_t need = q < 3 || q == 21 ? n_events : (q >= 17 && q <= 20) || q == 22 ? 3 * n : n;
            lengths_ok &= views[1 + N_INPUTS + q].shape[0] >= need;
        }
        const int64_t *event = views[1].buf;
        for (Py_ssize_t j = 0; j < n && lengths_ok; j++)
            lengths_ok = event[j] >= 0 && event[j] < n_events && (j == 0 || event[j] >= event[j - 1]);
        if (!parse_params(views[0].buf, views[0].shape[0], &p)) {
            PyErr_SetString(PyExc_ValueError, "simulate: malformed parameter vector");
        } else if (!lengths_ok) {
            PyErr_SetString(PyExc_ValueError, "simulate: inconsistent array lengths or events not sorted");
        } else {
            Input in = {n_events, n, views[1].buf, views[2].buf, views[3].buf, views[4].buf, views[5].buf,
                        views[6].buf, has_vertex ? views[7].buf : NULL, has_vertex ? views[8].buf : NULL,
                        views[9].buf, views[10].buf, views[11].buf};
            void *o[N_OUTPUTS];
            for (int q = 0; q < N_OUTPUTS; q++) o[q] = views[1 + N_INPUTS + q].buf;
            Output out = {o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10], o[11], o[12], o[13],
                          o[14], o[15], o[16], o[17], o[18], o[19], o[20], o[21], o[22], 0, 0, 0, 0, 0};
            int ok = run(&p, &in, &out, rng);
            if (!ok) PyErr_NoMemory();
            else
                result = Py_BuildValue("(LLLLL)", (long long)out.n_photons, (long long)out.n_electrons,
                                       (long long)out.n_muons, (long long)out.n_inputs, (long long)out.n_shared);
        }
    }
    for (int q = 0; q < got; q++) PyBuffer_Release(&views[q]);
    return result;
}

/* ParticleArrays.from_pythia_batch's selection, in one pass over Pythia's event records (~500 entries
   an event, ~170 of them final):
   final_particles(offsets int64, status int32, id int32, px, py, pz, e, vertex_index int64, vx, vy, vz,
                   event, pid, px, py, pz, e, rho, z) -> n_final
   the final-state particles (status > 0) with their event and production vertex (rho = hypot(vx, vy) and
   z; 0 where Pythia left it unset, non-finite values as numpy's nan_to_num makes them). The outputs hold
   exactly the final particles (the caller counts them: arrays sized for the whole record would cost
   their page faults). */
static PyObject *final_particles(PyObject *self, PyObject *args) {
    (void)self;
    enum { N = 19 };
    PyObject *objs[N];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOOOOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &objs[8], &objs[9], &objs[10], &objs[11], &objs[12], &objs[13], &objs[14],
                          &objs[15], &objs[16], &objs[17], &objs[18]))
        return NULL;
    const char *i64 = INT64_FORMAT;
    const char *formats[N] = {i64, "i", "i", "d", "d", "d", "d", i64, "d", "d", "d",
                              i64, i64, "d", "d", "d", "d", "d", "d"};
    Py_buffer views[N];
    int got = 0;
    for (; got < N; got++)
        if (!get_buffer(objs[got], &views[got], formats[got], got >= 11, "final_particles")) break;
    PyObject *result = NULL;
    if (got == N) {
        Py_ssize_t n_events = views[0].shape[0] - 1, total = views[1].shape[0], n_vertices = views[8].shape[0];
        const int64_t *offsets = views[0].buf, *slot = views[7].buf;
        const int32_t *status = views[1].buf, *id = views[2].buf;
        const double *px = views[3].buf, *py = views[4].buf, *pz = views[5].buf, *e = views[6].buf;
        const double *vx = views[8].buf, *vy = views[9].buf, *vz = views[10].buf;
        int64_t *o_event = views[11].buf, *o_pid = views[12].buf;
        double *o_px = views[13].buf, *o_py = views[14].buf, *o_pz = views[15].buf, *o_e = views[16].buf;
        double *o_rho = views[17].buf, *o_z = views[18].buf;
        int ok = n_events >= 0 && offsets[0] == 0 && offsets[n_events] == total && views[7].shape[0] >= total;
        for (int q = 2; q <= 6; q++) ok &= views[q].shape[0] == total;
        ok &= views[9].shape[0] == n_vertices && views[10].shape[0] == n_vertices;
        Py_ssize_t n_final_max = views[11].shape[0];
        for (int q = 12; q <= 18; q++) ok &= views[q].shape[0] == n_final_max;
        for (Py_ssize_t ev = 0; ev < n_events && ok; ev++) ok = offsets[ev] <= offsets[ev + 1];
        if (!ok) {
            PyErr_SetString(PyExc_ValueError, "final_particles: inconsistent array lengths");
        } else {
            int64_t n_final = 0;
            for (Py_ssize_t ev = 0; ev < n_events && ok; ev++) {
                for (int64_t i = offsets[ev]; i < offsets[ev + 1]; i++) {
                    if (!(status[i] > 0)) continue;
                    if (n_final == n_final_max) {
                        ok = 0;
                        break;
                    }
                    o_event[n_final] = ev, o_pid[n_final] = id[i];
                    o_px[n_final] = px[i], o_py[n_final] = py[i], o_pz[n_final] = pz[i], o_e[n_final] = e[i];
                    int64_t v = slot[i];
                    double x = 0.0, y = 0.0, z = 0.0;
                    if (v >= 0 && v < n_vertices) {
                        x = nan_to_num(vx[v]), y = nan_to_num(vy[v]), z = nan_to_num(vz[v]);
                    }
                    /* most particles come from the interaction point: hypot(0, 0) is +0 without the call */
                    o_rho[n_final] = x == 0.0 && y == 0.0 ? 0.0 : hypot(x, y), o_z[n_final] = z;
                    n_final++;
                }
            }
            if (!ok) PyErr_SetString(PyExc_ValueError, "final_particles: more final particles than output room");
            else result = PyLong_FromLongLong(n_final);
        }
    }
    for (int q = 0; q < got; q++) PyBuffer_Release(&views[q]);
    return result;
}

static PyMethodDef methods[] = {
    {"simulate", simulate, METH_VARARGS, "The fast detector's particle-level chain of one batch (see the file's comment)."},
    {"final_particles", final_particles, METH_VARARGS, "The final-state particles of Pythia's event records (see above)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_detector", "The fast detector, compiled.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__detector(void) {
    PyObject *m = PyModule_Create(&module);
    /* the parameter file's limits here (detector.py falls back to numpy beyond them) */
    if (m && (PyModule_AddIntConstant(m, "MAX_SEGMENTS", MAX_SEGMENTS) < 0 ||
              PyModule_AddIntConstant(m, "MAX_REGIONS", MAX_REGIONS) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
