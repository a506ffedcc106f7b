/* Anti-kT clustering of many events held in flat float64 buffers, giving FastJet's jets bit for bit.
 *
 * darkscan.gen.clustering calls cluster(px, py, pz, e, starts, stops, radius, pt_min, jpx, jpy, jpz,
 * je, counts, jet_of_input): inputs starts[i]:stops[i] (int64) are event i; the jet buffers (capacity
 * = number of inputs) get every event's inclusive jets with pt^2 >= pt_min^2 in the order of FastJet's
 * ClusterSequence::inclusive_jets, counts[i] their number (-1 for an event this file does not cluster:
 * the caller hands those to FastJet), jet_of_input[k] the flat index of the kept jet input k ended in,
 * or -1. It returns the number of jets written.
 *
 * Bit-identical means doing FastJet's (3.5) arithmetic in FastJet's order, so this is a port of the
 * strategies its "Best" choice takes for anti-kT with R < 0.65 below 769 inputs (R = 0.6 here; beyond
 * that FastJet switches to LazyTiling9, and the event goes back to FastJet):
 *  - N2Plain (ClusterSequence_N2.icc, FJ_N2_UPDATE_STRATEGY 2) up to 39/(R+0.6) or 30 inputs,
 *  - N2Tiled (ClusterSequence::_faster_tiled_N2_cluster with TilingExtent) above,
 * with PseudoJet::_set_rap_phi for rapidity and phi, E-scheme sums, distances dphi^2 + drap^2 times
 * min(1/kt2) against R^2 and the same first-minimum-wins scans over the same array orders, so exact
 * ties of distances are resolved as FastJet resolves them. Compiled with -ffp-contract=off: a fused
 * multiply-add would round differently from FastJet's separate operations.
 *
 * No numpy C API: the arrays arrive through the buffer protocol. The GIL is released while clustering.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_buffers.h"

static const double PI = 3.141592653589793238462643383279502884197;
static const double TWOPI = 6.283185307179586476925286766559005768394;
static const double MAX_RAP = 1e5;

/* ------------------------------------------------------------------ pseudojets and history */
typedef struct {
    double px, py, pz, e, kt2;
    double rap, phi;
    int64_t merged_into; /* index of the jet this one was merged into, -1 for a beam merge */
} PJ;

static void set_rap_phi(PJ *j) {
    double phi = (j->kt2 == 0.0) ? 0.0 : atan2(j->py, j->px);
    if (phi < 0.0) phi += TWOPI;
    if (phi >= TWOPI) phi -= TWOPI;
    j->phi = phi;
    if (j->e == fabs(j->pz) && j->kt2 == 0) {
        double max_rap_here = MAX_RAP + fabs(j->pz);
        j->rap = (j->pz >= 0.0) ? max_rap_here : -max_rap_here;
    } else {
        double m2 = (j->e + j->pz) * (j->e - j->pz) - j->kt2;
        double effective_m2 = m2 > 0.0 ? m2 : 0.0;
        double e_plus_pz = j->e + fabs(j->pz);
        double rap = 0.5 * log((j->kt2 + effective_m2) / (e_plus_pz * e_plus_pz));
        j->rap = (j->pz > 0) ? -rap : rap;
    }
}

static void set_momentum(PJ *j, double px, double py, double pz, double e) {
    j->px = px;
    j->py = py;
    j->pz = pz;
    j->e = e;
    j->kt2 = px * px + py * py;
    j->merged_into = -1;
    set_rap_phi(j);
}

static inline double antikt_scale(const PJ *j) { return j->kt2 > 1e-300 ? 1.0 / j->kt2 : 1e300; }

typedef struct {
    PJ *jets;
    int64_t n_jets;
    int64_t *beam; /* jets merged with the beam, in the order of the merges */
    int64_t n_beam;
} History;

static int64_t merge_ij(History *h, int64_t i, int64_t j) {
    PJ *a = &h->jets[i], *b = &h->jets[j];
    int64_t k = h->n_jets++;
    set_momentum(&h->jets[k], a->px + b->px, a->py + b->py, a->pz + b->pz, a->e + b->e);
    a->merged_into = k;
    b->merged_into = k;
    return k;
}

