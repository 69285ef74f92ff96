package tree

import (
	"errors"
	"fmt"
)

// Error codes of etcd's v2 API (etcd's server/etcdserver/api/v2error). The
// numbers are on the wire: never renumber them. Codes marked "unused" are
// never produced by etcd 3.5 but are kept so that every code has its text.
const (
	EcodeKeyNotFound      = 100
	EcodeTestFailed       = 101
	EcodeNotFile          = 102
	EcodeNoMorePeer       = 103 // unused
	EcodeNotDir           = 104
	EcodeNodeExist        = 105
	EcodeKeyIsPreserved   = 106 // unused
	EcodeRootROnly        = 107
	EcodeDirNotEmpty      = 108
	EcodeExistingPeerAddr = 109 // unused
	EcodeUnauthorized     = 110

	EcodeValueRequired        = 200 // unused
	EcodePrevValueRequired    = 201
	EcodeTTLNaN               = 202
	EcodeIndexNaN             = 203
	EcodeValueOrTTLRequired   = 204 // unused
	EcodeTimeoutNaN           = 205 // unused
	EcodeNameRequired         = 206 // unused
	EcodeIndexOrValueRequired = 207 // unused
	EcodeIndexValueMutex      = 208 // unused
	EcodeInvalidField         = 209
	EcodeInvalidForm          = 210
	EcodeRefreshValue         = 211
	EcodeRefreshTTLRequired   = 212

	EcodeRaftInternal = 300
	EcodeLeaderElect  = 301 // unused in 3.5

	EcodeWatcherCleared     = 400 // unused in 3.5
	EcodeEventIndexCleared  = 401
	EcodeStandbyInternal    = 402 // unused
	EcodeInvalidActiveSize  = 403 // unused
	EcodeInvalidRemoveDelay = 404 // unused

	EcodeClientInternal = 500 // unused
)

// messages holds etcd's fixed message for each code, byte for byte.
var messages = map[int]string{
	EcodeKeyNotFound:      "Key not found",
	EcodeTestFailed:       "Compare failed",
	EcodeNotFile:          "Not a file",
	EcodeNoMorePeer:       "Reached the max number of peers in the cluster",
	EcodeNotDir:           "Not a directory",
	EcodeNodeExist:        "Key already exists",
	EcodeKeyIsPreserved:   "The prefix of given key is a keyword in etcd",
	EcodeRootROnly:        "Root is read only",
	EcodeDirNotEmpty:      "Directory not empty",
	EcodeExistingPeerAddr: "Peer address has existed",
	EcodeUnauthorized:     "The request requires user authentication",

	EcodeValueRequired:        "Value is Required in POST form",
	EcodePrevValueRequired:    "PrevValue is Required in POST form",
	EcodeTTLNaN:               "The given TTL in POST form is not a number",
	EcodeIndexNaN:             "The given index in POST form is not a number",
	EcodeValueOrTTLRequired:   "Value or TTL is required in POST form",
	EcodeTimeoutNaN:           "The given timeout in POST form is not a number",
	EcodeNameRequired:         "Name is required in POST form",
	EcodeIndexOrValueRequired: "Index or value is required",
	EcodeIndexValueMutex:      "Index and value cannot both be specified",
	EcodeInvalidField:         "Invalid field",
	EcodeInvalidForm:          "Invalid POST form",
	EcodeRefreshValue:         "Value provided on refresh",
	EcodeRefreshTTLRequired:   "A TTL must be provided on refresh",

	EcodeRaftInternal: "Raft Internal Error",
	EcodeLeaderElect:  "During Leader Election",

	EcodeWatcherCleared:     "watcher is cleared due to etcd recovery",
	EcodeEventIndexCleared:  "The event in requested index is outdated and cleared",
	EcodeStandbyInternal:    "Standby Internal Error",
	EcodeInvalidActiveSize:  "Invalid active size",
	EcodeInvalidRemoveDelay: "Standby remove delay",

	EcodeClientInternal: "Client Internal Error",
}

// Error is a v2 API error. Its JSON is etcd's error body
// ({"errorCode":100,"message":"Key not found","cause":"/foo","index":12}).
// The store returns *Error for every failure it knows; the API layer builds
// the request-validation errors (201-212) and 300 with NewError.
type Error struct {
	ErrorCode int    `json:"errorCode"`
	Message   string `json:"message"`
	Cause     string `json:"cause,omitempty"`
	Index     uint64 `json:"index"`
}

// NewError returns the error with code's fixed message. index is the store
// index to report (0 for errors raised before the store is reached).
func NewError(code int, cause string, index uint64) *Error {
	return &Error{ErrorCode: code, Message: messages[code], Cause: cause, Index: index}
}

// Error formats e as etcd's v2 client prints it: "100: Key not found
// (/foo) [12]" (also what etcdctl shows after "Error:  ").
func (e *Error) Error() string {
	return fmt.Sprintf("%d: %s (%s) [%d]", e.ErrorCode, e.Message, e.Cause, e.Index)
}

// StatusCode is the HTTP status etcd answers with for e's code.
func (e *Error) StatusCode() int {
	switch e.ErrorCode {
	case EcodeKeyNotFound:
		return 404 // Not Found
	case EcodeNotFile, EcodeDirNotEmpty:
		return 403 // Forbidden
	case EcodeUnauthorized:
		return 401 // Unauthorized
	case EcodeTestFailed, EcodeNodeExist:
		return 412 // Precondition Failed
	case EcodeRaftInternal, EcodeLeaderElect:
		return 500 // Internal Server Error
	}
	return 400 // Bad Request
}

// IsCode reports whether err is (or wraps) an *Error with the given code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.ErrorCode == code
}

// Snapshot errors. They are Larch's own (etcd's v2 snapshot is plain JSON).
var (
	// ErrCorrupt marks a snapshot that Restore refuses: bad magic, checksum
	// mismatch, truncation or an impossible state. Test with errors.Is; the
	// wrapping error says what was wrong.
	ErrCorrupt = errors.New("tree: corrupt snapshot")
	// ErrUnknownVersion is returned by Restore for a snapshot written by a
	// newer format version than this build knows.
	ErrUnknownVersion = errors.New("tree: unknown snapshot format version")
)
