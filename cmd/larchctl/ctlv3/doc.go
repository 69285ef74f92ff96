// Package ctlv3 is larchctl's v3 command set: the commands, flags, environment variables,
// output formats, error lines and exit codes of etcdctl 3.6.6, built on etcd's own Go client
// (go.etcd.io/etcd/client/v3) and cobra.
//
// # Shape
//
// [Run] is one invocation: it builds a fresh cobra command tree bound to one ctl value
// (flags, the chosen printer, open clients), executes it and returns the exit code. Nothing
// lives in package variables, so tests run many invocations in one process, and every byte
// goes to the writers of the [Env] it was given.
//
// etcdctl exits from deep inside its commands (cobrautl.ExitWithError). Here a command
// returns a *commandError carrying the exit code instead; Run prints its "Error: …" line and
// returns the code. Cobra's own failures (unknown flag, unknown command) are printed by cobra
// itself, with the usage text, exactly as in etcdctl.
//
// # Files
//
//   - ctl.go: Run, the root command, exit codes.
//   - global.go: global flags, ETCDCTL_* environment variables, client construction, zap
//     log lines that match etcdctl's.
//   - usage.go: etcdctl's usage/help layout (NAME, USAGE, COMMANDS, OPTIONS …).
//   - printer*.go: the simple, fields, json, protobuf and table output formats.
//   - table.go, humanize.go: a small tablewriter-compatible renderer and SI byte sizes.
//   - cmd_*.go: one file per command; txn_parse.go holds the txn stdin grammar.
//   - cmd_watch.go: watch, its etcdctl argument rules (the "--" before a command to run
//     per event, ETCDCTL_WATCH_KEY/_RANGE_END) and its interactive mode.
//   - cmd_lease.go, cmd_lock.go, cmd_elect.go: leases, and the lock and election recipes
//     of etcd's client/v3/concurrency package, which etcdctl's lock and elect use too.
//   - cmd_endpoint.go, cmd_alarm.go, cmd_defrag.go: endpoint health/status/hashkv, alarm
//     list/disarm and defrag. The endpoint commands and defrag make one client per
//     endpoint (or per member's client URL with --cluster) and report an endpoint that
//     fails on stderr, as etcdctl does.
//   - cmd_auth.go, cmd_user.go, cmd_role.go: auth enable/disable/status and the user and
//     role commands. Passwords come from arguments, flags or stdin: etcdctl's prompt turns
//     the terminal echo off with stty (askPassword), --interactive=false scans one word.
//
// # Goroutines
//
// Commands run on the caller's goroutine; `endpoint health` checks its endpoints on one
// goroutine each and waits for all of them, and prints them in the order they finished. gRPC's logger is process-wide: it is installed
// once and writes to the stderr of the current invocation (see setGRPCLogger). Every client
// an invocation opens is closed before Run returns.
//
// `lock` and `elect` listen for SIGINT and SIGTERM on a goroutine of their own, which
// cancels the lock or campaign in progress, as etcdctl's does; the command stops it before
// it returns. Their session's lease is left to expire, as etcdctl leaves it.
//
// `watch -i` reads stdin on a goroutine of its own and prints each watch on another, as
// etcdctl does; their writes are serialised. etcdctl exits the process from a watch's
// goroutine when it fails; here that goroutine cancels the session's context with its
// error, which the line loop returns. Run cancels the rest and waits for the watches'
// goroutines before it returns; the stdin reader ends at the end of stdin (or with the
// process), since a blocked read cannot be interrupted.
//
// # Texts
//
// Command names, short descriptions, flag names, defaults and flag descriptions are
// etcdctl's, since they are part of what users and scripts see (`--help`, flag errors).
// The longer DESCRIPTION texts of put, txn, member list and endpoint status are larchctl's
// own wording; the CLI tests mark those usage texts as known differences.
//
// # Deliberate quirks
//
// Some etcdctl oddities are kept because scripts may depend on the bytes: the txn grammar's
// single-quote slicing, `lease(...)` compares and unknown compare operators that panic
// (exit 2), `member list --consistency=x` naming "l" in its error; `watch -i` ignoring
// the watch flags of its command line, `watch a -- x x` watching the range [a, x). Each
// is commented where it is implemented.
//
// # Deliberate differences
//
// `snapshot status` and `snapshot restore` are etcdctl 3.5's (etcd 3.6 moved them to
// etcdutl, and etcdctl 3.6 has only `snapshot save`), without 3.5's "Deprecated: use
// etcdutl" line: they read Larch's own backup format, which etcdutl cannot. Their
// checks, texts and exit codes are etcdutl 3.5's; `--wal-dir` is refused (a Larch member
// keeps its WAL in its data dir) and `--initial-memory-map-size` is accepted and ignored.
//
// `alarm disarm -w fields` prints the cleared alarms without header lines: the disarm
// response that clientv3 assembles has no header, and etcdctl crashes dereferencing it.
//
// When `watch -i` ends (end of stdin, a failed watch), a command that still runs for an
// event is killed; etcdctl exits and leaves it running.
//
// `member add`, in the simple format, prints the four ETCD_* lines that start the new
// member under etcd, then the same four lines again as LARCH_NAME, LARCH_INITIAL_CLUSTER,
// LARCH_INITIAL_ADVERTISE_PEER_URLS and LARCH_INITIAL_CLUSTER_STATE, because the larch
// server reads LARCH_* variables. The other formats are etcdctl's.
package ctlv3
