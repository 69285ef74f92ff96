// Package mvcc is Larch's v3 keyspace: a multi-version ordered map with
// etcd's revisions, ranges, transactions, compaction and hashes, as a
// deterministic in-memory state machine. It does no I/O but the io.Writer
// and io.Reader handed to Snapshot.WriteTo and Restore, starts no
// goroutines and reads no clock; the same requests in the same order give
// the same state, results and events on every member.
//
// # Use
//
// The API layer validates a request with ValidateRange, ValidatePut,
// ValidateDelete or ValidateTxn before proposing it. The apply loop then
// calls Txn, Put, Delete or Compact, and hands the returned events to
// watchers and leases. Reads (Range, HashKV, Hash, Rev) may come from any
// goroutine. Snapshot gives a cheap frozen view whose WriteTo can run on
// another goroutine while the apply loop goes on; Restore reads it back.
//
// # Data structures
//
// A revision is etcd's: Main counts write transactions (a fresh store is at
// 1, each txn that changes anything takes the next one), Sub orders the
// changes inside one. The index is a github.com/google/btree BTreeG of
// keyEntry values ordered by key. A keyEntry holds every version of its key
// kept since the last compaction, oldest first; a version is either live
// (value, create revision, version number >= 1, lease) or a tombstone
// (version number 0). There is nothing else: no revision log, no separate
// value store.
//
// Worked example, one key "foo" (versions written as main.sub):
//
//	put foo=a  (rev 2)   foo: [2.0 a c2 v1]
//	put foo=b  (rev 3)   foo: [2.0 a c2 v1, 3.0 b c2 v2]
//	delete foo (rev 4)   foo: [2.0 ..., 3.0 ..., 4.0 tombstone]
//	put foo=c  (rev 5)   foo: [2.0 ..., 3.0 ..., 4.0 t, 5.0 c c5 v1]
//
// A read at revision R binary-searches the newest version with Main <= R:
// at 3 it finds b, at 4 the tombstone (no key), at 5 c with version 1
// again (the version restarts after a delete, the create revision is 5).
//
// Tombstones cut the history into generations: [2.0, 3.0, 4.0t] and
// [5.0]. Compaction at R mirrors etcd's keyIndex.compact: it drops the
// generations whose tombstone is below R, and in the first generation left
// every version before the newest one at or below R:
//
//	compact(3)   foo: [3.0 b, 4.0 t, 5.0 c]   (3.0 is what a read at 3 sees)
//	compact(4)   foo: [4.0 t, 5.0 c]          (the delete at 4 stays: a watch
//	                                           from revision 4 must report it)
//	compact(5)   foo: [5.0 c]
//
// and a key whose last generation ended below R disappears. So after a
// compaction at C the store still holds every change above C and each key's
// last change at or below C unless it was a delete before C: exactly what
// etcd keeps.
//
// HashKV follows etcd's algorithm over what etcd would hold in bbolt (the
// same versions): see its doc. Hash is Larch's own whole-store checksum.
//
// # Writes
//
// A write runs under writeMu (one writer at a time) and mu (no reader sees
// a half-done txn). Txn first evaluates the compares of every level against
// the state before it (etcd's "txn path"), then runs the ops of the chosen
// branches, writing each change straight into the tree as version
// (rev+1).(n) and remembering the entry it replaced. A Range inside the txn
// thus sees the earlier writes by reading the tree. If an op fails (unknown
// lease, ignore_* on a missing key, a Range at a future or compacted
// revision) the replaced entries go back and nothing happened; otherwise
// the revision moves by one if anything changed, and the changes become
// events in sub-revision order.
//
// # Concurrency and copy-on-write
//
// Readers hold mu shared; writers hold it exclusively only while they touch
// the tree (a txn is in-memory and short). Published entries are never
// modified: a write stores a new entry value. Its versions slice may share
// the backing array of the entry it replaces, but only elements past the old
// length are ever written, which no holder of the old entry reads.
//
// Snapshot clones the B-tree (O(1): nodes are shared and copied by whichever
// side writes first) and bumps Store.epoch. An entry may extend its array
// in place only while its epoch equals the store's, so after a snapshot the
// first write to each key copies that key's versions: a snapshot never
// shares an array that is still being appended to. Compact works on a clone
// of the tree outside mu and swaps the result in, so readers wait for two
// O(1) steps, not for the walk over every key.
//
// # Why this design
//
// etcd keeps a key index in memory and the versions in bbolt, keyed by
// revision. Larch holds everything in memory, so one ordered structure
// suffices: a single lookup gives all versions of a key, historical reads
// are a binary search, compaction is local to each key, and the B-tree's
// clone makes snapshots cheap. Rejected alternatives: a revision-ordered
// log plus index, as etcd has (two structures to keep consistent, and
// compaction must rewrite both); copying a key's version slice on every
// write (O(history) per put, quadratic for hot keys); a persistent list per
// key (O(history) historical reads and compaction copies); a private
// overlay for the running txn (readers would not wait for txns, but every
// read inside a txn would merge two sources).
//
// The coming watch code needs "every event with Main > R in [key, end)" to
// catch slow watchers up: it walks the entries of the range, takes their
// versions above R and orders them by revision (complete for any R at or
// above the compaction, as etcd's own is; if catch-ups over huge ranges turn out
// hot, a revision-ordered secondary index can be added). Lease revoke needs
// "delete these keys in one revision": a Txn with one Delete op per key,
// which the duplicate-key rule allows.
package mvcc
