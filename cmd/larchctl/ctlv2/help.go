package ctlv2

import (
	"strings"
	"text/tabwriter"

	"github.com/larchkv/larch/cmd/larchctl/internal/owncmd"
)

// command is one entry of the command table; a command with sub is a command set of its
// own (member, user, role, auth).
type command struct {
	name        string
	aliases     []string
	usage       string // one line, in the COMMANDS list and after NAME
	argsUsage   string // after the options in USAGE; "" shows "[arguments...]"
	usageText   string // replaces the whole USAGE line when set
	description string
	flags       []flagDef
	sub         []*command
	parent      *command
	run         func(c *ctl, f *flagValues) error
	// hidden leaves the command out of command lists (urfave's Hidden): `pki`, which
	// etcdctl does not have, so that the root help stays etcdctl's.
	hidden bool
}

func (cmd *command) find(name string) *command {
	for _, s := range cmd.sub {
		if s.name == name {
			return s
		}
		for _, a := range s.aliases {
			if a == name {
				return s
			}
		}
	}
	return nil
}

// helpName is the command's full name, as help text shows it: "etcdctl member list".
func (cmd *command) helpName() string {
	if cmd.parent == nil {
		return cmd.name
	}
	return cmd.parent.helpName() + " " + cmd.name
}

var versionFlag = flagDef{names: []string{"version", "v"}, kind: boolFlag, usage: "print the version"}

var globalFlags = []flagDef{
	{names: []string{"debug"}, kind: boolFlag, usage: "output cURL commands which can be used to reproduce the request"},
	{names: []string{"no-sync"}, kind: boolFlag, usage: "don't synchronize cluster information before sending request"},
	{names: []string{"output", "o"}, kind: stringFlag, value: "simple", usage: "output response in the given format (`simple`, `extended` or `json`)"},
	{names: []string{"discovery-srv", "D"}, kind: stringFlag, usage: "domain name to query for SRV records describing cluster endpoints"},
	{names: []string{"insecure-discovery"}, kind: boolFlag, usage: "accept insecure SRV records describing cluster endpoints"},
	{names: []string{"peers", "C"}, kind: stringFlag, usage: `DEPRECATED - "--endpoints" should be used instead`},
	{names: []string{"endpoint"}, kind: stringFlag, usage: `DEPRECATED - "--endpoints" should be used instead`},
	{names: []string{"endpoints"}, kind: stringFlag, usage: `a comma-delimited list of machine addresses in the cluster (default: "http://127.0.0.1:2379,http://127.0.0.1:4001")`},
	{names: []string{"cert-file"}, kind: stringFlag, usage: "identify HTTPS client using this SSL certificate file"},
	{names: []string{"key-file"}, kind: stringFlag, usage: "identify HTTPS client using this SSL key file"},
	{names: []string{"ca-file"}, kind: stringFlag, usage: "verify certificates of HTTPS-enabled servers using this CA bundle"},
	{names: []string{"username", "u"}, kind: stringFlag, usage: "provide username[:password] and prompt if password is not supplied."},
	{names: []string{"timeout"}, kind: durationFlag, value: "2s", usage: "connection timeout per request"},
	{names: []string{"total-timeout"}, kind: durationFlag, value: "5s", usage: "timeout for the command execution (except watch)"},
}

func ttlFlag() flagDef {
	return flagDef{names: []string{"ttl"}, kind: intFlag, value: "0", usage: "key time-to-live in seconds"}
}

var (
	rolesFlag  = flagDef{names: []string{"roles"}, kind: stringSliceFlag, usage: "List of roles to grant or revoke"}
	sortFlag   = flagDef{names: []string{"sort"}, kind: boolFlag, usage: "returns result in sorted order"}
	quorumFlag = flagDef{names: []string{"quorum", "q"}, kind: boolFlag, usage: "require quorum for get request"}
	afterIndex = flagDef{names: []string{"after-index"}, kind: intFlag, value: "0", usage: "watch after the given index"}
)

