package mvcc

// Revision names one change in the keyspace: Main is the revision of the
// write transaction, Sub the position of the change inside it.
type Revision struct {
	Main int64
	Sub  int64
}

// KeyValue is one version of a key as clients see it.
type KeyValue struct {
	Key            []byte
	Value          []byte
	CreateRevision int64
	ModRevision    int64
	Version        int64
	Lease          int64
}

// EventType says whether an Event stored or removed a key.
type EventType int32

const (
	// EventPut is a put that created or replaced a key.
	EventPut EventType = 0
	// EventDelete is a delete; its KV holds only Key and ModRevision.
	EventDelete EventType = 1
)

// Event is one change made by a write transaction, in execution order.
type Event struct {
	Type EventType
	KV   KeyValue
	// PrevKV is the key's previous version, nil when the key did not exist.
	// Precisely, as etcd's watchers report it (they read at ModRevision-1):
	// the key as it was before the transaction, and nil for a put that
	// creates the key.
	PrevKV *KeyValue
}

// SortOrder and SortTarget mirror etcd's RangeRequest enums; values outside
// them are refused with ErrInvalidSortOption.
type SortOrder int32

const (
	SortNone    SortOrder = 0
	SortAscend  SortOrder = 1
	SortDescend SortOrder = 2
)

type SortTarget int32

const (
	SortByKey     SortTarget = 0
	SortByVersion SortTarget = 1
	SortByCreate  SortTarget = 2
	SortByMod     SortTarget = 3
	SortByValue   SortTarget = 4
)

// RangeRequest selects keys. End nil means the single key Key; End = "\x00"
// means every key >= Key; Key = End = "\x00" means every key. As in etcd, a
// non-nil empty End also means every key >= Key (a decoded protobuf gives
// nil for an absent field). End <= Key selects nothing.
type RangeRequest struct {
	Key, End   []byte
	Revision   int64 // <= 0: the current revision
	Limit      int64 // <= 0: no limit
	SortOrder  SortOrder
	SortTarget SortTarget
	KeysOnly   bool
	CountOnly  bool

	MinModRevision, MaxModRevision       int64 // 0: no bound
	MinCreateRevision, MaxCreateRevision int64 // 0: no bound
}

// RangeResult is the answer to a RangeRequest.
type RangeResult struct {
	KVs   []KeyValue
	Count int64 // keys in the range at the read revision, before filters and limit
	More  bool
	// Revision is the store's current revision when the read ran (not the read revision).
	Revision int64
}

// PutRequest stores one key.
type PutRequest struct {
	Key, Value  []byte
	Lease       int64
	PrevKV      bool
	IgnoreValue bool
	IgnoreLease bool
}

// PutResult is the answer to a PutRequest.
type PutResult struct {
	Revision int64
	PrevKV   *KeyValue
}

// DeleteRequest removes the keys of a range (the same forms as RangeRequest).
type DeleteRequest struct {
	Key, End []byte
	PrevKV   bool
}

// DeleteResult is the answer to a DeleteRequest.
type DeleteResult struct {
	Revision int64
	Deleted  int64
	PrevKVs  []KeyValue
}

// CompareTarget and CompareResult mirror etcd's Compare enums.
type CompareTarget int32

const (
	CompareVersion CompareTarget = 0
	CompareCreate  CompareTarget = 1
	CompareMod     CompareTarget = 2
	CompareValue   CompareTarget = 3
	CompareLease   CompareTarget = 4
)

type CompareResult int32

const (
	CompareEqual    CompareResult = 0
	CompareGreater  CompareResult = 1
	CompareLess     CompareResult = 2
	CompareNotEqual CompareResult = 3
)

// Compare is one guard of a transaction. Number is used for every target but
// CompareValue, which uses Value. HasValue records whether the request's
// target union held a value (etcd compares 0 when a numeric target meets a
// value union). When the union holds a numeric field other than the one
// Target names, etcd also compares 0: pass Number 0 then.
type Compare struct {
	Key, End []byte
	Target   CompareTarget
	Result   CompareResult
	Number   int64
	Value    []byte
	HasValue bool
}

// Op is one operation of a transaction: exactly one field is set.
type Op struct {
	Range  *RangeRequest
	Put    *PutRequest
	Delete *DeleteRequest
	Txn    *TxnRequest
}

// TxnRequest is a transaction: every Compare (at every nesting level) is
// evaluated against the state before the transaction, then the ops of the
// chosen branches run in order.
type TxnRequest struct {
	Compare []Compare
	Success []Op
	Failure []Op
}

// OpResult is the answer to one Op; exactly one field is set (none for an
// empty Op). Revision is the store revision as that op saw it, and 0 for a
// nested txn, whose response header etcd leaves empty.
type OpResult struct {
	Revision int64
	Range    *RangeResult
	Put      *PutResult
	Delete   *DeleteResult
	Txn      *TxnResult
}

// TxnResult is the answer to a TxnRequest.
type TxnResult struct {
	// Revision is the new revision if anything changed, else the current
	// one; 0 in a nested txn's result.
	Revision  int64
	Succeeded bool
	Results   []OpResult
}

// LeaseChecker tells the store whether a lease exists; the store refuses a
// put naming a lease it does not know.
type LeaseChecker interface {
	LeaseExists(id int64) bool
}