static void merge_beam(History *h, int64_t i) { h->beam[h->n_beam++] = i; }

/* ------------------------------------------------------------------ N2Plain */
typedef struct BJ {
    double eta, phi, kt2, NN_dist;
    struct BJ *NN;
    int64_t jets_index;
} BJ;

static inline double bj_dist(double eta_a, double phi_a, double eta_b, double phi_b) {
    double dphi = fabs(phi_a - phi_b);
    double deta = eta_a - eta_b;
    if (dphi > PI) dphi = TWOPI - dphi;
    return dphi * dphi + deta * deta;
}
#define DIST(a, b) bj_dist((a)->eta, (a)->phi, (b)->eta, (b)->phi)

static inline double bj_diJ(const BJ *j) {
    double kt2 = j->kt2;
    if (j->NN != NULL && j->NN->kt2 < kt2) kt2 = j->NN->kt2;
    return j->NN_dist * kt2;
}

static void bj_set_jetinfo(BJ *bj, const History *h, int64_t index, double R2) {
    const PJ *j = &h->jets[index];
    bj->eta = j->rap;
    bj->phi = j->phi;
    bj->kt2 = antikt_scale(j);
    bj->jets_index = index;
    bj->NN_dist = R2;
    bj->NN = NULL;
}

static void bj_set_NN_nocross(BJ *jet, BJ *head, BJ *tail, double R2) {
    double NN_dist = R2;
    BJ *NN = NULL;
    for (BJ *b = head; b < jet; b++) {
        double dist = DIST(jet, b);
        if (dist < NN_dist) {
            NN_dist = dist;
            NN = b;
        }
    }
    for (BJ *b = jet + 1; b < tail; b++) {
        double dist = DIST(jet, b);
        if (dist < NN_dist) {
            NN_dist = dist;
            NN = b;
        }
    }
    jet->NN = NN;
    jet->NN_dist = NN_dist;
}

static void bj_set_NN_crosscheck(BJ *jet, BJ *head, BJ *tail, double R2) {
    double NN_dist = R2;
    BJ *NN = NULL;
    for (BJ *b = head; b != tail; b++) {
        double dist = DIST(jet, b);
        if (dist < NN_dist) {
            NN_dist = dist;
            NN = b;
        }
        if (dist < b->NN_dist) {
            b->NN_dist = dist;
            b->NN = jet;
        }
    }
    jet->NN = NN;
    jet->NN_dist = NN_dist;
}

static void cluster_plain(History *h, int64_t n, double R2, BJ *briefjets, double *diJ) {
    BJ *head = briefjets, *tail = briefjets + n, *jetA, *jetB;
    for (int64_t i = 0; i < n; i++) bj_set_jetinfo(&briefjets[i], h, i, R2);
    for (jetA = head + 1; jetA != tail; jetA++) bj_set_NN_crosscheck(jetA, head, jetA, R2);
    for (int64_t i = 0; i < n; i++) diJ[i] = bj_diJ(&briefjets[i]);

    while (tail != head) {
        double diJ_min = diJ[0];
        int64_t diJ_min_jet = 0;
        for (int64_t i = 1; i < n; i++) {
            if (diJ[i] < diJ_min) {
                diJ_min_jet = i;
                diJ_min = diJ[i];
            }
        }
        jetA = &briefjets[diJ_min_jet];
        jetB = jetA->NN;
        if (jetB != NULL) {
            if (jetA < jetB) {
                BJ *t = jetA;
                jetA = jetB;
                jetB = t;
            }
            int64_t nn = merge_ij(h, jetA->jets_index, jetB->jets_index);
            bj_set_jetinfo(jetB, h, nn, R2);
        } else {
            merge_beam(h, jetA->jets_index);
        }
        tail--;
        n--;
        *jetA = *tail;
        diJ[jetA - head] = diJ[tail - head];

        if (jetB != NULL) {
            for (BJ *jetI = head; jetI != tail; jetI++) {
                if (jetI->NN == jetA || jetI->NN == jetB) {
                    bj_set_NN_nocross(jetI, head, tail, R2);
                    diJ[jetI - head] = bj_diJ(jetI);
                }
                double dist = DIST(jetI, jetB);
                if (dist < jetI->NN_dist && jetI != jetB) {
                    jetI->NN_dist = dist;
                    jetI->NN = jetB;
                    diJ[jetI - head] = bj_diJ(jetI);
                }
                if (dist < jetB->NN_dist && jetI != jetB) {
                    jetB->NN_dist = dist;
                    jetB->NN = jetI;
                }
                if (jetI->NN == tail) jetI->NN = jetA;
            }
            diJ[jetB - head] = bj_diJ(jetB);
        } else {
            for (BJ *jetI = head; jetI != tail; jetI++) {
                if (jetI->NN == jetA) {
                    bj_set_NN_nocross(jetI, head, tail, R2);
                    diJ[jetI - head] = bj_diJ(jetI);
                }
                if (jetI->NN == tail) jetI->NN = jetA;
            }
        }
    }
}