// rootApp is the v2 command table, in etcdctl's order.
var rootApp = &command{
	name:  cliName,
	usage: "A simple command line client for etcd.",
	sub: []*command{
		{name: "backup", usage: "--data-dir=... --backup-dir={output}",
			usageText:   "[deprecated] offline backup an etcd directory.",
			description: "Performs an offline backup of etcd directory.\n\nMoved to `./etcdutl backup` and going to be decomissioned in v3.5\n\nThe recommended (online) backup command is: `./etcdctl snapshot save ...`.\n\n",
			flags: []flagDef{
				{names: []string{"data-dir"}, kind: stringFlag, usage: "Path to the etcd data dir"},
				{names: []string{"wal-dir"}, kind: stringFlag, usage: "Path to the etcd wal dir"},
				{names: []string{"backup-dir"}, kind: stringFlag, usage: "Path to the backup dir"},
				{names: []string{"backup-wal-dir"}, kind: stringFlag, usage: "Path to the backup wal dir"},
				{names: []string{"with-v3"}, kind: boolFlag, usage: "Backup v3 backend data"},
			},
			run: (*ctl).backup},
		{name: "cluster-health", usage: "check the health of the etcd cluster", argsUsage: " ",
			flags: []flagDef{{names: []string{"forever", "f"}, kind: boolFlag, usage: "forever check the health every 10 second until CTRL+C"}},
			run:   (*ctl).clusterHealth},
		{name: "mk", usage: "make a new key with a given value", argsUsage: "<key> <value>",
			flags: []flagDef{{names: []string{"in-order"}, kind: boolFlag, usage: "create in-order key under directory <key>"}, ttlFlag()},
			run:   (*ctl).mk},
		{name: "mkdir", usage: "make a new directory", argsUsage: "<key>",
			flags: []flagDef{ttlFlag()}, run: (*ctl).mkdir},
		{name: "rm", usage: "remove a key or a directory", argsUsage: "<key>",
			flags: []flagDef{
				{names: []string{"dir"}, kind: boolFlag, usage: "removes the key if it is an empty directory or a key-value pair"},
				{names: []string{"recursive", "r"}, kind: boolFlag, usage: "removes the key and all child keys(if it is a directory)"},
				{names: []string{"with-value"}, kind: stringFlag, usage: "previous value"},
				{names: []string{"with-index"}, kind: intFlag, value: "0", usage: "previous index"},
			},
			run: (*ctl).rm},
		{name: "rmdir", usage: "removes the key if it is an empty directory or a key-value pair", argsUsage: "<key>",
			run: (*ctl).rmdir},
		{name: "get", usage: "retrieve the value of a key", argsUsage: "<key>",
			flags: []flagDef{sortFlag, quorumFlag}, run: (*ctl).get},
		{name: "ls", usage: "retrieve a directory", argsUsage: "[key]",
			flags: []flagDef{
				sortFlag,
				{names: []string{"recursive", "r"}, kind: boolFlag, usage: "returns all key names recursively for the given path"},
				{names: []string{"p"}, kind: boolFlag, usage: "append slash (/) to directories"},
				quorumFlag,
			},
			run: (*ctl).ls},
		{name: "set", usage: "set the value of a key", argsUsage: "<key> <value>",
			description: "Set sets the value of a key.\n\n   When <value> begins with '-', <value> is interpreted as a flag.\n   Insert '--' for workaround:\n\n   $ set -- <key> <value>",
			flags: []flagDef{
				ttlFlag(),
				{names: []string{"swap-with-value"}, kind: stringFlag, usage: "previous value"},
				{names: []string{"swap-with-index"}, kind: intFlag, value: "0", usage: "previous index"},
			},
			run: (*ctl).set},
		{name: "setdir", usage: "create a new directory or update an existing directory TTL", argsUsage: "<key>",
			flags: []flagDef{ttlFlag()}, run: (*ctl).setdir},
		{name: "update", usage: "update an existing key with a given value", argsUsage: "<key> <value>",
			flags: []flagDef{ttlFlag()}, run: (*ctl).update},
		{name: "updatedir", usage: "update an existing directory", argsUsage: "<key> <value>",
			flags: []flagDef{ttlFlag()}, run: (*ctl).updatedir},
		{name: "watch", usage: "watch a key for changes", argsUsage: "<key>",
			flags: []flagDef{
				{names: []string{"forever", "f"}, kind: boolFlag, usage: "forever watch a key until CTRL+C"},
				afterIndex,
				{names: []string{"recursive", "r"}, kind: boolFlag, usage: "returns all values for key and child keys"},
			},
			run: (*ctl).watch},
		{name: "exec-watch", usage: "watch a key for changes and exec an executable", argsUsage: "<key> <command> [args...]",
			flags: []flagDef{
				afterIndex,
				{names: []string{"recursive", "r"}, kind: boolFlag, usage: "watch all values for key and child keys"},
			},
			run: (*ctl).execWatch},
		{name: "member", usage: "member add, remove and list subcommands", sub: []*command{
			{name: "list", usage: "enumerate existing cluster members", argsUsage: " ", run: (*ctl).memberList},
			{name: "add", usage: "add a new member to the etcd cluster", argsUsage: "<name> <peerURL>", run: (*ctl).memberAdd},
			{name: "remove", usage: "remove an existing member from the etcd cluster", argsUsage: "<memberID>", run: (*ctl).memberRemove},
			{name: "update", usage: "update an existing member in the etcd cluster", argsUsage: "<memberID> <peerURLs>", run: (*ctl).memberUpdate},
		}},
		{name: "user", usage: "user add, grant and revoke subcommands", sub: []*command{
			{name: "add", usage: "add a new user for the etcd cluster", argsUsage: "<user>", run: (*ctl).userAdd},
			{name: "get", usage: "get details for a user", argsUsage: "<user>", run: (*ctl).userGet},
			{name: "list", usage: "list all current users", argsUsage: "<user>", run: (*ctl).userList},
			{name: "remove", usage: "remove a user for the etcd cluster", argsUsage: "<user>", run: (*ctl).userRemove},
			{name: "grant", usage: "grant roles to an etcd user", argsUsage: "<user>",
				flags: []flagDef{rolesFlag}, run: (*ctl).userGrant},
			{name: "revoke", usage: "revoke roles for an etcd user", argsUsage: "<user>",
				flags: []flagDef{rolesFlag}, run: (*ctl).userRevoke},
			{name: "passwd", usage: "change password for a user", argsUsage: "<user>", run: (*ctl).userPasswd},
		}},
		{name: "role", usage: "role add, grant and revoke subcommands", sub: []*command{
			{name: "add", usage: "add a new role for the etcd cluster", argsUsage: "<role> ", run: (*ctl).roleAdd},
			{name: "get", usage: "get details for a role", argsUsage: "<role>", run: (*ctl).roleGet},
			{name: "list", usage: "list all roles", argsUsage: " ", run: (*ctl).roleList},
			{name: "remove", usage: "remove a role from the etcd cluster", argsUsage: "<role>", run: (*ctl).roleRemove},
			{name: "grant", usage: "grant path matches to an etcd role", argsUsage: "<role>", flags: []flagDef{
				{names: []string{"path"}, kind: stringFlag, usage: "Path granted for the role to access"},
				{names: []string{"read"}, kind: boolFlag, usage: "Grant read-only access"},
				{names: []string{"write"}, kind: boolFlag, usage: "Grant write-only access"},
				{names: []string{"readwrite", "rw"}, kind: boolFlag, usage: "Grant read-write access"},
			}, run: (*ctl).roleGrant},
			{name: "revoke", usage: "revoke path matches for an etcd role", argsUsage: "<role>", flags: []flagDef{
				{names: []string{"path"}, kind: stringFlag, usage: "Path revoked for the role to access"},
				{names: []string{"read"}, kind: boolFlag, usage: "Revoke read access"},
				{names: []string{"write"}, kind: boolFlag, usage: "Revoke write access"},
				{names: []string{"readwrite", "rw"}, kind: boolFlag, usage: "Revoke read-write access"},
			}, run: (*ctl).roleRevoke},
		}},
		{name: "auth", usage: "overall auth controls", sub: []*command{
			{name: "enable", usage: "enable auth access controls", argsUsage: " ", run: (*ctl).authEnable},
			{name: "disable", usage: "disable auth access controls", argsUsage: " ", run: (*ctl).authDisable},
		}},
		ownCommand(owncmd.PKI),
		ownCommand(owncmd.Discovery),
		{name: "help", aliases: []string{"h"}, usage: "Shows a list of commands or help for one command", argsUsage: "[command]"},
	},
}

