// The scalar fast path of libtrackgate_ffi (bindings/ffi/src/scalar.rs): plain C functions
// beside the UniFFI ones, which the generated header does not declare. Each makes the same
// engine call as its Gate twin (decideId, decide, resolve) and returns one number; see the Rust
// docs for the encoding. `token` comes from Gate.scalarToken().
#ifndef TRACKGATE_SCALAR_H
#define TRACKGATE_SCALAR_H

#include <stdint.h>

// Kept: the weight (>= 1.0). Dropped: -code of the reason (1...8). -255 stale id (nothing
// counted), -254 token of no open gate, -253 caught panic (nothing decided).
double trackgate_decide_id_scalar(uint64_t token, uint64_t id, uint64_t size_bytes);

// As trackgate_decide_id_scalar, deciding the `name_length` UTF-8 bytes at `name` as
// Gate.decide does; -252 for a NULL name with a non-zero length (nothing decided).
double trackgate_decide_name_scalar(uint64_t token, const uint8_t *name, uint64_t name_length, uint64_t size_bytes);

// The id Gate.resolve gives, or 0 when there is none (unregistered or invalid name, unknown
// token). Counts nothing.
uint64_t trackgate_resolve_scalar(uint64_t token, const uint8_t *name, uint64_t name_length);

#endif