/* ------------------------------------------------------------------ N2Tiled */
typedef struct TJ {
    double eta, phi, kt2, NN_dist;
    struct TJ *NN, *previous, *next;
    int64_t jets_index, diJ_posn;
    int tile_index;
} TJ;

#define N_TILE_NEIGHBOURS 9
typedef struct Tile {
    struct Tile *begin_tiles[N_TILE_NEIGHBOURS]; /* itself, left neighbours, right neighbours */
    struct Tile **RH_tiles, **end_tiles;
    TJ *head;
    int tagged;
} Tile;

typedef struct {
    Tile *tiles;
    size_t capacity;
    double eta_min, eta_max, size_eta, size_phi;
    int ieta_min, ieta_max, n_phi;
    int built_rows, built_n_phi; /* the shape the tiles' neighbour links were made for */
} Tiling;

typedef struct {
    TJ *jet;
    double diJ;
} DiJLink;

/* TilingExtent::_determine_rapidity_extent */
static void rapidity_extent(const PJ *jets, int64_t n, double *minrap, double *maxrap) {
    enum { NRAP = 20, NBINS = 40 };
    double counts[NBINS] = {0};
    double lo = DBL_MAX, hi = -DBL_MAX;
    int ibin;
    for (int64_t i = 0; i < n; i++) {
        if (jets[i].e == fabs(jets[i].pz)) continue;
        double rap = jets[i].rap;
        if (rap < lo) lo = rap;
        if (rap > hi) hi = rap;
        ibin = (int)(rap + NRAP);
        if (ibin < 0) ibin = 0;
        if (ibin >= NBINS) ibin = NBINS - 1;
        counts[ibin]++;
    }
    double max_in_bin = 0;
    for (ibin = 0; ibin < NBINS; ibin++)
        if (max_in_bin < counts[ibin]) max_in_bin = counts[ibin];
    double allowed = floor(fmax(max_in_bin * 0.25, 4.0));
    if (allowed > max_in_bin) allowed = max_in_bin;
    double cumul = 0;
    for (ibin = 0; ibin < NBINS; ibin++) {
        cumul += counts[ibin];
        if (cumul >= allowed) {
            double y = ibin - NRAP;
            if (y > lo) lo = y;
            break;
        }
    }
    cumul = 0;
    for (ibin = NBINS - 1; ibin >= 0; ibin--) {
        cumul += counts[ibin];
        if (cumul >= allowed) {
            double y = ibin - NRAP + 1;
            if (y < hi) hi = y;
            break;
        }
    }
    *minrap = lo;
    *maxrap = hi;
}

static inline int tile_of(const Tiling *t, int ieta, int iphi) {
    /* ClusterSequence::_tile_index(ieta, iphi): phi wraps, ieta counted from ieta_min */
    return (ieta - t->ieta_min) * t->n_phi + (iphi + t->n_phi) % t->n_phi;
}

static int tile_index(const Tiling *t, double eta, double phi) {
    int ieta, iphi;
    if (eta <= t->eta_min) {
        ieta = 0;
    } else if (eta >= t->eta_max) {
        ieta = t->ieta_max - t->ieta_min;
    } else {
        ieta = (int)((eta - t->eta_min) / t->size_eta);
        if (ieta > t->ieta_max - t->ieta_min) ieta = t->ieta_max - t->ieta_min;
    }
    iphi = (int)((phi + TWOPI) / t->size_phi) % t->n_phi;
    return iphi + ieta * t->n_phi;
}

