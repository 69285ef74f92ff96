// etcd's clients parse URLs with net/url; etcdctl 3.5 and 3.6 are built with a Go that
// takes "http://h:1,http://h:2" as one host and reports it as not "host:port". Go 1.26
// refuses such an http URL earlier, with another message; keep etcdctl's.
//
//go:debug urlstrictcolons=0

// Command larchctl is Larch's command-line client. It speaks etcdctl's language: the same
// commands, flags, ETCDCTL_* environment variables, output formats and exit codes.
//
// ETCDCTL_API selects the command set: "2" is etcd's v2 API as etcdctl 3.5 speaks it
// (package ctlv2); "3", unset or anything else is the v3 API (package ctlv3), which, like
// etcdctl 3.6, warns about a value it does not recognise.
package main

import (
	"os"

	"github.com/larchkv/larch/cmd/larchctl/ctlv2"
	"github.com/larchkv/larch/cmd/larchctl/ctlv3"
)

func main() {
	os.Exit(run(ctlv3.Env{
		Args:    os.Args[1:],
		Environ: os.Environ(),
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	}))
}

// run picks the command set and returns the exit code.
func run(env ctlv3.Env) int {
	if env.Getenv("ETCDCTL_API") == "2" {
		return ctlv2.Run(ctlv2.Env{
			Args:    env.Args,
			Environ: env.Environ,
			Stdin:   env.Stdin,
			Stdout:  env.Stdout,
			Stderr:  env.Stderr,
		})
	}
	return ctlv3.Run(env)
}
