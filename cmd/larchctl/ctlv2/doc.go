// Package ctlv2 is larchctl's v2 command set, selected with ETCDCTL_API=2. It reproduces
// etcdctl 3.5.21 in v2 mode: the same commands, flags, environment variables, help text,
// output formats, error lines and exit codes, so scripts written for etcdctl v2 keep
// working against Larch (or etcd).
//
// Requests go through etcd's own v2 Go client (go.etcd.io/etcd/client/v2), which gives
// the same HTTP requests, endpoint failover, member sync and error values that etcdctl
// has. Argument parsing follows urfave/cli v1, which etcdctl v2 used: global flags come
// before the command and stop at the first non-flag word; a command's own flags may come
// before or after its arguments (known flags are moved to the front, with the word after
// each as a possible value); "--" ends flag parsing. Flags are parsed with the standard
// library's flag package, as urfave/cli v1 did, so flag errors read the same.
//
// Files: ctl.go (entry point, global flags, dispatch, exit codes), help.go (the command
// table and help text), client.go (endpoints, transport, sync, --debug), format.go (the
// three output formats), keys.go (get, ls, set, mk, mkdir, setdir, update, updatedir, rm,
// rmdir), watch.go (watch, exec-watch), member.go (member, cluster-health), auth.go (user,
// role, auth).
//
// Every command runs in the caller's goroutine and returns its exit code; nothing calls
// os.Exit, so the whole command set runs in-process in tests. The only goroutines are the
// ones a watch starts: one that turns SIGINT into a cancellation, and one per exec-watch
// child, which reports a failed start by cancelling the watch; both end with the command.
package ctlv2