static int initialise_tiles(Tiling *t, const PJ *jets, int64_t n, double R) {
    double default_size = R > 0.1 ? R : 0.1;
    t->size_eta = default_size;
    t->n_phi = (int)floor(TWOPI / default_size);
    if (t->n_phi < 3) t->n_phi = 3;
    t->size_phi = TWOPI / t->n_phi;
    rapidity_extent(jets, n, &t->eta_min, &t->eta_max);
    t->ieta_min = (int)floor(t->eta_min / t->size_eta);
    t->ieta_max = (int)floor(t->eta_max / t->size_eta);
    t->eta_min = t->ieta_min * t->size_eta;
    t->eta_max = t->ieta_max * t->size_eta;
    size_t count = (size_t)(t->ieta_max - t->ieta_min + 1) * (size_t)t->n_phi;
    int rows = t->ieta_max - t->ieta_min + 1;
    if (rows == t->built_rows && t->n_phi == t->built_n_phi) {
        /* the neighbour links depend on the shape only: the previous event's serve, emptied */
        for (size_t k = 0; k < count; k++) {
            t->tiles[k].head = NULL;
            t->tiles[k].tagged = 0;
        }
        return 1;
    }
    if (count > t->capacity) {
        Tile *tiles = realloc(t->tiles, count * sizeof(Tile));
        if (!tiles) return 0;
        t->tiles = tiles;
        t->capacity = count;
    }
    t->built_rows = rows;
    t->built_n_phi = t->n_phi;
    for (int ieta = t->ieta_min; ieta <= t->ieta_max; ieta++) {
        for (int iphi = 0; iphi < t->n_phi; iphi++) {
            Tile *tile = &t->tiles[tile_of(t, ieta, iphi)];
            tile->head = NULL;
            tile->begin_tiles[0] = tile;
            Tile **pp = &tile->begin_tiles[1];
            if (ieta > t->ieta_min)
                for (int d = -1; d <= 1; d++) *pp++ = &t->tiles[tile_of(t, ieta - 1, iphi + d)];
            *pp++ = &t->tiles[tile_of(t, ieta, iphi - 1)];
            tile->RH_tiles = pp;
            *pp++ = &t->tiles[tile_of(t, ieta, iphi + 1)];
            if (ieta < t->ieta_max)
                for (int d = -1; d <= 1; d++) *pp++ = &t->tiles[tile_of(t, ieta + 1, iphi + d)];
            tile->end_tiles = pp;
            tile->tagged = 0;
        }
    }
    return 1;
}

static void tj_set_jetinfo(TJ *jet, const History *h, int64_t index, double R2, Tiling *t) {
    const PJ *j = &h->jets[index];
    jet->eta = j->rap;
    jet->phi = j->phi;
    jet->kt2 = antikt_scale(j);
    jet->jets_index = index;
    jet->NN_dist = R2;
    jet->NN = NULL;
    jet->tile_index = tile_index(t, jet->eta, jet->phi);
    Tile *tile = &t->tiles[jet->tile_index];
    jet->previous = NULL;
    jet->next = tile->head;
    if (jet->next != NULL) jet->next->previous = jet;
    tile->head = jet;
}

static void tj_remove_from_tiles(Tiling *t, TJ *jet) {
    Tile *tile = &t->tiles[jet->tile_index];
    if (jet->previous == NULL)
        tile->head = jet->next;
    else
        jet->previous->next = jet->next;
    if (jet->next != NULL) jet->next->previous = jet->previous;
}

static inline double tj_diJ(const TJ *j) {
    double kt2 = j->kt2;
    if (j->NN != NULL && j->NN->kt2 < kt2) kt2 = j->NN->kt2;
    return j->NN_dist * kt2;
}

