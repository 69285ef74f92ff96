// Package auth owns Larch's one role-based access control model: users,
// roles, the permissions roles carry for both keyspaces, whether auth is
// on, and the auth revision; and the checks made against them.
//
// etcd kept two auth stores, one per API. Larch keeps one Store: a user
// made through the v2 API logs in through the v3 API and the other way
// round, a Role carries v3 key ranges (KV) and v2 path patterns (V2Read,
// V2Write), and each API shows and edits its own kind.
//
// Store is a deterministic state machine like the stores under tree: the
// apply loop changes it with the methods that return errors (AddUser,
// GrantPermission, ...), in log order, so every member holds the same
// state at the same index. Passwords reach it already hashed (the member
// that takes the request hashes it with bcrypt before proposing: bcrypt
// salts are random, and the plain password must never enter the log).
// Every change bumps Revision; requests carry the revision they were
// authorised at, and the apply loop refuses those older than the store's
// (ErrAuthOldRevision), so a revoked permission cannot be used by a write
// already on its way.
//
// Readers on other goroutines (permission checks of reads, the v2 HTTP
// layer) take the Store's read lock; the apply loop takes the write lock.
// Permission checks use each user's merged key ranges, rebuilt on every
// change (etcd's rangePermCache), so a check costs a few comparisons.
//
// Passwords verifies passwords against bcrypt hashes and remembers the
// pairs it verified, keyed by the hash, so that a request with HTTP basic
// credentials does not pay bcrypt each time, and an unknown user costs a
// comparison against a dummy hash, so that timing does not tell which
// users exist. Tokens are in auth/token.
package auth
