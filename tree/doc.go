// Package tree is Larch's v2 keyspace: etcd 3.5's v2 hierarchical store
// (server/etcdserver/api/v2store) as a deterministic in-memory state
// machine. It owns the directory tree of keys and dirs, TTLs and their
// expiry, the store index, the history of the last 1000 events and the
// watchers. It does no I/O but the io.Writer and io.Reader given to WriteTo
// and Restore, starts no goroutines and reads no clock: time is a parameter
// (the leader stamps it into each replicated request), so the same requests
// give the same state, events and errors on every member.
//
// # Use
//
// The apply loop calls Set, Create, Update, CompareAndSwap, Delete,
// CompareAndDelete and, for a leader time tick, DeleteExpiredKeys. Get,
// Index, Watch and Stats may be called from any goroutine. Errors are
// *Error with etcd's codes, messages, causes and index; Error.StatusCode
// gives the HTTP status. The API layer maps requests to operations as
// spec/v2.md §3.2 says and builds the validation errors (201-212) itself.
// Paths are user paths ("/foo"); there is no "/1" prefix to add or strip.
//
// # Data structures
//
// A node is a file (value) or a dir. Each dir keeps its children in a
// github.com/armon/go-radix tree keyed by name, which gives lookups by name
// and walks in byte order without sorting; listings, snapshots and
// recursive removals are therefore always in key order and never depend on
// Go's map order. Paths are resolved one component at a time from the root
// (so the errors name the right component, as etcd's walk does).
//
// Every node with a TTL is also in Store.ttls, a radix tree keyed by
// (expiration, path) encoded to sort bytewise (expiryKey); its minimum is
// the next node to expire. This replaces etcd's heap, whose order among
// equal expirations depends on insertion and map order.
//
// The history is a ring of 1000 events. Each index increment adds exactly
// one event (refreshes included, gets never), so the event with index i is
// at offset i-startIndex and a watch from a waitIndex starts there.
//
// # Concurrency
//
// Store.mu (RWMutex) guards the tree, the index, the TTL index and the
// history. Writes hold it exclusively, including while they notify
// watchers; Get, Index, Watch and WriteTo hold it shared. hub.mu guards the
// watcher lists and is taken after Store.mu (Watcher.Remove takes it
// alone). The store never blocks on a watcher: each has a 100-event buffer,
// and a watcher whose buffer is full is unregistered (etcd's rule), its
// buffered events still readable. WriteTo encodes under the read lock into
// memory and writes to its io.Writer after releasing it.
//
// Rejected: a copy-on-write tree for snapshots (the encoding is a fast
// in-memory walk; v2 stores are small), one radix tree of all full paths
// (listing one dir's children would walk its whole subtree), a per-watcher
// goroutine (the hub only does non-blocking sends).
//
// # Matches etcd 3.5
//
// Actions, JSON (field order, omitempty, root without key or indexes,
// "value" on every file, RFC 3339 UTC expiration, ttl rounded up from now
// and left out at 0), createdIndex/modifiedIndex rules (set re-creates,
// update and CAS keep createdIndex, implicit parents take the write's
// index), prevNode exactly where etcd sets it, error codes and causes
// (104 names the file met on the way, a POST to a file names the path
// itself, CAD on the root is 102 with no cause, the CAS/CAD "[a != b]"
// forms), expirations before 2000 meaning "permanent" on Create and Set
// only, refresh (keeps the value, takes an index, Set path re-creates the
// node, never notifies, skipped by history scans), the 1000-event window
// and the 401 cause "[oldest/requested]", history matching (including the
// dir-delete plain-prefix quirk and no hidden-key filter), live
// notification (ancestors for recursive watchers, removed descendants for
// dir deletes and expiries, hidden segments below the watched path), and
// etcd's stream quirks: a stream watcher on a deleted node receives the
// event twice, and a watch served from the history gets only that event.
// The snapshot keeps what etcd's keeps: the tree with absolute
// expirations, the index and the history (not the stats or watchers).
//
// # Deliberate differences
//
//   - Updating a dir's TTL (Update or a refresh with prevExist on a dir)
//     works, as in etcd 2.3 and its documentation; etcd 3.5 fails with a
//     300 (etcd-io/etcd#13589). The stored dir's modifiedIndex moves to the
//     update's index, as the event says (2.3 kept the old one in the store).
//   - Children are always listed in key order; etcd uses Go map order
//     unless sorted=true, so this is one of the orders etcd may give.
//   - Expiry order among nodes with equal expirations is by key, the same
//     on every member.
//   - The user keyspace is the root; etcd's internal /0 and /2 namespaces
//     do not exist here, so a fresh store is at index 0 where a fresh etcd
//     server is at 3.
//   - Watcher.Remove may be called more than once.
//   - The snapshot is Larch's versioned binary format with a CRC-32C, not
//     etcd's JSON.
package tree