static void add_untagged_neighbours(Tiling *t, int index, int *tile_union, int *n_near) {
    Tile *tile = &t->tiles[index];
    for (Tile **near = tile->begin_tiles; near != tile->end_tiles; near++) {
        if (!(*near)->tagged) {
            (*near)->tagged = 1;
            tile_union[(*n_near)++] = (int)(*near - t->tiles);
        }
    }
}

static int cluster_tiled(History *h, int64_t n, double R, double R2, Tiling *t, TJ *briefjets, DiJLink *diJ) {
    if (!initialise_tiles(t, h->jets, n, R)) return 0;
    TJ *jetA, *jetB;
    int old_tile = 0;
    int tile_union[3 * N_TILE_NEIGHBOURS];
    for (int64_t i = 0; i < n; i++) tj_set_jetinfo(&briefjets[i], h, i, R2, t);

    size_t n_tiles = (size_t)(t->ieta_max - t->ieta_min + 1) * (size_t)t->n_phi;
    for (size_t k = 0; k < n_tiles; k++) {
        Tile *tile = &t->tiles[k];
        for (jetA = tile->head; jetA != NULL; jetA = jetA->next) {
            for (jetB = tile->head; jetB != jetA; jetB = jetB->next) {
                double dist = DIST(jetA, jetB);
                if (dist < jetA->NN_dist) {
                    jetA->NN_dist = dist;
                    jetA->NN = jetB;
                }
                if (dist < jetB->NN_dist) {
                    jetB->NN_dist = dist;
                    jetB->NN = jetA;
                }
            }
        }
        for (Tile **rt = tile->RH_tiles; rt != tile->end_tiles; rt++) {
            for (jetA = tile->head; jetA != NULL; jetA = jetA->next) {
                for (jetB = (*rt)->head; jetB != NULL; jetB = jetB->next) {
                    double dist = DIST(jetA, jetB);
                    if (dist < jetA->NN_dist) {
                        jetA->NN_dist = dist;
                        jetA->NN = jetB;
                    }
                    if (dist < jetB->NN_dist) {
                        jetB->NN_dist = dist;
                        jetB->NN = jetA;
                    }
                }
            }
        }
    }
    for (int64_t i = 0; i < n; i++) {
        diJ[i].diJ = tj_diJ(&briefjets[i]);
        diJ[i].jet = &briefjets[i];
        briefjets[i].diJ_posn = i;
    }

    while (n > 0) {
        DiJLink *best = diJ, *stop = diJ + n;
        double diJ_min = diJ[0].diJ;
        for (DiJLink *here = diJ + 1; here != stop; here++) {
            if (here->diJ < diJ_min) {
                best = here;
                diJ_min = here->diJ;
            }
        }
        jetA = best->jet;
        jetB = jetA->NN;
        if (jetB != NULL) {
            if (jetA < jetB) {
                TJ *tmp = jetA;
                jetA = jetB;
                jetB = tmp;
            }
            int64_t nn = merge_ij(h, jetA->jets_index, jetB->jets_index);
            tj_remove_from_tiles(t, jetA);
            old_tile = jetB->tile_index;
            tj_remove_from_tiles(t, jetB);
            tj_set_jetinfo(jetB, h, nn, R2, t);
        } else {
            merge_beam(h, jetA->jets_index);
            tj_remove_from_tiles(t, jetA);
        }

        int n_near = 0;
        add_untagged_neighbours(t, jetA->tile_index, tile_union, &n_near);
        if (jetB != NULL) {
            if (jetB->tile_index != jetA->tile_index) add_untagged_neighbours(t, jetB->tile_index, tile_union, &n_near);
            if (old_tile != jetA->tile_index && old_tile != jetB->tile_index)
                add_untagged_neighbours(t, old_tile, tile_union, &n_near);
        }

        n--;
        diJ[n].jet->diJ_posn = jetA->diJ_posn;
        diJ[jetA->diJ_posn] = diJ[n];

        for (int it = 0; it < n_near; it++) {
            Tile *tile = &t->tiles[tile_union[it]];
            tile->tagged = 0;
            for (TJ *jetI = tile->head; jetI != NULL; jetI = jetI->next) {
                if (jetI->NN == jetA || (jetI->NN == jetB && jetB != NULL)) {
                    jetI->NN_dist = R2;
                    jetI->NN = NULL;
                    for (Tile **near = tile->begin_tiles; near != tile->end_tiles; near++) {
                        for (TJ *jetJ = (*near)->head; jetJ != NULL; jetJ = jetJ->next) {
                            double dist = DIST(jetI, jetJ);
                            if (dist < jetI->NN_dist && jetJ != jetI) {
                                jetI->NN_dist = dist;
                                jetI->NN = jetJ;
                            }
                        }
                    }
                    diJ[jetI->diJ_posn].diJ = tj_diJ(jetI);
                }
                if (jetB != NULL) {
                    double dist = DIST(jetI, jetB);
                    if (dist < jetI->NN_dist && jetI != jetB) {
                        jetI->NN_dist = dist;
                        jetI->NN = jetB;
                        diJ[jetI->diJ_posn].diJ = tj_diJ(jetI);
                    }
                    if (dist < jetB->NN_dist && jetI != jetB) {
                        jetB->NN_dist = dist;
                        jetB->NN = jetI;
                    }
                }
            }
        }
        if (jetB != NULL) diJ[jetB->diJ_posn].diJ = tj_diJ(jetB);
    }
    return 1;
}