func init() {
	var link func(*command)
	link = func(p *command) {
		for _, s := range p.sub {
			s.parent = p
			link(s)
		}
	}
	link(rootApp)
}

// flagLine is a flag as urfave/cli v1 lists it: "--name value, -n value<TAB>usage
// (default: x)". A word in backquotes in the usage names the value (its quotes dropped).
func flagLine(d flagDef) string {
	placeholder, usage := "", d.usage
	if i := strings.IndexByte(usage, '`'); i >= 0 {
		if j := strings.IndexByte(usage[i+1:], '`'); j >= 0 {
			placeholder = usage[i+1 : i+1+j]
			usage = usage[:i] + placeholder + usage[i+2+j:]
		}
	}
	if placeholder == "" && d.kind != boolFlag {
		placeholder = "value"
	}
	var names []string
	for _, n := range d.names {
		p := "--"
		if len(n) == 1 {
			p = "-"
		}
		if placeholder != "" {
			n += " " + placeholder
		}
		names = append(names, p+n)
	}
	def := ""
	switch d.kind {
	case stringFlag:
		if d.value != "" {
			def = ` (default: "` + d.value + `")`
		}
	case intFlag, durationFlag:
		def = " (default: " + d.value + ")"
	}
	return strings.Join(names, ", ") + "\t" + strings.TrimSpace(usage+def)
}

