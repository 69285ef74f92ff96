package mvcc

import "errors"

// The messages are etcd's own, minus the "etcdserver: " prefix that the API
// layer adds, because clients recognise errors by their text.
var (
	// ErrCompacted is returned by a read, Compact or HashKV naming a revision
	// that compaction has discarded.
	ErrCompacted = errors.New("mvcc: required revision has been compacted")
	// ErrFutureRev is returned by a read, Compact or HashKV naming a revision
	// above the current one.
	ErrFutureRev = errors.New("mvcc: required revision is a future revision")
	// ErrEmptyKey is returned by validation when a request, compare or op has
	// no key.
	ErrEmptyKey = errors.New("key is not provided")
	// ErrKeyNotFound is returned when a put with IgnoreValue or IgnoreLease
	// names a missing key, and by ValidateTxn for an empty Op.
	ErrKeyNotFound = errors.New("key not found")
	// ErrValueProvided is returned by validation for IgnoreValue with a value.
	ErrValueProvided = errors.New("value is provided")
	// ErrLeaseProvided is returned by validation for IgnoreLease with a lease.
	ErrLeaseProvided = errors.New("lease is provided")
	// ErrLeaseNotFound is returned when a put names a lease the LeaseChecker
	// does not know.
	ErrLeaseNotFound = errors.New("requested lease not found")
	// ErrInvalidSortOption is returned by validation for a sort order or
	// target outside its enum.
	ErrInvalidSortOption = errors.New("invalid sort option")
	// ErrTooManyOps is returned by ValidateTxn when a txn level holds more
	// compares or ops than its limit.
	ErrTooManyOps = errors.New("too many operations in txn request")
	// ErrDuplicateKey is returned by ValidateTxn when one branch of a txn
	// writes a key twice (see ValidateTxn for the exact rule).
	ErrDuplicateKey = errors.New("duplicate key given in txn request")
	// ErrCorrupt marks a snapshot that Restore refuses: wrong magic, unknown
	// format version, checksum mismatch, truncation or an impossible state.
	// Test with errors.Is; the wrapping error says what was wrong.
	ErrCorrupt = errors.New("mvcc: corrupt snapshot")
)

// errNotReadOnly is returned by ReadTxn for a txn that would write: a
// misuse by the caller, which must send such a txn through Txn.
var errNotReadOnly = errors.New("mvcc: ReadTxn of a txn that writes")