/* ------------------------------------------------------------------ driver */
typedef struct {
    PJ *jets;
    int64_t *beam, *root;
    BJ *bj;
    double *diJ_plain;
    TJ *tj;
    DiJLink *diJ_tiled;
    Tiling tiling;
    int64_t capacity;
} Work;

static void work_free(Work *w) {
    free(w->jets);
    free(w->beam);
    free(w->root);
    free(w->bj);
    free(w->diJ_plain);
    free(w->tj);
    free(w->diJ_tiled);
    free(w->tiling.tiles);
}

static int work_reserve(Work *w, int64_t n) {
    if (n <= w->capacity) return 1;
    int64_t c = n < 256 ? 256 : n;
    size_t m = (size_t)c;
    void *p;
#define GROW(field, count)                                          \
    if (!(p = realloc(w->field, (count) * sizeof(*w->field)))) return 0; \
    w->field = p;
    GROW(jets, 2 * m)
    GROW(beam, m)
    GROW(root, 2 * m)
    GROW(bj, m)
    GROW(diJ_plain, m)
    GROW(tj, m)
    GROW(diJ_tiled, m)
#undef GROW
    w->capacity = c;
    return 1;
}

/* the strategy FastJet's _best_strategy picks: 0 N2Plain, 1 N2Tiled, -1 one not ported here */
static int strategy_for(int64_t n, double R) {
    double bounded_R = R > 0.1 ? R : 0.1;
    if (n <= 30 || n <= 39.0 / (bounded_R + 0.6)) return 0;
    if (bounded_R < 0.65) {
        double N_Tiled_to_MHT_lowR = 44.6283 * (-45.4947 * bounded_R * bounded_R + 54.3528 * bounded_R + 1);
        if (n < N_Tiled_to_MHT_lowR) {
            return 1;
        }
    }
    return -1;
}

typedef struct {
    const double *px, *py, *pz, *e;
    const int64_t *starts, *stops;
    int64_t n_events, n_inputs;
    double radius, pt_min;
    double *jpx, *jpy, *jpz, *je;
    int64_t *counts, *jet_of_input;
} Job;