// align lays out tab-separated columns as urfave/cli's help writer does.
func align(text string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 1, 8, 2, ' ', 0)
	w.Write([]byte(text))
	w.Flush()
	return b.String()
}

func commandList(cmds []*command) string {
	var b strings.Builder
	for _, s := range cmds {
		if s.hidden {
			continue
		}
		b.WriteString("\n   " + strings.Join(append([]string{s.name}, s.aliases...), ", ") + "\t" + s.usage)
	}
	return b.String()
}

func argsUsage(cmd *command) string {
	if cmd.argsUsage != "" {
		return cmd.argsUsage
	}
	return "[arguments...]"
}

// appHelp is the help of the whole command set (or of a subcommand set run as its own
// app, as `etcdctl member help` shows it).
func appHelp(app *command) string {
	var b strings.Builder
	name := app.helpName()
	b.WriteString("NAME:\n   " + name + " - " + app.usage + "\n\n")
	b.WriteString("USAGE:\n   " + name + " [global options] command [command options] [arguments...]\n\n")
	b.WriteString("VERSION:\n   " + Version + "\n\nCOMMANDS:")
	b.WriteString(commandList(app.sub))
	b.WriteString("\n\nGLOBAL OPTIONS:")
	var flags []flagDef
	if app == rootApp {
		flags = append(append(flags, globalFlags...), helpFlag, versionFlag)
	} else {
		flags = []flagDef{helpFlag}
	}
	for _, f := range flags {
		b.WriteString("\n   " + flagLine(f))
	}
	b.WriteString("\n")
	return align(b.String())
}

// commandHelp is the help of one command (`etcdctl get --help`, `etcdctl help get`).
func commandHelp(cmd *command) string {
	var b strings.Builder
	name := cmd.helpName()
	b.WriteString("NAME:\n   " + name + " - " + cmd.usage + "\n\nUSAGE:\n   ")
	if cmd.usageText != "" {
		b.WriteString(cmd.usageText)
	} else {
		b.WriteString(name)
		if len(cmd.flags) > 0 {
			b.WriteString(" [command options]")
		}
		b.WriteString(" " + argsUsage(cmd))
	}
	if cmd.description != "" {
		b.WriteString("\n\nDESCRIPTION:\n   " + cmd.description)
	}
	if len(cmd.flags) > 0 {
		b.WriteString("\n\nOPTIONS:\n   ")
		for _, f := range cmd.flags {
			b.WriteString(flagLine(f) + "\n   ")
		}
	}
	b.WriteString("\n")
	return align(b.String())
}

// subcommandHelp is the help of a command set such as member (`etcdctl member`).
func subcommandHelp(app *command) string {
	var b strings.Builder
	name := app.helpName()
	b.WriteString("NAME:\n   " + name + " - " + app.usage + "\n\n")
	b.WriteString("USAGE:\n   " + name + " command [command options] " + argsUsage(app) + "\n\nCOMMANDS:")
	b.WriteString(commandList(app.sub))
	b.WriteString("\n\nOPTIONS:\n   " + flagLine(helpFlag) + "\n   \n")
	return align(b.String())
}