/* returns the number of jets, -1 on memory exhaustion, -2 on inconsistent event ranges */
static int64_t run(const Job *job) {
    Work w;
    memset(&w, 0, sizeof w);
    const double R = job->radius, R2 = R * R, dcut = job->pt_min * job->pt_min;
    int64_t written = 0;
    for (int64_t ev = 0; ev < job->n_events; ev++) {
        int64_t start = job->starts[ev], stop = job->stops[ev], n = stop - start;
        if (start < 0 || n < 0 || stop > job->n_inputs) {
            work_free(&w);
            return -2;
        }
        for (int64_t k = start; k < stop; k++) job->jet_of_input[k] = -1;
        job->counts[ev] = 0;
        if (n == 0) continue;
        int strategy = strategy_for(n, R);
        if (strategy < 0) {
            job->counts[ev] = -1;
            continue;
        }
        if (!work_reserve(&w, n)) {
            work_free(&w);
            return -1;
        }
        History h = {w.jets, n, w.beam, 0};
        for (int64_t k = 0; k < n; k++)
            set_momentum(&w.jets[k], job->px[start + k], job->py[start + k], job->pz[start + k], job->e[start + k]);
        if (strategy == 0) {
            cluster_plain(&h, n, R2, w.bj, w.diJ_plain);
        } else if (!cluster_tiled(&h, n, R, R2, &w.tiling, w.tj, w.diJ_tiled)) {
            work_free(&w);
            return -1;
        }
        /* inclusive_jets walks the history backwards: the last beam merge comes first */
        for (int64_t k = 0; k < h.n_jets; k++) w.root[k] = -1;
        for (int64_t b = h.n_beam - 1; b >= 0; b--) {
            const PJ *j = &w.jets[h.beam[b]];
            if (j->kt2 >= dcut) {
                job->jpx[written] = j->px;
                job->jpy[written] = j->py;
                job->jpz[written] = j->pz;
                job->je[written] = j->e;
                w.root[h.beam[b]] = written++;
                job->counts[ev]++;
            }
        }
        /* a merged jet has a larger index than its parts, so one backward pass labels everything */
        for (int64_t k = h.n_jets - 1; k >= 0; k--)
            if (w.jets[k].merged_into >= 0) w.root[k] = w.root[w.jets[k].merged_into];
        for (int64_t k = 0; k < n; k++) job->jet_of_input[start + k] = w.root[k];
    }
    work_free(&w);
    return written;
}

static PyObject *cluster(PyObject *self, PyObject *args) {
    PyObject *objs[12];
    double radius, pt_min;
    if (!PyArg_ParseTuple(args, "OOOOOOddOOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5], &radius,
                          &pt_min, &objs[6], &objs[7], &objs[8], &objs[9], &objs[10], &objs[11]))
        return NULL;
    static const char *names[12] = {"px", "py", "pz", "e", "starts", "stops",
                                    "jpx", "jpy", "jpz", "je", "counts", "jet_of_input"};
    const char *i64 = INT64_FORMAT;
    const char *formats[12] = {"d", "d", "d", "d", i64, i64, "d", "d", "d", "d", i64, i64};
    Py_buffer views[12];
    int got = 0;
    for (; got < 12; got++)
        if (!get_buffer(objs[got], &views[got], formats[got], got >= 6, names[got])) break;
    PyObject *result = NULL;
    if (got == 12) {
        Py_ssize_t n_inputs = views[0].shape[0], n_events = views[4].shape[0];
        int ok = radius > 0 && radius < PI;
        for (int k = 1; k < 4; k++) ok &= views[k].shape[0] == n_inputs;
        for (int k = 6; k < 10; k++) ok &= views[k].shape[0] >= n_inputs;
        ok &= views[11].shape[0] == n_inputs && views[5].shape[0] == n_events && views[10].shape[0] == n_events;
        if (!ok) {
            PyErr_SetString(PyExc_ValueError, "cluster: inconsistent array lengths or radius outside (0, pi)");
        } else {
            Job job = {views[0].buf, views[1].buf, views[2].buf, views[3].buf, views[4].buf, views[5].buf,
                       n_events, n_inputs, radius, pt_min, views[6].buf, views[7].buf, views[8].buf,
                       views[9].buf, views[10].buf, views[11].buf};
            int64_t written;
            Py_BEGIN_ALLOW_THREADS
            written = run(&job);
            Py_END_ALLOW_THREADS
            if (written == -1)
                PyErr_NoMemory();
            else if (written == -2)
                PyErr_SetString(PyExc_ValueError, "cluster: an event range lies outside the inputs");
            else
                result = PyLong_FromLongLong(written);
        }
    }
    for (int k = 0; k < got; k++) PyBuffer_Release(&views[k]);
    return result;
}

static PyMethodDef methods[] = {
    {"cluster", cluster, METH_VARARGS, "Anti-kT jets of many events from flat buffers (see the file's comment)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_antikt", "Anti-kT clustering identical to FastJet's.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__antikt(void) { return PyModule_Create(&module); }
